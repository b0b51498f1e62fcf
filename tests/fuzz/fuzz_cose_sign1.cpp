// Decodes arbitrary bytes as a COSE_Sign1. Whatever decodes must yield a Sig_structure, and its re-encoding
// (with and without the certificate labels, as the registrar forwards a voucher) must decode again to the
// same protected bytes, payload and signature. The ES256 signature conversion runs on the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "common/cose.hpp"

namespace {

using namespace estgw;

void check_reencoding(const cose::Sign1& original, const Bytes& encoded) {
    auto again = cose::decode_sign1(encoded);
    if (!again) std::abort();
    if (again->protected_bytes != original.protected_bytes || again->payload != original.payload ||
        again->signature != original.signature) {
        std::abort();
    }
    if (cose::sig_structure(*again) != cose::sig_structure(original)) std::abort();
}

void check_ecdsa_conversion(ByteView data) {
    auto raw = cose::ecdsa_der_to_raw(data);
    if (!raw) return;
    if (raw->size() != 64) std::abort();
    auto der = cose::ecdsa_raw_to_der(*raw);
    if (!der) std::abort();
    auto raw_again = cose::ecdsa_der_to_raw(*der);
    if (!raw_again || *raw_again != *raw) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteView input(data, size);
    check_ecdsa_conversion(input);
    auto message = cose::decode_sign1(input);
    if (!message) return 0;
    const Bytes to_be_signed = cose::sig_structure(*message);
    if (to_be_signed.empty()) std::abort();
    (void)message->alg();
    (void)message->certificates();
    check_reencoding(*message, cose::encode_without_unprotected(*message, {}));
    const Bytes stripped =
        cose::encode_without_unprotected(*message, {cose::kHeaderX5Bag, cose::kHeaderX5Chain});
    check_reencoding(*message, stripped);
    if (message->signature.size() == 64) {
        auto der = cose::ecdsa_raw_to_der(message->signature);
        if (!der) std::abort();
        check_ecdsa_conversion(*der);
    }
    return 0;
}
