#include "gateway/https_acceptor.hpp"

#include <netdb.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/log.hpp"

namespace estgw::gateway {

namespace {

// How often the deadlines are checked: each limit is whole seconds, so a tenth of one late is no matter, and
// a look over a few thousand connections costs less than keeping a timer per connection right.
constexpr auto kSweepInterval = std::chrono::milliseconds(100);
// After accept() ran out of file descriptors (or memory), how long the listener rests: the pending
// connection stays in the kernel's queue and would wake a level-triggered epoll at once, again and again.
constexpr auto kAcceptPause = std::chrono::milliseconds(100);
// Connections accepted per wake-up before handshakes and heads under way get their turn.
constexpr int kAcceptBatch = 256;
// Connections served per look at what is ready. A handshake step costs up to a millisecond of crypto, and a
// burst of 4 000 handshakes made a legitimate client queue 8.9 s behind them when every ready connection was
// served in turn; so each look serves this many, those from addresses with the fewest connections first
// (docs/BENCHMARKS.md). The others stay ready and come up in the next look.
constexpr std::size_t kStepsPerLook = 32;

using AddrInfoPtr = std::unique_ptr<addrinfo, decltype(&freeaddrinfo)>;

std::string seconds_text(std::chrono::seconds s) {
    return std::to_string(s.count()) + " s";
}

}  // namespace

HttpsAcceptor::HttpsAcceptor(const HttpsLimits& limits, SSL_CTX* ctx, Dispatch dispatch)
    : limits_(limits),
      ctx_(ctx),
      dispatch_(std::move(dispatch)),
      counter_(limits.max_connections, limits.max_connections_per_address) {}

HttpsAcceptor::~HttpsAcceptor() {
    begin_stop();
    join();
}

Result<void> HttpsAcceptor::listen(const ListenAddress& address) {
    const std::string where = "cannot listen on " + address.text() + " (TCP) for HTTPS: ";
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(address.port);
    if (int rc = getaddrinfo(address.host.c_str(), port.c_str(), &hints, &found); rc != 0)
        return make_error(Status::Internal, where + gai_strerror(rc));
    AddrInfoPtr addresses(found, freeaddrinfo);
    std::string failure = "no address";
    for (const addrinfo* a = addresses.get(); a; a = a->ai_next) {
        FileDescriptor socket(::socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (socket.get() < 0) {
            failure = std::strerror(errno);
            continue;
        }
        // SO_REUSEADDR for a restart while old connections linger in TIME_WAIT; not SO_REUSEPORT, which
        // would let a second process share the port (gateway/listen_address_check.hpp).
        const int yes = 1, no = 0;
        setsockopt(socket.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
        if (a->ai_family == AF_INET6) setsockopt(socket.get(), IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof no);
        if (::bind(socket.get(), a->ai_addr, a->ai_addrlen) != 0 || ::listen(socket.get(), SOMAXCONN) != 0) {
            failure = std::strerror(errno);
            continue;
        }
        listener_ = std::move(socket);
        return {};
    }
    return make_error(Status::Internal, where + failure);
}

void HttpsAcceptor::start() {
    epoll_ = FileDescriptor(epoll_create1(EPOLL_CLOEXEC));
    wake_ = FileDescriptor(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    epoll_event listen_event{};
    listen_event.events = EPOLLIN;
    listen_event.data.fd = listener_.get();
    epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listener_.get(), &listen_event);
    listening_ = true;
    epoll_event wake_event{};
    wake_event.events = EPOLLIN;
    wake_event.data.fd = wake_.get();
    epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &wake_event);
    thread_ = std::thread([this] { run(); });
}

void HttpsAcceptor::give_back(HttpsConnection& connection, bool keep) {
    {
        std::lock_guard lock(returned_mutex_);
        returned_.emplace_back(&connection, keep);
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof one);
}

void HttpsAcceptor::begin_stop() {
    if (stopping_.exchange(true) || wake_.get() < 0) return;
    const std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof one);
}

void HttpsAcceptor::join() {
    joining_ = true;
    if (wake_.get() >= 0) {
        const std::uint64_t one = 1;
        [[maybe_unused]] ssize_t n = ::write(wake_.get(), &one, sizeof one);
    }
    if (thread_.joinable()) thread_.join();
}

void HttpsAcceptor::run() {
    // Room for every connection, so that the ones to serve first are chosen among all that are ready.
    std::vector<epoll_event> events(limits_.max_connections + 2);
    std::vector<HttpsConnection*> ready;
    auto next_sweep = Clock::now() + kSweepInterval;
    bool stop_seen = false;
    while (!(joining_ && with_workers_ == 0 && stop_seen)) {
        const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next_sweep - Clock::now()).count();
        const int n = epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()),
                                 static_cast<int>(std::max<long long>(wait, 0)));
        const auto now = Clock::now();
        ready.clear();
        for (int i = 0; i < n; ++i) {
            const int fd = events[i].data.fd;
            if (fd == wake_.get()) {
                std::uint64_t count = 0;
                [[maybe_unused]] ssize_t r = ::read(wake_.get(), &count, sizeof count);
            } else if (fd == listener_.get()) {
                if (!stopping_) accept_all(now);
            } else if (auto it = connections_.find(fd); it != connections_.end()) {
                ready.push_back(it->second.get());
            }
        }
        serve_ready(ready, now);
        take_back(now);
        if (stopping_ && !stop_seen) {
            stop_seen = true;
            if (listening_) epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, listener_.get(), nullptr);
            listening_ = false;
            listener_ = FileDescriptor(-1);
            close_all_idle();
        }
        if (!stopping_ && !listening_ && now >= accept_paused_until_) {
            epoll_event listen_event{};
            listen_event.events = EPOLLIN;
            listen_event.data.fd = listener_.get();
            listening_ = epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listener_.get(), &listen_event) == 0;
        }
        if (now >= next_sweep) {
            sweep(now);
            flush_unlogged(now);
            next_sweep = now + kSweepInterval;
        }
    }
    close_all_idle();
}

void HttpsAcceptor::serve_ready(std::vector<HttpsConnection*>& ready, Clock::time_point now) {
    if (ready.size() > kStepsPerLook) {
        std::vector<std::pair<unsigned, HttpsConnection*>> by_load;
        by_load.reserve(ready.size());
        for (HttpsConnection* c : ready)
            by_load.emplace_back(counter_.from(c->source_key), c);
        std::stable_sort(by_load.begin(), by_load.end(),
                         [](const auto& a, const auto& b) { return a.first < b.first; });
        for (std::size_t i = 0; i < kStepsPerLook; ++i)
            ready[i] = by_load[i].second;
        ready.resize(kStepsPerLook);
    }
    for (HttpsConnection* c : ready)
        on_ready(*c, now);
}

void HttpsAcceptor::accept_all(Clock::time_point now) {
    for (int i = 0; i < kAcceptBatch; ++i) {
        sockaddr_storage peer_address{};
        socklen_t length = sizeof peer_address;
        const int fd = accept4(listener_.get(), reinterpret_cast<sockaddr*>(&peer_address), &length,
                               SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            // The client gave up while queued, or a signal came: the next one may be fine.
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
            pause_accepting(now, errno);
            return;
        }
        FileDescriptor socket(fd);
        IpAndPort address = ip_and_port(peer_address);
        std::string source = connection_source_key(peer_address);
        const auto verdict = counter_.admit(source);
        if (verdict != ConnectionCounter::Verdict::Admitted) {
            refuse(std::move(socket), address.text(), verdict);
            continue;
        }
        SslPtr ssl(SSL_new(ctx_));
        if (!ssl || SSL_set_fd(ssl.get(), fd) != 1) {
            counter_.release(source);
            ERR_clear_error();
            warn("https-connection-refused", address.text(), "no memory for its TLS state");
            continue;
        }
        const int yes = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
        SSL_set_accept_state(ssl.get());
        // Thousands of idle connections would otherwise keep a 16 KB read buffer each.
        SSL_set_mode(ssl.get(), SSL_MODE_RELEASE_BUFFERS);
        auto c = std::make_unique<HttpsConnection>(std::move(socket), std::move(ssl), std::move(source),
                                                   std::move(address));
        // refused_handshakes names the peer from here: handshakes of many clients interleave on this thread.
        SSL_set_app_data(c->ssl.get(), &c->peer);
        c->deadline = now + limits_.handshake_timeout;
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.fd = fd;
        if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) {
            counter_.release(c->source_key);
            continue;
        }
        connections_.emplace(fd, std::move(c));
    }
}

void HttpsAcceptor::refuse(FileDescriptor socket, const std::string& peer,
                           ConnectionCounter::Verdict verdict) {
    // A reset, not a FIN: the client learns at once, and no TIME_WAIT is left on our side for each one.
    const linger reset{1, 0};
    setsockopt(socket.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    warn("https-connection-refused", peer,
         verdict == ConnectionCounter::Verdict::TooManyFromAddress
             ? "--https-max-connections-per-address reached (" +
                   std::to_string(limits_.max_connections_per_address) + " from this address)"
             : "--https-max-connections reached (" + std::to_string(limits_.max_connections) + " open)");
}

void HttpsAcceptor::pause_accepting(Clock::time_point now, int error) {
    if (listening_) epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, listener_.get(), nullptr);
    listening_ = false;
    accept_paused_until_ = now + kAcceptPause;
    warn("https-accept-failed", "-",
         std::string(std::strerror(error)) +
             (error == EMFILE ? " (raise the open file limit, ulimit -n, or lower --https-max-connections)"
                              : ""));
}

bool HttpsAcceptor::waits(HttpsConnection& c, int ret) {
    const int error = SSL_get_error(c.ssl.get(), ret);
    if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return false;
    }
    const bool write = error == SSL_ERROR_WANT_WRITE;
    if (write != c.wants_write) {
        c.wants_write = write;
        epoll_event event{};
        event.events = write ? EPOLLOUT : EPOLLIN;
        event.data.fd = c.fd.get();
        epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, c.fd.get(), &event);
    }
    return true;
}

void HttpsAcceptor::on_ready(HttpsConnection& c, Clock::time_point now) {
    if (c.phase == HttpsConnection::Phase::Handshake) {
        ERR_clear_error();
        const int ret = SSL_accept(c.ssl.get());
        if (ret != 1) {
            // A refused handshake is logged by refused_handshakes (gateway/refused_handshakes.hpp).
            if (!waits(c, ret)) close(c);
            return;
        }
        c.phase = HttpsConnection::Phase::Head;
        c.deadline = now + limits_.header_timeout;
    }
    read_head(c, now);
}

void HttpsAcceptor::read_head(HttpsConnection& c, Clock::time_point now) {
    char buffer[4096];
    while (!c.has_complete_head()) {
        if (c.unconsumed() > kMaxHeadBytes) {
            drop(c, "request head over " + std::to_string(kMaxHeadBytes) + " bytes");
            return;
        }
        ERR_clear_error();
        const int n = SSL_read(c.ssl.get(), buffer, sizeof buffer);
        if (n <= 0) {
            if (!waits(c, n)) close(c);  // the client went away (or broke TLS): nothing to answer
            return;
        }
        if (c.phase == HttpsConnection::Phase::Idle) {
            c.phase = HttpsConnection::Phase::Head;
            c.deadline = now + limits_.header_timeout;
        }
        c.input.append(buffer, static_cast<std::size_t>(n));
    }
    hand_to_worker(c);
}

void HttpsAcceptor::hand_to_worker(HttpsConnection& c) {
    // Out of the epoll set while a worker has it: the worker waits on the socket itself.
    epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, c.fd.get(), nullptr);
    c.wants_write = false;
    c.phase = HttpsConnection::Phase::WithWorker;
    ++with_workers_;
    if (!dispatch_(c)) {
        --with_workers_;
        close(c);
    }
}

void HttpsAcceptor::take_back(Clock::time_point now) {
    std::vector<std::pair<HttpsConnection*, bool>> returned;
    {
        std::lock_guard lock(returned_mutex_);
        returned.swap(returned_);
    }
    for (auto [c, keep] : returned) {
        --with_workers_;
        if (!keep || stopping_) {
            close(*c);
            continue;
        }
        c->drop_consumed();
        // Bytes of the next request may already be here (pipelining), or in the TLS record last read.
        c->phase = c->unconsumed() > 0 ? HttpsConnection::Phase::Head : HttpsConnection::Phase::Idle;
        c->deadline = now + (c->unconsumed() > 0 ? limits_.header_timeout : limits_.keepalive_timeout);
        epoll_event event{};
        event.events = EPOLLIN;
        event.data.fd = c->fd.get();
        if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, c->fd.get(), &event) != 0) {
            close(*c);
            continue;
        }
        read_head(*c, now);
    }
}

void HttpsAcceptor::sweep(Clock::time_point now) {
    std::vector<HttpsConnection*> expired;
    for (auto& [fd, c] : connections_) {
        if (c->phase != HttpsConnection::Phase::WithWorker && now >= c->deadline) expired.push_back(c.get());
    }
    for (HttpsConnection* c : expired) {
        switch (c->phase) {
            case HttpsConnection::Phase::Handshake:
                drop(*c, "no TLS handshake within " + seconds_text(limits_.handshake_timeout) +
                             " (--https-handshake-timeout)");
                break;
            case HttpsConnection::Phase::Head:
                drop(*c, "no complete request head within " + seconds_text(limits_.header_timeout) +
                             " (--https-header-timeout)");
                break;
            default:
                // An idle keep-alive connection ends here every day: nothing to warn about.
                log::debug("https-keepalive-ended", {{"peer", c->peer}, {"requests", c->requests}});
                close(*c);
                break;
        }
    }
}

void HttpsAcceptor::close(HttpsConnection& c) {
    if (c.phase != HttpsConnection::Phase::WithWorker)
        epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, c.fd.get(), nullptr);
    if (c.phase != HttpsConnection::Phase::Handshake) {
        // close_notify, if the socket takes it now; a client that does not read gets no second try.
        ERR_clear_error();
        SSL_shutdown(c.ssl.get());
        ERR_clear_error();
    }
    counter_.release(c.source_key);
    connections_.erase(c.fd.get());  // the SSL, then the socket
}

void HttpsAcceptor::close_all_idle() {
    std::vector<HttpsConnection*> idle;
    for (auto& [fd, c] : connections_) {
        if (c->phase != HttpsConnection::Phase::WithWorker) idle.push_back(c.get());
    }
    for (HttpsConnection* c : idle)
        close(*c);
}

void HttpsAcceptor::drop(HttpsConnection& c, const std::string& reason) {
    warn("https-connection-dropped", c.peer, reason);
    close(c);
}

void HttpsAcceptor::warn(const char* event, const std::string& peer, const std::string& reason) {
    const auto now = Clock::now();
    flush_unlogged(now);
    if (log_limiter_.admit(now)) log::warn(event, {{"peer", peer}, {"reason", reason}});
}

void HttpsAcceptor::flush_unlogged(Clock::time_point now) {
    if (std::uint64_t count = log_limiter_.take_suppressed(now)) {
        log::warn("https-connections-unlogged",
                  {{"count", count},
                   {"note", "more than " + std::to_string(kLinesPerSecond) +
                                " HTTPS connections refused or dropped a second; these were not logged one "
                                "by one"}});
    }
}

}  // namespace estgw::gateway
