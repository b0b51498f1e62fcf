// EstRequest → the RFC 7030 / RFC 8995 HTTPS request the gateway sends upstream (RFC 9148 §5).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/est.hpp"
#include "common/result.hpp"
#include "mapping/http_message.hpp"

namespace estgw::mapping {

struct UpstreamConfig {
    std::string est_prefix = "/.well-known/est";      // RFC 7030 §3.2.2
    std::string brski_prefix = "/.well-known/brski";  // RFC 8995 §5
    // RFC 7617 Basic credentials of the gateway itself, for EST servers that want them besides TLS.
    std::optional<std::string> basic_user;
    std::optional<std::string> basic_password;
    // Header carrying the pledge's DTLS client certificate (URL-encoded PEM, as nginx's
    // $ssl_client_escaped_cert) to an upstream that trusts the gateway. Unset: nothing is forwarded, and
    // requestvoucher is not relayed (DESIGN.md: the PVR pins whoever terminates DTLS).
    std::optional<std::string> forward_client_cert_header;
};

// Path "<prefix>[/<label>]/<RFC 7030 or RFC 8995 name>" (BRSKI has no label); GET for cacerts/csrattrs,
// POST otherwise; base64 body with "Content-Transfer-Encoding: base64" for EST, the binary COSE voucher
// request for requestvoucher, JSON for voucher_status/enrollstatus (CBOR is converted); Accept per operation.
// Errors: BadRequest (empty POST body, telemetry CBOR without a JSON form), UnsupportedFormat (a request
// Content-Format the resource does not take), NotImplemented or Unauthorized (requestvoucher without
// forwarding or without a client certificate), Internal (a Basic user-id containing ':').
Result<HttpRequest> to_http_request(const EstRequest& request, const UpstreamConfig& config);

// RFC 3986 §2.1 percent-encoding of every octet outside the unreserved set (§2.3), uppercase hex.
std::string percent_encode(std::string_view text);
// Its inverse, and of any RFC 3986 §2.1 encoding: "%XX" (either case) is the octet, everything else is
// itself ('+' included: this is not form decoding). nullopt for a '%' not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view text);

}  // namespace estgw::mapping
