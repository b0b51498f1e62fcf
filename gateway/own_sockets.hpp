// The sockets this process has open, found in /proc/self/fd. libcoap 4.3.1 and cpp-httplib 0.11 keep the
// sockets they create to themselves, and a few things can only be done on the socket.
#pragma once

#include <set>

namespace estgw::gateway {

// Those of `type` (SOCK_DGRAM, SOCK_STREAM).
std::set<int> own_sockets(int type);

// Shuts down the reading side of every TCP connection this process accepted on local port `port`, once its
// listening socket is closed: a connection waiting for a request (idle keep-alive, or still in the TLS
// handshake) ends at once, while one whose request is being answered can still send the answer.
void stop_reading_connections_on(int port);

}  // namespace estgw::gateway
