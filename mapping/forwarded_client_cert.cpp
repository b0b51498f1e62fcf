#include "mapping/forwarded_client_cert.hpp"

#include <algorithm>
#include <string>

#include "common/pem.hpp"
#include "common/x509.hpp"
#include "mapping/http_request.hpp"

namespace estgw::mapping {

namespace {

Error malformed(const std::string& why) {
    return make_error(Status::BadRequest, "forwarded client certificate: " + why);
}

std::string without_white_space(std::string_view text) {
    std::string out;
    std::copy_if(text.begin(), text.end(), std::back_inserter(out),
                 [](char c) { return c != ' ' && c != '\t' && c != '\r' && c != '\n'; });
    return out;
}

}  // namespace

Result<std::vector<Bytes>> parse_forwarded_client_cert(std::string_view value) {
    if (value.empty()) return malformed("the header is empty");
    auto pem = percent_decode(value);
    if (!pem) return malformed("bad percent-encoding (RFC 3986 §2.1)");
    auto blocks = pem_decode_all(*pem);
    if (!blocks) return malformed(blocks.error().message);
    if (blocks->size() > kMaxForwardedCertificates) {
        return malformed(std::to_string(blocks->size()) + " certificates; at most " +
                         std::to_string(kMaxForwardedCertificates) + " are taken");
    }
    std::vector<Bytes> chain;
    std::string canonical;
    for (PemBlock& block : *blocks) {
        const std::string which = "certificate " + std::to_string(chain.size() + 1);
        if (block.label != "CERTIFICATE") {
            return malformed(block.label.empty() ? "bare base64, not PEM"
                                                 : which + " is a '" + block.label.substr(0, 40) +
                                                       "' block, not CERTIFICATE");
        }
        if (auto cert = parse_certificate_der(block.der); !cert) {
            return malformed(which + ": " + cert.error().message);
        }
        canonical += pem_encode(block.der, "CERTIFICATE");
        chain.push_back(std::move(block.der));
    }
    // pem_decode_all is as lenient as openssl (text between blocks is skipped, base64 need not be
    // canonical); here nothing may hide beside the certificates, so the text must re-encode to itself.
    if (without_white_space(*pem) != without_white_space(canonical)) {
        return malformed("text outside the CERTIFICATE blocks, or base64 that is not canonical");
    }
    return chain;
}

Result<std::optional<std::vector<Bytes>>> forwarded_client_chain(const HttpRequest& request,
                                                                 std::string_view name) {
    const HttpHeader* found = nullptr;
    for (const HttpHeader& header : request.headers) {
        if (!header_name_equals(header.name, name)) continue;
        if (found != nullptr) {
            return malformed("header " + std::string(name) + " appears more than once");
        }
        found = &header;
    }
    if (found == nullptr) return std::optional<std::vector<Bytes>>();
    ESTGW_TRY(chain, parse_forwarded_client_cert(found->value));
    return std::optional<std::vector<Bytes>>(std::move(chain));
}

}  // namespace estgw::mapping
