// Decodes arbitrary bytes as application/multipart-core; whatever decodes must survive encode + decode.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "mapping/multipart_core.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace estgw;
    auto first = mapping::decode_multipart_core(ByteView(data, size));
    if (!first) return 0;
    auto second = mapping::decode_multipart_core(mapping::encode_multipart_core(*first));
    if (!second || second->size() != first->size()) std::abort();
    for (std::size_t k = 0; k < first->size(); ++k) {
        if ((*first)[k].format != (*second)[k].format || (*first)[k].body != (*second)[k].body) std::abort();
    }
    return 0;
}
