#include "gateway/upstream_connection.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "common/tls_events.hpp"

namespace estgw::gateway {

namespace {

// An answer's head larger than this is refused (nginx's default large_client_header_buffers is 4 × 8 KB).
constexpr std::size_t kMaxHeadBytes = 64 * 1024;
// EST answers are certificates and keys; anything near this is not one.
constexpr std::size_t kMaxBodyBytes = 16 * 1024 * 1024;

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

// The parts of an answer's head that decide how its body ends and whether the connection stays.
struct Head {
    mapping::HttpResponse response;
    bool http10 = false;
    std::optional<std::size_t> content_length;
    bool chunked = false;
    bool close = false;
};

std::optional<std::string> parse_head(std::string_view text, Head& head) {
    std::size_t line_end = text.find("\r\n");
    std::string_view status_line = text.substr(0, line_end);
    if (status_line.substr(0, 7) != "HTTP/1." || status_line.size() < 12 || status_line[8] != ' ')
        return "the answer does not start with an HTTP/1.x status line";
    head.http10 = status_line[7] == '0';
    int status = 0;
    auto [end, ec] = std::from_chars(status_line.data() + 9, status_line.data() + 12, status);
    if (ec != std::errc{} || end != status_line.data() + 12 || status < 100 || status > 999)
        return "the answer's status line has no valid status code";
    head.response.status = status;
    std::string_view rest =
        line_end == std::string_view::npos ? std::string_view{} : text.substr(line_end + 2);
    while (!rest.empty()) {
        std::size_t eol = rest.find("\r\n");
        std::string_view line = rest.substr(0, eol);
        rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 2);
        if (line.empty()) continue;
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) return "the answer has a malformed header line";
        std::string name(trim(line.substr(0, colon)));
        std::string value(trim(line.substr(colon + 1)));
        const std::string key = lower(name);
        if (key == "content-length") {
            std::size_t length = 0;
            auto [e, err] = std::from_chars(value.data(), value.data() + value.size(), length);
            if (err != std::errc{} || e != value.data() + value.size() ||
                (head.content_length && *head.content_length != length))
                return "the answer has an invalid Content-Length";
            head.content_length = length;
        } else if (key == "transfer-encoding") {
            head.chunked = lower(value).find("chunked") != std::string::npos;
        } else if (key == "connection") {
            const std::string v = lower(value);
            if (v.find("close") != std::string::npos) head.close = true;
            if (head.http10 && v.find("keep-alive") == std::string::npos) head.close = true;
        }
        head.response.headers.push_back({std::move(name), std::move(value)});
    }
    if (head.http10 && !mapping::find_header(head.response.headers, "Connection")) head.close = true;
    if (head.content_length && *head.content_length > kMaxBodyBytes) return "the answer's body is too large";
    return std::nullopt;
}

// Decodes a chunked body from `data`. Nullopt while incomplete; an error string when malformed. `used` is
// how many bytes of `data` the body took, trailers included.
std::variant<std::monostate, std::string, std::pair<std::string, std::size_t>> decode_chunked(
    std::string_view data) {
    std::string body;
    std::size_t at = 0;
    while (true) {
        std::size_t eol = data.find("\r\n", at);
        if (eol == std::string_view::npos) return std::monostate{};
        std::string_view size_line = data.substr(at, eol - at);
        size_line = size_line.substr(0, size_line.find(';'));
        size_line = trim(size_line);
        std::size_t size = 0;
        auto [end, ec] = std::from_chars(size_line.data(), size_line.data() + size_line.size(), size, 16);
        if (ec != std::errc{} || end != size_line.data() + size_line.size() || size > kMaxBodyBytes)
            return std::string("the answer has a malformed chunk size");
        at = eol + 2;
        if (size == 0) {
            // Trailers, up to an empty line.
            while (true) {
                std::size_t line_end = data.find("\r\n", at);
                if (line_end == std::string_view::npos) return std::monostate{};
                const bool empty = line_end == at;
                at = line_end + 2;
                if (empty) return std::pair{std::move(body), at};
            }
        }
        if (data.size() < at + size + 2) return std::monostate{};
        body.append(data.substr(at, size));
        if (data.substr(at + size, 2) != "\r\n") return std::string("the answer has a malformed chunk");
        at += size + 2;
        if (body.size() > kMaxBodyBytes) return std::string("the answer's body is too large");
    }
}

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
        SSL_set_quiet_shutdown(ssl_.get(),
                               1);  // no close_notify: nothing waits on it, and the peer may be gone
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
    Head head;
    std::size_t head_end = 0;
    while (true) {  // the head, skipping interim 1xx answers
        head_end = buffer_.find("\r\n\r\n");
        if (head_end == std::string::npos) {
            if (buffer_.size() > kMaxHeadBytes)
                return fail(broken("the answer's header is too large", false));
            if (read_more(deadline, within, failure) != Read::Data) return fail(failure);
            continue;
        }
        head = Head{};
        if (auto bad = parse_head(std::string_view(buffer_).substr(0, head_end + 2), head))
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
