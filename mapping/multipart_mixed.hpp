// multipart/mixed (RFC 2046 §5.1) as RFC 7030 §4.4.2 uses it for /serverkeygen answers: a key part and a
// certificate part, each with its own headers and a base64 body.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "mapping/http_message.hpp"

namespace estgw::mapping {

struct MimePart {
    std::vector<HttpHeader> headers;  // in order; names compared case-insensitively
    std::string body;                 // raw octets between the blank line and the next delimiter

    std::optional<std::string> header(std::string_view name) const { return find_header(headers, name); }
};

// The boundary parameter of a "multipart/mixed" Content-Type: quoted or not, parameter name in any case,
// 1..70 characters from RFC 2046 §5.1.1 bchars, not ending in a space. Status::UpstreamFailed otherwise
// (the only multipart/mixed we parse comes from the upstream).
Result<std::string> multipart_boundary(std::string_view content_type);

// Splits a body into parts. The preamble and epilogue are ignored; delimiters are "--boundary" at the start
// of a line, optionally followed by spaces or tabs (transport padding), ended by CRLF or a bare LF (some
// servers send LF only); the close delimiter "--boundary--" is required; at least one part. Part headers
// are "name: value" lines up to the first empty line; folded (continued) lines are joined with one space.
Result<std::vector<MimePart>> parse_multipart_body(std::string_view body, std::string_view boundary);

// multipart_boundary() and parse_multipart_body() together.
Result<std::vector<MimePart>> parse_multipart_mixed(std::string_view content_type, std::string_view body);

// The inverse, with CRLF line ends, no preamble and no epilogue. The boundary must not occur in any part
// (callers pick a random one); parse_multipart_body(encode_multipart_mixed(p, b), b) gives back p.
std::string encode_multipart_mixed(const std::vector<MimePart>& parts, std::string_view boundary);

}  // namespace estgw::mapping
