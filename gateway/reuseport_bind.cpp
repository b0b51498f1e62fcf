#include "gateway/reuseport_bind.hpp"

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace estgw::gateway {

namespace {

thread_local int t_reuseport_scopes = 0;

}  // namespace

ReusePortBinds::ReusePortBinds() {
    ++t_reuseport_scopes;
}
ReusePortBinds::~ReusePortBinds() {
    --t_reuseport_scopes;
}

bool has_reuseport(int fd) {
    int on = 0;
    socklen_t length = sizeof on;
    return getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, &length) == 0 && on != 0;
}

}  // namespace estgw::gateway

// The program's bind(): see reuseport_bind.hpp. A failed setsockopt is left to has_reuseport() to notice
// (bind then fails with EADDRINUSE for every socket after the first, which the caller reports).
extern "C" int bind(int fd, const sockaddr* address, socklen_t length) noexcept {
    if (estgw::gateway::t_reuseport_scopes > 0) {
        const int on = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
    }
    return static_cast<int>(syscall(SYS_bind, fd, address, length));
}
