// The RFC 7030 EST-over-HTTPS server side (full-server mode): an HTTP request from a regular device →
// EstRequest, and EstResponse → the HTTP answer. The mirror image of mapping/http_request.hpp and
// mapping/http_response.hpp, which speak to an upstream EST server; here estgw is the EST server.
// Plain data in and out: the HTTPS glue in gateway/ copies cpp-httplib messages to and from these structs.
#pragma once

#include <cstddef>
#include <string_view>

#include "common/est.hpp"
#include "common/result.hpp"
#include "mapping/http_message.hpp"
#include "mapping/paths.hpp"

namespace estgw::mapping {

// Names an HTTP request in EST terms. Served paths (RFC 7030 §3.2.2):
//   /.well-known/est/<op>   and   /.well-known/est/<label>/<op>
// with op one of cacerts, simpleenroll, simplereenroll, csrattrs, serverkeygen. Segments are
// percent-decoded (RFC 3986 §2.1) before they are compared; a query string is ignored. serverkeygen is
// Operation::ServerKeyGen (RFC 7030 §4.4.2 returns the certificate as certs-only). The first failing check
// decides the answer:
//   404 NotFound           any other path, an empty segment, bad percent-encoding, an invalid label
//                          (mapping/paths.hpp is_valid_label) or one not in config.labels (check_label, the
//                          same check as for CoAP), or an operation in config.disabled
//   501 NotImplemented     fullcmc (RFC 7030 §4.3, optional and not offered)
//   405 MethodNotAllowed   not GET for cacerts/csrattrs, not POST for the rest (methods are case-sensitive)
//   413 PayloadTooLarge    a body longer than config.max_body (before decoding)
//   415 UnsupportedFormat  a POST whose Content-Type is not application/pkcs10 (parameters tolerated)
//   406 NotAcceptable      an Accept header that lists well-formed media ranges of which none with q > 0
//                          covers the answer's media type; a missing or unparseable Accept accepts anything
//                          (serverkeygen also takes the media types of its parts, see http_server.cpp)
//   400 BadRequest         a POST body that is not one PKCS#10 CSR in base64 (RFC 7030 §4; CR, LF, space
//                          and tab anywhere, RFC 8951 §3.1). Content-Transfer-Encoding is ignored (RFC 8951
//                          §3); PEM armour and raw DER are tolerated, as decode_est_body does for answers.
// A GET's body and Content-Type are ignored. `accept` is left empty (the answer's format is fixed by
// RFC 7030), `content_format` is Pkcs10 for POSTs, `body` the CSR's DER. The peer identity (TLS client chain,
// tls-unique) is for the caller to fill. `config` (validated) is the CoAP front's, so that both serve the
// same labels and functions; only its extra roots do not apply (RFC 7030 §3.2.2 has the one root).
Result<EstRequest> from_http_request(const HttpRequest& request, const RouteConfig& config);

// The HTTP answer to `request` carrying `response`:
// - Ok: 200 with a base64 body (RFC 4648 §4, 64-column lines ended by CRLF) and
//   "Content-Transfer-Encoding: base64"; Content-Type per operation:
//     cacerts          application/pkcs7-mime                         (RFC 7030 §4.1.3: no smime-type)
//     simple(re)enroll application/pkcs7-mime; smime-type=certs-only  (§4.2.3)
//     csrattrs         application/csrattrs                           (§4.5.2)
//     serverkeygen     multipart/mixed; boundary=<boundary>           (§4.4.2), key part first, then the
//                      certificate as certs-only, each part base64 with its own Content-Type
//   A certificate given as pkix-cert (CF 287) is wrapped as certs-only. An Ok without representation (empty
//   body, no parts) is 204 (for csrattrs RFC 7030 §4.5.2's "nothing wanted"; for the POSTs what
//   from_http_response reads back as an empty success); for cacerts, which must carry certificates, and for
//   a representation that does not fit the operation, the answer is 500.
//   `boundary` is the caller's random multipart boundary (1..70 RFC 2046 §5.1.1 characters, not ending in
//   a space; an unusable one is a 500). It is quoted in the Content-Type only when it needs to be.
// - Errors: the status (table in http_server.cpp, the inverse of http_response.cpp's) with a
//   "text/plain; charset=utf-8" body holding the diagnostic (RFC 7030 §4.2.3 allows a text answer),
//   made valid UTF-8 and cut to kMaxHttpDiagnosticLength; the reason phrase when there is none.
//   AcceptedRetryLater is 202 with Retry-After (RFC 7030 §4.2.3 requires it: 60 s when unset);
//   ServiceUnavailable is 503, with Retry-After when set. 405 carries Allow (RFC 9110 §15.5.6).
// BRSKI operations have no RFC 7030 representation: 500.
HttpResponse to_http_response(const EstRequest& request, const EstResponse& response,
                              std::string_view boundary);

// The answer to a request from_http_request refused: the error's status and text as above, plus Allow on
// 405 (the path is resolved again, with the same `config`, to name the resource's method).
HttpResponse http_error_response(const HttpRequest& request, const Error& error, const RouteConfig& config);

inline constexpr std::size_t kMaxHttpDiagnosticLength = 1024;

}  // namespace estgw::mapping
