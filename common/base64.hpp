// Base64 (RFC 4648 §4) as EST uses it on the HTTP side (RFC 7030 §4, RFC 8951 §3).
#pragma once

#include <string>
#include <string_view>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace estgw {

// Standard alphabet with padding. line_length > 0 inserts CRLF every line_length characters (PEM uses 64).
std::string base64_encode(ByteView data, std::size_t line_length = 0);

// Skips CR, LF, space and tab anywhere (RFC 8951 §3.1), ignores trailing NUL bytes (some C servers count
// the string terminator in Content-Length), requires correct '=' padding, and rejects every other byte
// outside the alphabet with Status::BadRequest naming the offset and the byte.
Result<Bytes> base64_decode(std::string_view text);

}  // namespace estgw
