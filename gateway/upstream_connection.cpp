#include "gateway/upstream_connection.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/tls_events.hpp"
#include "gateway/http_answer.hpp"

namespace estgw::gateway {

namespace {

ExchangeFailure broken(std::string detail, bool nothing_received) {
    return {{ConnectionFailureKind::Broken, std::move(detail), ""}, nothing_received};
}

}  // namespace

void AbortableSocket::abort() {
    std::lock_guard lock(mutex);
    aborted = true;
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
}

bool UpstreamConnection::closed_by_peer() const {
    if (!ssl_) return false;
    if (!buffer_.empty() || SSL_pending(ssl_.get()) > 0) return true;
    pollfd p{fd_.get(), POLLIN, 0};
    return ::poll(&p, 1, 0) != 0;  // readable with nothing asked: a close_notify, a FIN or an RST
}

void UpstreamConnection::close() {
    if (ssl_) {
        // No close_notify: nothing waits for it, and the peer may be gone.
        SSL_set_quiet_shutdown(ssl_.get(), 1);
        ssl_.reset();
    }
    {
        std::lock_guard lock(socket_->mutex);
        socket_->fd = -1;
    }
    fd_ = FileDescriptor(-1);
    buffer_.clear();
    just_handshaken_ = false;
}

UpstreamConnection::Wait UpstreamConnection::wait_for(short events, Clock::time_point deadline) const {
    while (true) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return Wait::TimedOut;
        pollfd p{fd_.get(), events, 0};
        const int polled = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 60'000)));
        if (polled > 0) return Wait::Ready;  // errors and hang-ups too: the next call into OpenSSL says which
        if (polled < 0 && errno != EINTR) return Wait::Failed;
    }
}

void UpstreamConnection::quick_ack() const {
    // Linux leaves quick-ACK mode again on its own (after a few segments, or when the connection turns
    // "interactive"), so this is set before each wait and after each read, not once.
    const int on = 1;
    ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
}

std::optional<ConnectionFailure> UpstreamConnection::open(SSL_CTX* ctx, const std::string& host, int port,
                                                          Clock::time_point deadline,
                                                          const std::string& within) {
    close();
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0)
        return ConnectionFailure{ConnectionFailureKind::TimedOut, within + "while connecting", ""};
    auto connected = connect_tcp(host, port, left);
    if (auto* failure = std::get_if<ConnectionFailure>(&connected)) {
        if (failure->kind == ConnectionFailureKind::TimedOut) failure->detail = within + "while connecting";
        return *failure;
    }
    fd_ = std::move(std::get<FileDescriptor>(connected));
    {
        std::lock_guard lock(socket_->mutex);
        socket_->fd = fd_.get();
        if (socket_->aborted) ::shutdown(fd_.get(), SHUT_RDWR);
    }
    const int on = 1;
    ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    if (int flags = ::fcntl(fd_.get(), F_GETFL);
        flags < 0 || ::fcntl(fd_.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
        close();
        return ConnectionFailure{ConnectionFailureKind::Broken,
                                 std::string("while connecting: ") + std::strerror(errno), ""};
    }
    ssl_.reset(SSL_new(ctx));
    const bool ip_literal =
        host.find_first_not_of("0123456789.") == std::string::npos || host.find(':') != std::string::npos;
    if (!ssl_ || SSL_set_fd(ssl_.get(), fd_.get()) != 1 ||
        (!ip_literal && SSL_set_tlsext_host_name(ssl_.get(), host.c_str()) != 1)) {
        close();
        return ConnectionFailure{ConnectionFailureKind::HandshakeFailed,
                                 "cannot set up TLS: " + openssl_errors(), ""};
    }
    take_tls_events();  // what earlier connections of this thread left
    ERR_clear_error();
    while (true) {
        quick_ack();
        const int rc = SSL_connect(ssl_.get());
        if (rc == 1) break;
        const int error = SSL_get_error(ssl_.get(), rc);
        Wait waited = Wait::Failed;
        if (error == SSL_ERROR_WANT_READ) waited = wait_for(POLLIN, deadline);
        if (error == SSL_ERROR_WANT_WRITE) waited = wait_for(POLLOUT, deadline);
        if (waited == Wait::Ready) continue;
        const TlsEvents events = take_tls_events(ssl_.get());
        std::string why = openssl_errors();
        close();
        if (auto tls = client_tls_failure(events)) return *tls;
        if (waited == Wait::TimedOut)
            return ConnectionFailure{ConnectionFailureKind::TimedOut, within + "in the TLS handshake", ""};
        if (why.empty())
            why = error == SSL_ERROR_SYSCALL || error == SSL_ERROR_ZERO_RETURN
                      ? "the server closed the connection"
                      : "no reason given";
        return ConnectionFailure{ConnectionFailureKind::HandshakeFailed, why, ""};
    }
    just_handshaken_ = true;
    return std::nullopt;
}

UpstreamConnection::Read UpstreamConnection::read_more(Clock::time_point deadline, const std::string& within,
                                                       ExchangeFailure& failure) {
    char chunk[16 * 1024];
    while (true) {
        quick_ack();
        ERR_clear_error();
        const int n = SSL_read(ssl_.get(), chunk, sizeof chunk);
        if (n > 0) {
            quick_ack();  // the ACK of what just came goes now, not after the delayed-ACK timer
            buffer_.append(chunk, static_cast<std::size_t>(n));
            return Read::Data;
        }
        const int error = SSL_get_error(ssl_.get(), n);
        if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
            const Wait waited = wait_for(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
            if (waited == Wait::Ready) continue;
            if (waited == Wait::TimedOut) {
                failure = {{ConnectionFailureKind::TimedOut, within + "waiting for the answer", ""}, false};
                return Read::Failed;
            }
        }
        // The end of the stream, with or without close_notify (OpenSSL 3 calls the latter an error).
        if (error == SSL_ERROR_ZERO_RETURN || error == SSL_ERROR_SYSCALL ||
            (error == SSL_ERROR_SSL &&
             ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
            ERR_clear_error();
            failure = broken("while reading the answer", buffer_.empty());
            return Read::End;
        }
        failure = broken("while reading the answer (" + openssl_errors() + ")", false);
        return Read::Failed;
    }
}

std::variant<mapping::HttpResponse, ExchangeFailure> UpstreamConnection::exchange(const std::string& request,
                                                                                  Clock::time_point deadline,
                                                                                  const std::string& within) {
    const bool fresh = just_handshaken_;
    auto fail = [&](ExchangeFailure f) -> std::variant<mapping::HttpResponse, ExchangeFailure> {
        const TlsEvents events = take_tls_events(ssl_.get());
        close();
        // A TLS 1.3 server refuses our certificate after our side of the handshake: its alert arrives
        // instead of an answer.
        if (auto tls = client_tls_failure(events)) f.failure = *tls;
        just_handshaken_ = fresh;
        return f;
    };
    buffer_.clear();
    ERR_clear_error();
    while (true) {
        const int rc = SSL_write(ssl_.get(), request.data(), static_cast<int>(request.size()));
        if (rc > 0) break;  // all of it: partial writes are not enabled
        const int error = SSL_get_error(ssl_.get(), rc);
        Wait waited = Wait::Failed;
        if (error == SSL_ERROR_WANT_WRITE) waited = wait_for(POLLOUT, deadline);
        if (error == SSL_ERROR_WANT_READ) waited = wait_for(POLLIN, deadline);
        if (waited == Wait::Ready) continue;
        if (waited == Wait::TimedOut)
            return fail({{ConnectionFailureKind::TimedOut, within + "while sending the request", ""}, true});
        ERR_clear_error();
        return fail(broken("while sending the request", true));
    }
    just_handshaken_ = false;
    ExchangeFailure failure;
    AnswerHead head;
    std::size_t head_end = 0;
    while (true) {  // the head, skipping interim 1xx answers
        head_end = buffer_.find("\r\n\r\n");
        if (head_end == std::string::npos) {
            if (buffer_.size() > kMaxHeadBytes)
                return fail(broken("the answer's header is too large", false));
            if (read_more(deadline, within, failure) != Read::Data) return fail(failure);
            continue;
        }
        head = AnswerHead{};
        if (auto bad = parse_answer_head(std::string_view(buffer_).substr(0, head_end + 2), head))
            return fail(broken("(" + *bad + ")", false));
        buffer_.erase(0, head_end + 4);
        if (head.response.status >= 200) break;
    }
    const int status = head.response.status;
    const bool no_body = status == 204 || status == 304;
    if (!no_body && head.chunked) {
        while (true) {
            auto decoded = decode_chunked(buffer_);
            if (auto* bad = std::get_if<std::string>(&decoded)) return fail(broken("(" + *bad + ")", false));
            if (auto* done = std::get_if<std::pair<std::string, std::size_t>>(&decoded)) {
                head.response.body = std::move(done->first);
                buffer_.erase(0, done->second);
                break;
            }
            if (read_more(deadline, within, failure) != Read::Data) return fail(failure);
        }
    } else if (!no_body && head.content_length) {
        while (buffer_.size() < *head.content_length) {
            if (read_more(deadline, within, failure) != Read::Data) return fail(failure);
        }
        head.response.body = buffer_.substr(0, *head.content_length);
        buffer_.erase(0, *head.content_length);
    } else if (!no_body) {  // delimited by the end of the connection
        Read read = Read::Data;
        while ((read = read_more(deadline, within, failure)) == Read::Data) {
            if (buffer_.size() > kMaxBodyBytes)
                return fail(broken("(the answer's body is too large)", false));
        }
        if (read == Read::Failed) return fail(failure);
        head.response.body = std::move(buffer_);
        buffer_.clear();
        head.close = true;
    }
    if (head.close) close();
    return std::move(head.response);
}

std::string serialize_request(const mapping::HttpRequest& request, const std::string& host_header) {
    std::string out;
    out.reserve(256 + request.body.size());
    out += request.method + " " + request.path + " HTTP/1.1\r\nHost: " + host_header + "\r\n";
    bool has_accept = false;
    for (const auto& h : request.headers) {
        if (mapping::header_name_equals(h.name, "Content-Length") ||
            mapping::header_name_equals(h.name, "Host") || mapping::header_name_equals(h.name, "Connection"))
            continue;
        has_accept = has_accept || mapping::header_name_equals(h.name, "Accept");
        out += h.name + ": " + h.value + "\r\n";
    }
    if (!has_accept) out += "Accept: */*\r\n";
    out += "User-Agent: estgw\r\n";
    if (request.method != "GET" || !request.body.empty())
        out += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
    out += "\r\n";
    out += request.body;
    return out;
}

}  // namespace estgw::gateway
