#include "support/dtls_flood.hpp"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "common/file_descriptor.hpp"

namespace estgw::test {

namespace {

void put16(Bytes& b, std::uint32_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
}
void put24(Bytes& b, std::uint32_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 16));
    put16(b, v);
}

using Clock = std::chrono::steady_clock;

// Sleeps until the `done`-th event is due at `per_second` from `start`.
void pace(Clock::time_point start, std::size_t done, double per_second) {
    if (per_second <= 0) return;
    const auto due =
        start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(done / per_second));
    std::this_thread::sleep_until(due);
}

FileDescriptor bound_socket(in_addr_t source) {
    FileDescriptor fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = source;
    if (fd.get() >= 0) ::bind(fd.get(), reinterpret_cast<const sockaddr*>(&local), sizeof local);
    return fd;
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

Bytes dtls_client_hello(std::uint64_t seed, ByteView cookie, std::uint64_t record_seq,
                        std::uint16_t message_seq) {
    Bytes body;
    put16(body, 0xfefd);  // DTLS 1.2
    for (int i = 0; i < 32; ++i)
        body.push_back(static_cast<std::uint8_t>((seed >> ((i % 8) * 8)) ^ (i * 37)));
    body.push_back(0);  // session_id
    body.push_back(static_cast<std::uint8_t>(cookie.size()));
    body.insert(body.end(), cookie.begin(), cookie.end());
    const std::uint16_t suites[] = {0xc02b, 0xc0ae,
                                    0xc0ac};  // ECDHE-ECDSA AES128-GCM, AES128-CCM8, AES128-CCM
    put16(body, sizeof suites);
    for (auto s : suites)
        put16(body, s);
    body.push_back(1);  // compression methods: null
    body.push_back(0);
    Bytes extensions;
    put16(extensions, 0x000a);  // supported_groups: secp256r1
    put16(extensions, 4);
    put16(extensions, 2);
    put16(extensions, 0x0017);
    put16(extensions, 0x000b);  // ec_point_formats: uncompressed
    put16(extensions, 2);
    extensions.push_back(1);
    extensions.push_back(0);
    put16(extensions, 0x000d);  // signature_algorithms: ecdsa_secp256r1_sha256
    put16(extensions, 4);
    put16(extensions, 2);
    put16(extensions, 0x0403);
    put16(extensions, 0x0017);  // extended_master_secret
    put16(extensions, 0);
    put16(body, static_cast<std::uint32_t>(extensions.size()));
    body.insert(body.end(), extensions.begin(), extensions.end());

    Bytes record;
    record.push_back(22);  // handshake
    put16(record, 0xfefd);
    put16(record, 0);  // epoch
    put16(record, static_cast<std::uint32_t>(record_seq >> 32));
    put16(record, static_cast<std::uint32_t>(record_seq >> 16));
    put16(record, static_cast<std::uint32_t>(record_seq));
    put16(record, static_cast<std::uint32_t>(12 + body.size()));
    record.push_back(1);  // client_hello
    put24(record, static_cast<std::uint32_t>(body.size()));
    put16(record, message_seq);
    put24(record, 0);
    put24(record, static_cast<std::uint32_t>(body.size()));
    record.insert(record.end(), body.begin(), body.end());
    return record;
}

Bytes hello_verify_cookie(ByteView d) {
    // record header (13), handshake header (12), server_version (2), cookie length (1)
    if (d.size() < 28 || d[0] != 22 || d[13] != 3) return {};
    const std::size_t length = d[27];
    if (d.size() < 28 + length) return {};
    return Bytes(d.begin() + 28, d.begin() + 28 + static_cast<std::ptrdiff_t>(length));
}

FloodResult flood_client_hellos(const sockaddr_in& target, std::size_t count, double per_second) {
    FloodResult result;
    const auto start = Clock::now();
    const in_addr_t loopback = htonl(INADDR_LOOPBACK);
    for (std::size_t i = 0; i < count; ++i) {
        pace(start, i, per_second);
        FileDescriptor fd = bound_socket(loopback);
        if (fd.get() < 0) continue;
        const Bytes hello = dtls_client_hello(i * 7919 + 1, {}, 0, 0);
        if (::sendto(fd.get(), hello.data(), hello.size(), 0, reinterpret_cast<const sockaddr*>(&target),
                     sizeof target) == static_cast<ssize_t>(hello.size())) {
            ++result.sent;
        }
    }
    result.seconds = seconds_since(start);
    return result;
}

FloodResult abandoned_handshakes(const sockaddr_in& target, std::size_t count, std::size_t addresses,
                                 double per_second, std::size_t batch) {
    FloodResult result;
    const auto start = Clock::now();
    std::size_t done = 0;
    while (done < count) {
        const std::size_t n = std::min(batch, count - done);
        std::vector<FileDescriptor> sockets;
        std::vector<pollfd> polls;
        for (std::size_t i = 0; i < n; ++i) {
            pace(start, done + i, per_second);
            const std::size_t which = (done + i) % std::max<std::size_t>(addresses, 1);
            const in_addr_t source = htonl((127u << 24) | (1u << 8) | static_cast<in_addr_t>(1 + which));
            FileDescriptor fd = bound_socket(source);
            if (fd.get() < 0) continue;
            const Bytes hello = dtls_client_hello(done + i + 1, {}, 0, 0);
            if (::sendto(fd.get(), hello.data(), hello.size(), 0, reinterpret_cast<const sockaddr*>(&target),
                         sizeof target) != static_cast<ssize_t>(hello.size())) {
                continue;
            }
            ++result.sent;
            polls.push_back(pollfd{fd.get(), POLLIN, 0});
            sockets.push_back(std::move(fd));
        }
        // Each socket's HelloVerifyRequest, within 1 s; then the second flight, and silence.
        std::vector<bool> answered(polls.size(), false);
        std::size_t open = polls.size();
        const auto deadline = Clock::now() + std::chrono::seconds(1);
        while (open > 0 && Clock::now() < deadline) {
            if (::poll(polls.data(), polls.size(), 50) <= 0) continue;
            for (std::size_t i = 0; i < polls.size(); ++i) {
                if (answered[i] || !(polls[i].revents & POLLIN)) continue;
                std::uint8_t buffer[2048];
                const ssize_t got = ::recv(polls[i].fd, buffer, sizeof buffer, MSG_DONTWAIT);
                if (got <= 0) continue;
                const Bytes cookie = hello_verify_cookie(ByteView(buffer, static_cast<std::size_t>(got)));
                if (cookie.empty()) continue;
                answered[i] = true;
                polls[i].events = 0;
                --open;
                ++result.verify_requests;
                const Bytes hello = dtls_client_hello(done + i + 1, cookie, 1, 1);
                if (::sendto(polls[i].fd, hello.data(), hello.size(), 0,
                             reinterpret_cast<const sockaddr*>(&target),
                             sizeof target) == static_cast<ssize_t>(hello.size()))
                    ++result.cookies_echoed;
            }
        }
        done += n;
    }
    result.seconds = seconds_since(start);
    return result;
}

}  // namespace estgw::test
