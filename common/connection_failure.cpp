#include "common/connection_failure.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "common/file_descriptor.hpp"

namespace estgw {

namespace {

struct Wording {
    ConnectionFailureKind kind;
    const char* text;
};

// clang-format off
constexpr Wording kWordings[] = {
    {ConnectionFailureKind::NameNotResolved,
     "{peer}: the host name does not resolve ({detail}); check the host in {address}"},
    {ConnectionFailureKind::Refused,
     "{peer}: connection refused, nothing listens on that port; check the port in {address} and that the "
     "server runs"},
    {ConnectionFailureKind::Unreachable,        "{peer}: {detail}; check {address} and the route to it"},
    {ConnectionFailureKind::TimedOut,
     "{peer}: no answer {detail}; check that {address} names the right server and port, or raise {timeout}"},
    {ConnectionFailureKind::PeerCertificateRejected,
     "the certificate of {peer} does not verify against {trust}: {detail}"},
    {ConnectionFailureKind::OurCertificateRefused, "{peer} refused our certificate ({identity}): {detail}"},
    {ConnectionFailureKind::CertificateRequired,   "{peer} requires a client certificate: set {identity}"},
    {ConnectionFailureKind::HandshakeFailed,       "{peer}: the TLS handshake failed: {detail}"},
    {ConnectionFailureKind::Broken,                "{peer}: the connection broke {detail}"},
};
// clang-format on

void replace_all(std::string& text, std::string_view placeholder, const std::string& value) {
    for (std::size_t at = text.find(placeholder); at != std::string::npos;
         at = text.find(placeholder, at + value.size())) {
        text.replace(at, placeholder.size(), value);
    }
}

std::string fill(std::string text, const ConnectionFailure& failure, const PeerNaming& naming) {
    replace_all(text, "{detail}", failure.detail);
    replace_all(text, "{peer}", naming.peer);
    replace_all(text, "{address}", naming.address);
    replace_all(text, "{trust}", naming.trust);
    replace_all(text, "{identity}", naming.identity);
    replace_all(text, "{timeout}", naming.timeout);
    return text;
}

// One connection attempt to `address`: the socket, or the errno (ETIMEDOUT after `limit`).
std::variant<FileDescriptor, int> connect_once(const addrinfo& address, std::chrono::milliseconds limit) {
    FileDescriptor fd(
        ::socket(address.ai_family, address.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, address.ai_protocol));
    if (fd.get() < 0) return errno;
    if (::connect(fd.get(), address.ai_addr, address.ai_addrlen) != 0) {
        if (errno != EINPROGRESS) return errno;
        pollfd ready{fd.get(), POLLOUT, 0};
        int polled = ::poll(&ready, 1, static_cast<int>(limit.count()));
        if (polled == 0) return ETIMEDOUT;
        if (polled < 0) return errno;
        int error = 0;
        socklen_t length = sizeof error;
        if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0) return errno;
        if (error != 0) return error;
    }
    const int flags = ::fcntl(fd.get(), F_GETFL);
    if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) return errno;
    return fd;
}

ConnectionFailure connect_failure(int error, std::chrono::milliseconds limit) {
    switch (error) {
        case ECONNREFUSED:
            return {ConnectionFailureKind::Refused, "", ""};
        case ETIMEDOUT:
            return {ConnectionFailureKind::TimedOut,
                    "within " + std::to_string(limit.count()) + " ms while connecting", ""};
        case ENETUNREACH:
        case EHOSTUNREACH:
        case EADDRNOTAVAIL:
        case ENETDOWN:
            return {ConnectionFailureKind::Unreachable, std::strerror(error), ""};
        default:
            return {ConnectionFailureKind::Broken, std::string("while connecting: ") + std::strerror(error),
                    ""};
    }
}

}  // namespace

std::string describe(const ConnectionFailure& failure, const PeerNaming& naming) {
    std::string text = "{peer}: {detail}";
    for (const Wording& w : kWordings) {
        if (w.kind == failure.kind) text = w.text;
    }
    text = fill(text, failure, naming);
    if (!failure.hint.empty()) text += "; " + fill(failure.hint, failure, naming);
    return text;
}

std::variant<FileDescriptor, ConnectionFailure> connect_tcp(const std::string& host, int port,
                                                            std::chrono::milliseconds limit) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0 || !found) {
        return ConnectionFailure{ConnectionFailureKind::NameNotResolved,
                                 rc != 0 ? gai_strerror(rc) : "no address", ""};
    }
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owner(found, freeaddrinfo);
    int error = 0;
    for (const addrinfo* a = found; a; a = a->ai_next) {  // as a client tries them: in order, until one works
        auto attempt = connect_once(*a, limit);
        if (auto* connected = std::get_if<FileDescriptor>(&attempt)) return std::move(*connected);
        error = std::get<int>(attempt);
    }
    return connect_failure(error, limit);
}

ConnectionFailure diagnose_tcp_connect(const std::string& host, int port, std::chrono::milliseconds limit) {
    auto connected = connect_tcp(host, port, limit);
    if (auto* failure = std::get_if<ConnectionFailure>(&connected)) return *failure;
    return {ConnectionFailureKind::Broken, "while connecting, but a second attempt connected", ""};
}

}  // namespace estgw
