// The first flight of a DTLS handshake, read and answered without any per-client state (RFC 6347 §4.2.1):
// a ClientHello is recognised in a datagram, a HelloVerifyRequest carrying a cookie is built for it, and the
// cookie (an HMAC of the client's address and a time window under a process secret) is checked when the
// ClientHello comes back with it. gateway/dtls_hello_gate.hpp puts this in front of libcoap.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "common/bytes.hpp"

namespace estgw::dtls_hello {

inline constexpr std::uint8_t kContentHandshake = 22;
inline constexpr std::uint8_t kClientHello = 1;
inline constexpr std::uint8_t kHelloVerifyRequest = 3;
inline constexpr std::size_t kRecordHeaderLength = 13;
inline constexpr std::size_t kHandshakeHeaderLength = 12;
inline constexpr std::size_t kCookieLength = 32;

// What a datagram is, as far as the gate is concerned.
enum class Kind {
    Other,                // not an epoch-0 handshake record starting a ClientHello: not the gate's business
    ClientHello,          // a complete, unfragmented ClientHello in the first record
    MalformedClientHello  // claims to be a ClientHello but cannot be read (or is fragmented)
};

struct ClientHello {
    std::uint16_t record_version = 0;
    std::array<std::uint8_t, 6> record_sequence{};
    std::uint16_t message_seq = 0;
    std::uint16_t client_version = 0;
    ByteView cookie;  // into the datagram; empty when the client sent none
};

struct Classified {
    Kind kind = Kind::Other;
    ClientHello hello;  // set for Kind::ClientHello
};

// Reads the first record of `datagram`. Whatever follows that record is ignored.
Classified classify(ByteView datagram);

// The HelloVerifyRequest record answering `hello` (RFC 6347 §4.2.1: version DTLS 1.0 in the record and the
// message, the ClientHello's record sequence number, message_seq 0).
Bytes hello_verify_request(const ClientHello& hello, ByteView cookie);

// Cookies bound to the client's transport address and a time window of `window` seconds; a cookie is
// accepted during its own window and the next one, so it lives between one and two windows.
class CookieJar {
  public:
    explicit CookieJar(std::uint32_t window_seconds = 30);  // a fresh random secret

    using Cookie = std::array<std::uint8_t, kCookieLength>;
    // `peer` is an opaque encoding of the client's address and port (the same bytes for make and check).
    Cookie make(ByteView peer, std::uint64_t now_seconds) const;
    bool check(ByteView peer, ByteView cookie, std::uint64_t now_seconds) const;

  private:
    Cookie mac(ByteView peer, std::uint64_t window_index) const;

    std::array<std::uint8_t, 32> secret_{};
    std::uint32_t window_;
};

}  // namespace estgw::dtls_hello
