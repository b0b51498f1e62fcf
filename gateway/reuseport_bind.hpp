// SO_REUSEPORT on the sockets libcoap binds, for the I/O threads (--io-threads) to share one UDP address.
//
// libcoap 4.3.1 creates, configures and binds an endpoint's socket inside coap_new_endpoint
// (coap_socket_bind_udp: socket, FIONBIO, SO_REUSEADDR, the PKTINFO options, bind) and offers no hook
// between socket() and bind(), while SO_REUSEPORT must be set before bind to join a group. The program
// therefore defines bind() itself (reuseport_bind.cpp): libcoap's call resolves to it (ELF symbol
// interposition, the executable comes first in the lookup scope). While a ReusePortBinds scope is alive on
// the calling thread it sets SO_REUSEPORT first; otherwise, and for every other caller, it is the plain
// system call. has_reuseport() lets the caller check that the interposition took effect.
#pragma once

namespace estgw::gateway {

class ReusePortBinds {
  public:
    ReusePortBinds();
    ~ReusePortBinds();
    ReusePortBinds(const ReusePortBinds&) = delete;
    ReusePortBinds& operator=(const ReusePortBinds&) = delete;
};

bool has_reuseport(int fd);

}  // namespace estgw::gateway
