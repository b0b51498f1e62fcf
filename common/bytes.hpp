// Byte buffers shared by every module.
#pragma once

#include <cstddef>
#include <cstdint>
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

}  // namespace estgw
