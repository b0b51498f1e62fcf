// Decodes arbitrary bytes; whatever decodes must re-encode to something that decodes to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "common/cbor.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace estgw;
    auto first = cbor::decode(ByteView(data, size));
    if (!first) return 0;
    const Bytes encoded = cbor::encode(*first);
    // Preferred serialization is never longer than whatever form was accepted.
    if (encoded.size() > size) std::abort();
    auto second = cbor::decode(encoded);
    if (!second || !(*second == *first)) std::abort();
    // And it is a fixed point: encoding the re-decoded value changes nothing.
    if (cbor::encode(*second) != encoded) std::abort();
    return 0;
}
