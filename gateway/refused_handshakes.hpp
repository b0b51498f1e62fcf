// Handshakes the HTTPS and CoAP fronts refuse, or their clients refuse: one warn line each with the peer's
// address and the reason ("no client certificate", "... does not verify against --client-ca: expired: ..."),
// so that an operator sees why a device cannot connect. Anyone can cause these at will, so at most
// kLinesPerSecond are written per second, process-wide; the rest are counted and summed up in one line.
//
// OpenSSL reports them through callbacks on the TLS context (HTTPS: cpp-httplib's SSLServer's) or on each
// DTLS session's SSL (CoAP: libcoap's, whose own callbacks stay in charge, see tls_events.hpp).
#pragma once

#include <openssl/ssl.h>

namespace estgw::gateway::refused_handshakes {

inline constexpr unsigned kLinesPerSecond = 10;

// The HTTPS front: `ctx` keeps its verify mode, and gets our verify and info callbacks. The app data of each
// SSL made from it is null or a const std::string* naming the peer ("192.0.2.1:50123").
void watch_https(SSL_CTX* ctx);
// The CoAP front: a new server session's SSL, from libcoap's TLS set-up callback.
void watch_dtls(SSL* ssl);
// Writes the count of refusals that were not logged, once their second has passed (the CoAP front's event
// loop calls it; a refusal logged later writes it too).
void flush();

}  // namespace estgw::gateway::refused_handshakes
