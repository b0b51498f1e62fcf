// Decodes arbitrary bytes as a voucher and as a voucher request; whatever decodes must encode, and the
// encoding must decode to the same model (the unknown leaves aside: they are for logs and never encoded).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "brski/voucher.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace estgw;
    for (const brski::Kind kind : {brski::Kind::Voucher, brski::Kind::VoucherRequest}) {
        auto first = brski::decode(kind, ByteView(data, size));
        if (!first) continue;
        auto encoded = brski::encode(kind, *first);
        if (!encoded) std::abort();
        auto second = brski::decode(kind, *encoded);
        if (!second || !second->unknown.empty()) std::abort();
        brski::Voucher known = *first;
        known.unknown.clear();
        if (!(*second == known)) std::abort();
        // A fixed point: encoding the re-decoded model changes nothing.
        auto again = brski::encode(kind, *second);
        if (!again || *again != *encoded) std::abort();
    }
    return 0;
}
