// parse_forwarded_client_cert on arbitrary header values; an accepted chain must come back unchanged from
// the value a gateway would send for it (URL-encoded PEM, mapping/http_request.cpp).
#include <cstdlib>

#include "common/pem.hpp"
#include "mapping/forwarded_client_cert.hpp"
#include "mapping/http_request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view value(reinterpret_cast<const char*>(data), size);
    auto chain = estgw::mapping::parse_forwarded_client_cert(value);
    if (!chain) return 0;
    if (chain->empty()) std::abort();
    std::string pem;
    for (const auto& der : *chain)
        pem += estgw::pem_encode(der, "CERTIFICATE");
    auto again = estgw::mapping::parse_forwarded_client_cert(estgw::mapping::percent_encode(pem));
    if (!again || *again != *chain) std::abort();
    return 0;
}
