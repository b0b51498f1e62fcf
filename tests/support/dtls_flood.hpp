// A bounded DTLS handshake flood for the attack tests, loopback only: ClientHellos without a cookie from
// fresh source ports, and handshakes that echo the server's cookie and then fall silent. Written to the
// record layout of RFC 6347 §4.1–4.2 by hand, so that it behaves like an attacker, not like a TLS library.
#pragma once

#include <netinet/in.h>

#include <cstddef>
#include <cstdint>

#include "common/bytes.hpp"

namespace estgw::test {

// A DTLS 1.2 ClientHello offering the ECDHE-ECDSA suites with P-256 (what estgw's demo certificate needs),
// with `cookie` (empty for the first flight), a random derived from `seed`, record sequence `record_seq`
// and handshake message_seq `message_seq`.
Bytes dtls_client_hello(std::uint64_t seed, ByteView cookie, std::uint64_t record_seq,
                        std::uint16_t message_seq);

// The cookie in a HelloVerifyRequest datagram; empty when it is none.
Bytes hello_verify_cookie(ByteView datagram);

struct FloodResult {
    std::size_t sent = 0;             // ClientHellos sent (both flights counted once per handshake)
    std::size_t verify_requests = 0;  // HelloVerifyRequests received
    std::size_t cookies_echoed = 0;   // second ClientHellos sent with the server's cookie
    double seconds = 0;
};

// `count` cookie-less ClientHellos to `target`, each from a fresh socket (source port) on 127.0.0.1, at
// `per_second` (0: as fast as possible). Nothing is read back.
FloodResult flood_client_hellos(const sockaddr_in& target, std::size_t count, double per_second);

// `count` handshakes, each from a fresh socket on one of `addresses` source addresses (127.0.1.1, 127.0.1.2,
// ...): ClientHello, wait up to 1 s for the HelloVerifyRequest, ClientHello with its cookie, then silence.
// Run in batches of `batch` sockets at `per_second` handshakes a second (0: as fast as possible).
FloodResult abandoned_handshakes(const sockaddr_in& target, std::size_t count, std::size_t addresses,
                                 double per_second, std::size_t batch = 100);

}  // namespace estgw::test
