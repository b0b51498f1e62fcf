// Base64 (RFC 4648 §4) as EST uses it on the HTTP side (RFC 7030 §4, RFC 8951 §3).
#pragma once

#include <string>
#include <string_view>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace estgw {

// Lines of PEM (RFC 7468 §2) and of the base64 bodies estgw sends over HTTP (RFC 7030 §4).
inline constexpr std::size_t kBase64LineLength = 64;

// Standard alphabet with padding. line_length > 0 breaks the text into lines of line_length characters, each
// ending with CRLF, the last one included (PEM and RFC 7030 bodies use 64): the form that every decoder
// takes, OpenSSL's BIO_f_base64 without BIO_FLAGS_BASE64_NO_NL among them. line_length 0: one unbroken line.
std::string base64_encode(ByteView data, std::size_t line_length = 0);

// Skips CR, LF, space and tab anywhere (RFC 8951 §3.1), ignores trailing NUL bytes (some C servers count
// the string terminator in Content-Length), requires correct '=' padding, and rejects every other byte
// outside the alphabet with Status::BadRequest naming the offset and the byte.
Result<Bytes> base64_decode(std::string_view text);

}  // namespace estgw
