#include "gateway/listen_address_check.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "common/file_descriptor.hpp"

namespace estgw::gateway {

namespace {

struct AddrinfoFree {
    void operator()(addrinfo* a) const { freeaddrinfo(a); }
};

}  // namespace

Result<void> check_address_free(const ListenAddress& address, Transport transport, std::string_view option) {
    const char* kind = transport == Transport::Udp ? "UDP" : "TCP";
    auto refuse = [&](const std::string& why) {
        return make_error(Status::BadRequest,
                          "--" + std::string(option) + " " + address.text() + " (" + kind + "): " + why);
    };
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = transport == Transport::Udp ? SOCK_DGRAM : SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(address.port);
    if (int rc = getaddrinfo(address.host.c_str(), port.c_str(), &hints, &found); rc != 0 || !found)
        return refuse(std::string("cannot resolve: ") + gai_strerror(rc));
    std::unique_ptr<addrinfo, AddrinfoFree> owned(found);
    FileDescriptor probe(::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, 0));
    if (probe.get() < 0) return refuse(std::string("cannot create a socket: ") + std::strerror(errno));
    if (transport == Transport::Tcp) {
        // Only so that connections of an earlier run still in TIME_WAIT do not count: a listening socket
        // still makes the bind fail.
        int on = 1;
        ::setsockopt(probe.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    }
    if (::bind(probe.get(), found->ai_addr, found->ai_addrlen) == 0) return {};
    switch (errno) {
        case EADDRINUSE:
            return refuse(
                "the address is in use by another process (another estgw?); stop it or choose another "
                "address");
        case EACCES:
            return refuse("permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)");
        case EADDRNOTAVAIL:
            return refuse("no interface of this machine has that address");
        default:
            return refuse(std::string("cannot bind: ") + std::strerror(errno));
    }
}

}  // namespace estgw::gateway
