// pem_decode_all on arbitrary text; every block must re-encode and decode to the same label and DER. The PEM
// file loader (certificates and private keys) runs on the same text.
#include <cstdlib>

#include "common/pem.hpp"
#include "common/pem_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto blocks = estgw::pem_decode_all(text);
    if (!blocks) return 0;
    for (const auto& block : *blocks) {
        if (block.label.empty()) continue;  // armour-less input has no label to re-emit
        auto again = estgw::pem_decode(estgw::pem_encode(block.der, block.label), block.label);
        if (!again || *again != block.der) std::abort();
    }
    (void)estgw::pem_decode(text, "CERTIFICATE");
    (void)estgw::certificates_from_pem(text);
    (void)estgw::private_key_from_pem(text);
    return 0;
}
