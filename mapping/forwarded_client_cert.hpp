// The client certificate an RA forwards in an HTTP header: what estgw's gateway mode sends with
// --forward-client-cert (mapping/http_request.hpp) and nginx's $ssl_client_escaped_cert holds, read back by
// the HTTPS front of full-server mode (--trust-forwarded-client-cert). Parsing only: whether the sender may
// speak for another client, and whether the certificate is trusted, is the front's decision.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "mapping/http_message.hpp"

namespace estgw::mapping {

inline constexpr std::size_t kMaxForwardedCertificates = 8;

// A header value: URL-encoded PEM (RFC 3986 §2.1 percent-decoding; '+' stays '+', as base64 needs it),
// holding one certificate or a chain, leaf first. Strict, since it is an identity: after decoding, the text
// must be CERTIFICATE blocks (RFC 7468) and white space only, with canonical base64, each block one DER
// certificate that parses completely, at most kMaxForwardedCertificates of them. Bare base64, other labels,
// text between blocks, an empty value: BadRequest naming the fault. Returns the DER, leaf first.
Result<std::vector<Bytes>> parse_forwarded_client_cert(std::string_view value);

// The chain in header `name` of `request`: nullopt when the header is absent; BadRequest when it appears
// more than once (which of two identities would count?) or its value is refused by the parser above.
Result<std::optional<std::vector<Bytes>>> forwarded_client_chain(const HttpRequest& request,
                                                                 std::string_view name);

}  // namespace estgw::mapping
