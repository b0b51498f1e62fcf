// Base64 the way cisco/libest handles it: OpenSSL's BIO_f_base64 in its default mode (no
// BIO_FLAGS_BASE64_NO_NL). Test peers that stand for libest use these, so that a body libest would refuse is
// refused in our tests too: one unbroken line without a final line break does not decode.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.hpp"

namespace estgw::test {

// What libest's decoder yields; nullopt when BIO_read gives nothing (libest then answers 400).
std::optional<Bytes> libest_base64_decode(std::string_view text);

// What libest's encoder writes: 64-character lines, each ending with "\n", the last one included.
std::string libest_base64_encode(ByteView der);

}  // namespace estgw::test
