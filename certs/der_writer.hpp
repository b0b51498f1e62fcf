// Just enough DER writing for the few fixed structures certs/ builds by hand (CsrAttrs, the RFC 5958
// AsymmetricKeyPackage) where OpenSSL has no public template, and the issued certificates themselves
// (certs/ca.cpp), where going through OpenSSL's X509 object costs more than the signature.
#pragma once

#include <cstdint>
#include <initializer_list>

#include "common/bytes.hpp"

namespace estgw::certs::der {

inline constexpr std::uint8_t kBoolean = 0x01;
inline constexpr std::uint8_t kInteger = 0x02;
inline constexpr std::uint8_t kBitString = 0x03;
inline constexpr std::uint8_t kOctetString = 0x04;
inline constexpr std::uint8_t kOid = 0x06;
inline constexpr std::uint8_t kSequence = 0x30;
inline constexpr std::uint8_t kSet = 0x31;
inline constexpr std::uint8_t kUtcTime = 0x17;
inline constexpr std::uint8_t kGeneralizedTime = 0x18;
inline constexpr std::uint8_t kContext0 = 0x80;             // [0] IMPLICIT, primitive
inline constexpr std::uint8_t kContext0Constructed = 0xa0;  // [0] EXPLICIT, or IMPLICIT constructed
inline constexpr std::uint8_t kContext3Constructed = 0xa3;

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

// A non-negative INTEGER from its big-endian magnitude: leading zero octets dropped, one 0x00 put back when
// the first remaining octet has its top bit set (X.690 §8.3.2).
inline Bytes unsigned_integer(ByteView magnitude) {
    std::size_t skip = 0;
    while (skip + 1 < magnitude.size() && magnitude[skip] == 0)
        ++skip;
    Bytes content;
    if (magnitude.empty() || (magnitude[skip] & 0x80) != 0) content.push_back(0);
    content.insert(content.end(), magnitude.begin() + static_cast<std::ptrdiff_t>(skip), magnitude.end());
    return tlv(kInteger, content);
}

}  // namespace estgw::certs::der
