// A DTLS handshake from this process to its own CoAP front, started before the front serves anyone.
//
// The hello gate (dtls_hello_gate.hpp) must replace libcoap's cookie check on libcoap's SSL_CTX, which
// libcoap 4.3.1 shows to the application only through its TLS set-up callback, when a server session reads
// a ClientHello that passed the cookie exchange. This sends such a ClientHello from a throw-away OpenSSL
// client, answering libcoap's HelloVerifyRequest, while the caller's `pump` runs libcoap, until `done()` (the
// callback has been seen) or `budget` runs out. The caller then ends the server session it caused.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <functional>

#include "common/result.hpp"

namespace estgw::gateway {

struct SelfHandshake {
    sockaddr_storage client{};  // the throw-away client's address, as the server sees it
};

// `target`: an address the front listens on (a wildcard is replaced by the loopback address of its family).
// `pump` runs libcoap for a moment (it is told the client's address, so that it can let that client's
// datagrams through and no one else's).
Result<SelfHandshake> handshake_with_self(const sockaddr* target, socklen_t target_length,
                                          const std::function<void(const sockaddr* client)>& pump,
                                          const std::function<bool()>& done,
                                          std::chrono::milliseconds budget);

}  // namespace estgw::gateway
