#include "support/idle_clients.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

#include "common/file_descriptor.hpp"
#include "common/openssl.hpp"

namespace estgw::test {

namespace {

using Clock = std::chrono::steady_clock;

enum class Kind { Tcp, Tls, PartialHead, AfterRequest };

enum class Phase {
    Connecting,
    Handshaking,
    AwaitingTicket,   // our side is done; the server's session ticket says its side is too
    Writing,          // the partial head or the request
    ReadingResponse,  // AfterRequest: to the end of the answer's body
    Done,
    Failed,
};

constexpr char kPartialHead[] = "GET /.well-known/est/cacerts HTTP/1.1\r\n";
constexpr char kRequest[] = "GET /.well-known/est/cacerts HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

struct Client {
    Kind kind;
    FileDescriptor fd{-1};
    SslPtr ssl;
    Phase phase = Phase::Connecting;
    bool ticket = false;
    bool want_write = false;  // what the last TLS call waits for
    std::string out;
    std::size_t written = 0;
    std::string in;
};

int on_new_session(SSL* ssl, SSL_SESSION*) {
    if (auto* client = static_cast<Client*>(SSL_get_app_data(ssl))) client->ticket = true;
    return 0;  // not kept
}

// The answer is in when its head and Content-Length bytes of body are.
bool response_complete(const std::string& in) {
    const std::size_t end = in.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    std::size_t length = 0;
    const std::size_t at = in.find("Content-Length: ");
    if (at != std::string::npos && at < end) length = std::stoul(in.substr(at + 16));
    return in.size() >= end + 4 + length;
}

void raise_open_file_limit(unsigned needed) {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) throw std::runtime_error("getrlimit failed");
    if (limit.rlim_cur >= needed) return;
    if (limit.rlim_max < needed)
        throw std::runtime_error("the open file limit (" + std::to_string(limit.rlim_max) +
                                 ") is too low for " + std::to_string(needed) + " connections");
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
}

FileDescriptor connect_from(int source, int port) {
    FileDescriptor fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in from{};
    from.sin_family = AF_INET;
    from.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1 + static_cast<unsigned>(source));  // 127.0.0.2 ...
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&from), sizeof from) != 0)
        throw std::runtime_error(std::string("bind: ") + std::strerror(errno));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS)
        throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
    return fd;
}

}  // namespace

struct IdleClients::State {
    SslCtxPtr ctx;
    std::vector<std::unique_ptr<Client>> clients;
    std::chrono::milliseconds setup_time{0};

    void start_tls(Client& c) {
        c.ssl.reset(SSL_new(ctx.get()));
        if (!c.ssl || SSL_set_fd(c.ssl.get(), c.fd.get()) != 1) throw std::runtime_error("SSL_new failed");
        SSL_set_app_data(c.ssl.get(), &c);
        SSL_set_connect_state(c.ssl.get());
        c.phase = Phase::Handshaking;
        if (c.kind == Kind::PartialHead) c.out = kPartialHead;
        if (c.kind == Kind::AfterRequest) c.out = kRequest;
    }

    // After a TLS call that did not succeed: true when it would block (want_write says on what), false when
    // the connection failed.
    bool would_block(Client& c, int ret) {
        const int error = SSL_get_error(c.ssl.get(), ret);
        ERR_clear_error();
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
            c.want_write = error == SSL_ERROR_WANT_WRITE;
            return true;
        }
        c.phase = Phase::Failed;
        return false;
    }

    // Moves `c` on as far as it goes without blocking.
    void advance(Client& c) {
        char buffer[4096];
        while (true) {
            switch (c.phase) {
                case Phase::Connecting: {
                    int error = 0;
                    socklen_t length = sizeof error;
                    if (::getsockopt(c.fd.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
                    // Reset after the connection was set up (a server refusing it at accept) still counts
                    // as connected: closed_by_server() then sees it closed.
                    if (error == ECONNRESET && c.kind == Kind::Tcp) error = 0;
                    if (error != 0) {
                        c.phase = Phase::Failed;
                        return;
                    }
                    if (c.kind == Kind::Tcp) {
                        c.phase = Phase::Done;
                        return;
                    }
                    start_tls(c);
                    break;
                }
                case Phase::Handshaking: {
                    const int ret = SSL_connect(c.ssl.get());
                    if (ret != 1) {
                        would_block(c, ret);
                        return;
                    }
                    c.phase = c.kind == Kind::Tls ? Phase::AwaitingTicket : Phase::Writing;
                    break;
                }
                case Phase::AwaitingTicket: {
                    if (c.ticket) {
                        c.phase = Phase::Done;
                        return;
                    }
                    const int ret = SSL_read(c.ssl.get(), buffer, sizeof buffer);
                    if (ret <= 0 && !would_block(c, ret)) return;
                    if (ret <= 0 && !c.ticket) return;
                    break;
                }
                case Phase::Writing: {
                    const int ret = SSL_write(c.ssl.get(), c.out.data() + c.written,
                                              static_cast<int>(c.out.size() - c.written));
                    if (ret <= 0) {
                        would_block(c, ret);
                        return;
                    }
                    c.written += static_cast<std::size_t>(ret);
                    if (c.written < c.out.size()) break;
                    c.phase = c.kind == Kind::AfterRequest ? Phase::ReadingResponse : Phase::AwaitingTicket;
                    break;
                }
                case Phase::ReadingResponse: {
                    const int ret = SSL_read(c.ssl.get(), buffer, sizeof buffer);
                    if (ret <= 0) {
                        would_block(c, ret);
                        return;
                    }
                    c.in.append(buffer, static_cast<std::size_t>(ret));
                    if (response_complete(c.in)) c.phase = Phase::Done;
                    break;
                }
                case Phase::Done:
                case Phase::Failed:
                    return;
            }
        }
    }

    void run(Clock::time_point deadline) {
        std::vector<pollfd> polled;
        std::vector<Client*> waiting;
        while (Clock::now() < deadline) {
            polled.clear();
            waiting.clear();
            for (auto& c : clients) {
                if (c->phase == Phase::Done || c->phase == Phase::Failed) continue;
                const bool out = c->phase == Phase::Connecting || c->want_write;
                polled.push_back({c->fd.get(), static_cast<short>(out ? POLLOUT : POLLIN), 0});
                waiting.push_back(c.get());
            }
            if (waiting.empty()) return;
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            const int n =
                ::poll(polled.data(), polled.size(), static_cast<int>(std::max<long>(left.count(), 0)));
            if (n < 0 && errno != EINTR) throw std::runtime_error("poll failed");
            for (std::size_t i = 0; n > 0 && i < polled.size(); ++i) {
                if (polled[i].revents != 0) advance(*waiting[i]);
            }
        }
    }

    bool established(const Client& c) const { return c.phase == Phase::Done; }
};

IdleClients::IdleClients(const IdleClientsPlan& plan) : state_(std::make_unique<State>()) {
    const unsigned total = plan.tcp + plan.tls + plan.partial_head + plan.after_request;
    if (total > kMaxConnections) throw std::runtime_error("more idle clients than kMaxConnections");
    if (plan.source_addresses == 0 || plan.source_addresses > 250)
        throw std::runtime_error("source_addresses must be between 1 and 250 (127.0.0.2 .. 127.0.0.251)");
    raise_open_file_limit(total + 64);

    if (total > plan.tcp) {
        state_->ctx.reset(SSL_CTX_new(TLS_client_method()));
        SSL_CTX* ctx = state_->ctx.get();
        if (!ctx || SSL_CTX_load_verify_locations(ctx, plan.ca_file.c_str(), nullptr) != 1 ||
            SSL_CTX_use_certificate_chain_file(ctx, plan.cert_file.c_str()) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx, plan.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
            throw std::runtime_error("cannot set up the idle clients' TLS from " + plan.cert_file);
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx, on_new_session);
    }

    const auto started = Clock::now();
    const std::pair<Kind, unsigned> counts[] = {
        {Kind::Tcp, plan.tcp},
        {Kind::Tls, plan.tls},
        {Kind::PartialHead, plan.partial_head},
        {Kind::AfterRequest, plan.after_request},
    };
    unsigned index = 0;
    for (const auto& [kind, count] : counts) {
        for (unsigned i = 0; i < count; ++i, ++index) {
            auto client = std::make_unique<Client>();
            client->kind = kind;
            client->fd = connect_from(static_cast<int>(index % plan.source_addresses), plan.port);
            state_->clients.push_back(std::move(client));
        }
    }
    state_->run(started + plan.deadline);
    for (auto& c : state_->clients) {
        if (!state_->established(*c)) {
            c->ssl.reset();
            c->fd = FileDescriptor(-1);
        }
    }
    state_->setup_time = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
}

IdleClients::~IdleClients() = default;

unsigned IdleClients::tcp_connected() const {
    unsigned n = 0;
    for (const auto& c : state_->clients)
        n += c->kind == Kind::Tcp && state_->established(*c);
    return n;
}

unsigned IdleClients::tls_established() const {
    unsigned n = 0;
    for (const auto& c : state_->clients)
        n += c->kind != Kind::Tcp && state_->established(*c);
    return n;
}

std::chrono::milliseconds IdleClients::setup_time() const {
    return state_->setup_time;
}

unsigned IdleClients::closed_by_server() const {
    unsigned n = 0;
    for (const auto& c : state_->clients) {
        if (!state_->established(*c)) continue;
        pollfd p{c->fd.get(), POLLRDHUP, 0};
        if (::poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) ++n;
    }
    return n;
}

unsigned IdleClients::wait_closed(unsigned count, std::chrono::milliseconds timeout) const {
    const auto deadline = Clock::now() + timeout;
    unsigned closed = closed_by_server();
    while (closed < count && Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        closed = closed_by_server();
    }
    return closed;
}

}  // namespace estgw::test
