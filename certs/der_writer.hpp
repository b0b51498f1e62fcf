// Just enough DER writing for the few fixed structures certs/ builds by hand (CsrAttrs, the RFC 5958
// AsymmetricKeyPackage) where OpenSSL has no public template.
#pragma once

#include <cstdint>
#include <initializer_list>

#include "common/bytes.hpp"

namespace estgw::certs::der {

inline constexpr std::uint8_t kBoolean = 0x01;
inline constexpr std::uint8_t kBitString = 0x03;
inline constexpr std::uint8_t kOctetString = 0x04;
inline constexpr std::uint8_t kOid = 0x06;
inline constexpr std::uint8_t kSequence = 0x30;
inline constexpr std::uint8_t kSet = 0x31;

// tag, definite minimal length, content.
inline Bytes tlv(std::uint8_t tag, ByteView content) {
    Bytes out{tag};
    const std::size_t n = content.size();
    if (n < 0x80) {
        out.push_back(static_cast<std::uint8_t>(n));
    } else {
        Bytes length;
        for (std::size_t rest = n; rest != 0; rest >>= 8) {
            length.insert(length.begin(), static_cast<std::uint8_t>(rest & 0xff));
        }
        out.push_back(static_cast<std::uint8_t>(0x80 | length.size()));
        out.insert(out.end(), length.begin(), length.end());
    }
    out.insert(out.end(), content.begin(), content.end());
    return out;
}

inline Bytes concat(std::initializer_list<ByteView> parts) {
    Bytes out;
    for (ByteView part : parts)
        out.insert(out.end(), part.begin(), part.end());
    return out;
}

}  // namespace estgw::certs::der
