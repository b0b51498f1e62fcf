// Byte buffers shared by every module.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace estgw {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline Bytes to_bytes(std::string_view s) {
    return Bytes(s.begin(), s.end());
}

inline std::string to_string(ByteView b) {
    return std::string(b.begin(), b.end());
}

inline ByteView as_bytes(std::string_view s) {
    return ByteView(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

// Lowercase hex, no separators.
std::string to_hex(ByteView b);

// Accepts upper or lower case hex; ASCII white space between digit pairs is ignored.
// Returns an empty optional-like failure through the bool; used by tests and config only.
bool from_hex(std::string_view hex, Bytes& out);

// Length of the well-formed UTF-8 sequence starting at text[i] (RFC 3629 §4: no overlong forms, no
// surrogates, nothing above U+10FFFF), 0 if none starts there. i must be below text.size().
std::size_t utf8_sequence_length(ByteView text, std::size_t i);
// Offset of the first byte that does not start a well-formed UTF-8 sequence, nullopt when all of it is.
std::optional<std::size_t> invalid_utf8_at(ByteView text);

}  // namespace estgw
