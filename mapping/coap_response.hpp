// EstResponse → CoAP response (RFC 9148 §4.3, §4.5 Table 4, §4.7, §4.8; cBRSKI §6.6–6.8; digest §5, §6).
//
// The result is a plain struct; gateway/ copies it into a libcoap PDU (Block2 included), mapping/ never sees
// libcoap.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.hpp"
#include "common/est.hpp"
#include "common/result.hpp"

namespace estgw::mapping {

struct CoapResponse {
    std::uint8_t code = 0;                   // class<<5 | detail, e.g. 0x44 for 2.04
    std::optional<unsigned> content_format;  // absent for diagnostic payloads and empty 2.04s
    Bytes payload;                           // representation, or UTF-8 diagnostic text for 4.xx/5.xx
    std::optional<std::uint32_t> max_age;    // seconds; set on every 5.03 (RFC 9148 §4.7)
    std::optional<std::uint32_t> size1;      // on 4.13: the largest request body accepted (RFC 7959 §4)
};

// Status → CoAP code, as a table (RFC 9148 §4.5, RFC 7252 §5.9, RFC 8075 Table 2 inverted). Status::Ok has no
// single code: it maps to 2.05 here, and to_coap_response uses the resource's own success code (2.04 for
// every POST, RFC 9148 §4.5).
std::uint8_t coap_code_for(Status status);

// "2.05", "4.15": class.detail with two digits of detail (RFC 7252 §12.1).
std::string coap_code_string(std::uint8_t code);

// Max-Age sent when a 5.03 carries no Retry-After: RFC 7252 §5.10.5's default, written out explicitly
// because RFC 9148 §4.7 says a delayed answer is "5.03 with Max-Age" and some clients look for the option.
inline constexpr std::uint32_t kDefaultMaxAge = 60;

// Longest diagnostic payload we send (bytes). RFC 7252 §5.5.2 wants a brief message; an upstream HTML error
// page would otherwise be block-transferred to a constrained client.
inline constexpr std::size_t kMaxDiagnosticLength = 256;

// An error answer: the code for `status`, the text as diagnostic payload (UTF-8, no Content-Format, RFC 7252
// §5.5.2; invalid UTF-8 bytes become '?', cut to kMaxDiagnosticLength on a character boundary, the status
// name when the text is empty), and Max-Age on 5.03 (retry_after clamped to [0, 2^32-1], else
// kDefaultMaxAge).
CoapResponse coap_error_response(Status status, std::string_view diagnostic,
                                 std::optional<std::chrono::seconds> retry_after = std::nullopt);

// The CoAP answer to `request` (as returned by parse_coap_request) carrying `response`.
// - Errors and Accepted-Retry-Later: coap_error_response (5.03 + Max-Age for a deferred enrollment, §4.7).
// - Success: the resource's success code, and the representation the client asked for with Accept (the
//   resource's first response format when absent), converted where RFC 9148 and cBRSKI ask for it:
//     crts 287   the issuing CA (mapping/cert_formats.hpp select_issuing_ca), 4.06 when it is ambiguous
//                (cBRSKI §6.8);
//     crts 62    multipart-core list of 287 certificates from the issuing CA up to the root (cBRSKI §6.7.5);
//     sen/sren   287: the issued certificate out of the certs-only; 281 from a backend that gave 287;
//     skg        [key part as given (284 or 280), 281 certs-only] (RFC 9148 §4.8, App. A.3 order);
//     skc        [key part as given, 287 certificate];
//     rv         the voucher as is, CF 836;
//     vs, es     2.04 with no payload and no Content-Format (cBRSKI §6.5).
//   A representation that cannot be converted (wrong format from the backend, unparseable certs-only, a
//   multipart answer without exactly one key and one certificate) is Status::UpstreamFailed (5.02, RFC 7252
//   §10.1: the upstream's answer was unusable); the caller answers with coap_error_response.
Result<CoapResponse> to_coap_response(const EstRequest& request, const EstResponse& response);

}  // namespace estgw::mapping
