#include "gateway/https_connection.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <poll.h>

#include <algorithm>
#include <cstring>

namespace estgw::gateway {

std::string IpAndPort::text() const {
    return (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

HttpsConnection::HttpsConnection(FileDescriptor socket, SslPtr tls, std::string source, IpAndPort address)
    : fd(std::move(socket)),
      ssl(std::move(tls)),
      source_key(std::move(source)),
      ip(address.ip),
      port(address.port),
      peer(address.text()) {}

IpAndPort ip_and_port(const sockaddr_storage& address) {
    IpAndPort out;
    char text[INET6_ADDRSTRLEN] = "";
    if (address.ss_family == AF_INET6) {
        const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
        inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text);
        out.port = ntohs(v6.sin6_port);
    } else if (address.ss_family == AF_INET) {
        const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
        inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text);
        out.port = ntohs(v4.sin_port);
    }
    out.ip = text;
    return out;
}

bool HttpsConnection::has_complete_head() {
    // cpp-httplib ends a head only at an empty line ending in CRLF; a bare LF does not end it there either.
    constexpr std::string_view kEnd = "\r\n\r\n";
    const std::size_t from = std::max(consumed, scanned);
    if (input.find(kEnd, from) != std::string::npos) return true;
    if (input.size() >= kEnd.size()) scanned = std::max(from, input.size() - (kEnd.size() - 1));
    return false;
}

void HttpsConnection::drop_consumed() {
    input.erase(0, consumed);
    // An idle connection keeps no buffer: thousands of them would otherwise hold one head's worth each.
    if (input.empty()) std::string().swap(input);
    consumed = 0;
    scanned = 0;
}

HttpsStream::HttpsStream(HttpsConnection& connection, std::chrono::seconds timeout)
    : c_(connection), timeout_(timeout), read_deadline_(Clock::now() + timeout) {}

bool HttpsStream::wait(bool for_write, Clock::time_point deadline) const {
    while (true) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return false;
        pollfd p{c_.fd.get(), static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
        const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 60'000)));
        if (n > 0) return true;
        if (n < 0 && errno != EINTR) return false;
    }
}

bool HttpsStream::is_readable() const {
    if (c_.unconsumed() > 0 || SSL_pending(c_.ssl.get()) > 0) return true;
    return wait(false, read_deadline_);
}

bool HttpsStream::is_writable() const {
    return wait(true, write_deadline_ == Clock::time_point{} ? Clock::now() + timeout_ : write_deadline_);
}

ssize_t HttpsStream::read(char* ptr, size_t size) {
    if (c_.unconsumed() > 0) {
        const std::size_t n = std::min(size, c_.unconsumed());
        std::memcpy(ptr, c_.input.data() + c_.consumed, n);
        c_.consumed += n;
        return static_cast<ssize_t>(n);
    }
    const int length = static_cast<int>(std::min<size_t>(size, 1 << 30));
    while (true) {
        ERR_clear_error();
        const int n = SSL_read(c_.ssl.get(), ptr, length);
        if (n > 0) return n;
        const int error = SSL_get_error(c_.ssl.get(), n);
        if (error == SSL_ERROR_ZERO_RETURN) return 0;
        if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) return -1;
        if (!wait(error == SSL_ERROR_WANT_WRITE, read_deadline_)) return -1;
    }
}

ssize_t HttpsStream::write(const char* ptr, size_t size) {
    if (write_deadline_ == Clock::time_point{}) write_deadline_ = Clock::now() + timeout_;
    if (size == 0) return 0;
    // Without SSL_MODE_ENABLE_PARTIAL_WRITE, SSL_write takes all of it or, after WANT_*, wants the very same
    // call again.
    const int length = static_cast<int>(std::min<size_t>(size, 1 << 30));
    while (true) {
        ERR_clear_error();
        const int n = SSL_write(c_.ssl.get(), ptr, length);
        if (n > 0) return n;
        const int error = SSL_get_error(c_.ssl.get(), n);
        if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) return -1;
        if (!wait(error == SSL_ERROR_WANT_WRITE, write_deadline_)) return -1;
    }
}

void HttpsStream::get_remote_ip_and_port(std::string& ip, int& port) const {
    ip = c_.ip;
    port = c_.port;
}

void HttpsStream::get_local_ip_and_port(std::string& ip, int& port) const {
    sockaddr_storage local{};
    socklen_t length = sizeof local;
    if (::getsockname(c_.fd.get(), reinterpret_cast<sockaddr*>(&local), &length) != 0) local.ss_family = 0;
    IpAndPort address = ip_and_port(local);
    ip = std::move(address.ip);
    port = address.port;
}

socket_t HttpsStream::socket() const {
    return c_.fd.get();
}

}  // namespace estgw::gateway
