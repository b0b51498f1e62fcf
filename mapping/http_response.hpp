// The upstream's RFC 7030 / RFC 8995 HTTP answer → EstResponse (RFC 9148 §5; digest §5 and §6).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.hpp"
#include "common/est.hpp"
#include "common/result.hpp"
#include "mapping/http_message.hpp"

namespace estgw::mapping {

// Never fails: whatever the upstream did becomes an EstResponse, errors with a diagnostic
// "upstream <status>: <text>". 200 bodies are decoded and checked per operation (certs-only, CsrAttrs,
// multipart/mixed → multipart-core parts, COSE voucher); 202/503 carry Retry-After as retry_after, an
// HTTP-date being counted from `now`. The caller has already followed same-origin redirects (RFC 7030
// §3.2.1): any 3xx seen here is Status::UpstreamFailed.
EstResponse from_http_response(const EstRequest& request, const HttpResponse& response,
                               std::chrono::system_clock::time_point now);

// An EST body as upstreams really send it: base64 (RFC 7030 §4) with any CR/LF/space/tab and trailing NULs,
// PEM armour around it, or raw DER. Content-Transfer-Encoding is not consulted (RFC 8951 §3). The result is
// exactly one DER object; anything else is Status::UpstreamFailed.
Result<Bytes> decode_est_body(std::string_view body);

// RFC 9110 §10.2.3: delta-seconds, or an HTTP-date turned into the seconds left after `now` (0 when it is
// past). Saturates at 2^32-1, the largest CoAP Max-Age (RFC 7252 §5.10.5). nullopt when unparseable.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now);

// RFC 9110 §5.6.7 HTTP-date: IMF-fixdate, and the obsolete rfc850-date (two-digit year resolved against
// `now`) and asctime-date forms.
// Whole seconds: a system_clock::time_point (nanoseconds) cannot hold year 9999.
std::optional<std::chrono::sys_seconds> parse_http_date(std::string_view text,
                                                        std::chrono::system_clock::time_point now);

// Upstream error text made fit for a CoAP diagnostic payload (RFC 7252 §5.5.2): trimmed, runs of white
// space and control characters collapsed to one space, invalid UTF-8 replaced by U+FFFD, cut at a
// character boundary to at most max_bytes.
std::string diagnostic_text(std::string_view raw, std::size_t max_bytes = 256);

}  // namespace estgw::mapping
