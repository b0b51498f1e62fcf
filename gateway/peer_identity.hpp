// What estgw knows about a (D)TLS client, read once from the OpenSSL session: used by the CoAP front (DTLS,
// through libcoap) and the HTTPS front (TLS, through cpp-httplib) alike.
#pragma once

#include <openssl/ssl.h>

#include <string>

#include "common/est.hpp"

namespace estgw::gateway {

// The client's chain (leaf first, and the leaf as OpenSSL parsed it) and subject, and tls-unique (RFC 5929
// §3.1: the first Finished message of the latest handshake — the client's on a full handshake, the server's
// on a resumed one; empty under TLS 1.3, which does not define it). `address` is copied as given.
PeerIdentity read_peer_identity(const SSL* ssl, std::string address);

}  // namespace estgw::gateway
