// base64_decode on arbitrary text; whatever decodes must survive encode → decode unchanged.
#include <cstdlib>

#include "common/base64.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto decoded = estgw::base64_decode(text);
    if (!decoded) return 0;
    for (std::size_t line : {std::size_t{0}, std::size_t{64}, std::size_t{76}}) {
        auto again = estgw::base64_decode(estgw::base64_encode(*decoded, line));
        if (!again || *again != *decoded) std::abort();
    }
    return 0;
}
