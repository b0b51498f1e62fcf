#include "gateway/own_sockets.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
#include <filesystem>
#include <string>

namespace estgw::gateway {

namespace {

int local_port(const sockaddr_storage& address) {
    if (address.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
    if (address.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port);
    return -1;
}

}  // namespace

std::set<int> own_sockets(int type) {
    std::set<int> fds;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
        int fd = -1;
        const std::string name = entry.path().filename().string();
        auto [end, parse_error] = std::from_chars(name.data(), name.data() + name.size(), fd);
        if (parse_error != std::errc{} || end != name.data() + name.size()) continue;
        int found = 0;
        socklen_t length = sizeof found;
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &found, &length) == 0 && found == type) fds.insert(fd);
    }
    return fds;
}

void stop_reading_connections_on(int port) {
    // The listening socket is closed, so no socket with this local port can appear meanwhile; and each
    // socket is checked right before its shutdown, so a descriptor closed and reused since the listing is
    // left alone.
    for (int fd : own_sockets(SOCK_STREAM)) {
        sockaddr_storage local{}, peer{};
        socklen_t local_length = sizeof local, peer_length = sizeof peer;
        if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_length) != 0 ||
            local_port(local) != port ||
            getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_length) != 0) {
            continue;
        }
        ::shutdown(fd, SHUT_RD);
    }
}

}  // namespace estgw::gateway
