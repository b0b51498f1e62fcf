#include "gateway/upstream_client.hpp"

#include <httplib.h>

#include <fcntl.h>
#include <strings.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>

#include "common/connection_failure.hpp"
#include "common/log.hpp"
#include "common/openssl.hpp"
#include "common/pem_file.hpp"
#include "common/tls_events.hpp"

namespace estgw::gateway {

Result<HttpsUrl> parse_https_url(std::string_view url) {
    constexpr std::string_view kScheme = "https://";
    if (url.substr(0, kScheme.size()) != kScheme) {
        return make_error(Status::BadRequest, "'" + std::string(url) + "' is not an https:// URL");
    }
    std::string_view rest = url.substr(kScheme.size());
    std::size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
    if (path.find_first_of("?#") != std::string_view::npos) {
        return make_error(Status::BadRequest, "the upstream URL may not carry a query or fragment");
    }
    while (!path.empty() && path.back() == '/')
        path.remove_suffix(1);
    if (authority.find('@') != std::string_view::npos) {
        return make_error(Status::BadRequest,
                          "put upstream credentials in --upstream-user/--upstream-password-file, "
                          "not in the URL");
    }
    HttpsUrl out;
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        std::size_t close = authority.find(']');
        if (close == std::string_view::npos)
            return make_error(Status::BadRequest, "unterminated IPv6 literal in URL");
        out.host = std::string(authority.substr(1, close - 1));
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return make_error(Status::BadRequest, "junk after IPv6 literal in URL");
            port = after.substr(1);
        }
    } else {
        std::size_t colon = authority.rfind(':');
        out.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    }
    if (out.host.empty()) return make_error(Status::BadRequest, "the upstream URL has no host");
    if (!port.empty() || authority.back() == ':') {
        int p = 0;
        auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
        if (ec != std::errc{} || end != port.data() + port.size() || p < 1 || p > 65535) {
            return make_error(Status::BadRequest, "bad port '" + std::string(port) + "' in the upstream URL");
        }
        out.port = p;
    }
    out.path_prefix = std::string(path);
    return out;
}

UpstreamClient::UpstreamClient(Passkey, UpstreamClientConfig config) : config_(std::move(config)) {}

UpstreamClient::~UpstreamClient() = default;

Result<std::unique_ptr<UpstreamClient>> UpstreamClient::create(UpstreamClientConfig config) {
    const UpstreamNames& names = config.names;
    auto named = [](const std::string& option, const Error& e) {
        return make_error(Status::BadRequest, option + ": " + e.message);
    };
    std::vector<X509Ptr> chain;  // none: no TLS client certificate (HTTP Basic alone)
    EvpPkeyPtr key;
    if (!config.cert_file.empty()) {
        auto certificates = load_certificates(config.cert_file);
        if (!certificates) return named(names.identity_option, certificates.error());
        auto loaded = load_private_key(config.key_file);
        if (!loaded) return named(names.key_option, loaded.error());
        if (auto matches = check_key_matches(certificates->front().get(), loaded->get()); !matches)
            return named(names.key_option, matches.error());
        chain = std::move(*certificates);
        key = std::move(*loaded);
    }
    X509StorePtr trust(X509_STORE_new());
    if (!trust) return make_error(Status::Internal, "out of memory");
    if (config.ca_file.empty()) {
        // The system's trust store, looked up by OpenSSL's default file and hashed directory.
        if (X509_STORE_set_default_paths(trust.get()) != 1) {
            return openssl_error(Status::BadRequest, names.trust_option,
                                 "cannot use the system's default trust store");
        }
    } else {
        auto anchors = load_certificates(config.ca_file);
        if (!anchors) return named(names.trust_option, anchors.error());
        for (const auto& anchor : *anchors) {
            if (X509_STORE_add_cert(trust.get(), anchor.get()) != 1) {
                return openssl_error(Status::BadRequest, names.trust_option, "cannot add a trust anchor");
            }
        }
    }
    auto client = std::make_unique<UpstreamClient>(Passkey{}, std::move(config));
    if (auto built = client->build_slots(chain, key.get(), trust.get()); !built) return built.error();
    return client;
}

// Each slot's TLS context: our identity with its chain (cpp-httplib would send only the leaf of a file), the
// upstream's trust anchors shared by reference, peer verification and the host name (or IP address) check
// done by OpenSSL during the handshake. cpp-httplib's own verification stays off: without a CA file it would
// add the system's default trust paths to the shared store.
Result<void> UpstreamClient::build_slots(const std::vector<X509Ptr>& chain, const EVP_PKEY* key,
                                         X509_STORE* trust) {
    X509StackPtr extra(sk_X509_new_null());
    if (!extra) return make_error(Status::Internal, "out of memory");
    for (std::size_t i = 1; i < chain.size(); ++i) {
        if (X509_up_ref(chain[i].get()) != 1 || sk_X509_push(extra.get(), chain[i].get()) <= 0)
            return make_error(Status::Internal, "out of memory");
    }
    const std::string& host = config_.url.host;
    const bool ip_literal =
        host.find_first_not_of("0123456789.") == std::string::npos || host.find(':') != std::string::npos;
    for (std::size_t i = 0; i < std::max<std::size_t>(config_.max_connections, 1); ++i) {
        auto client = std::make_unique<httplib::SSLClient>(host, config_.url.port);
        SSL_CTX* ctx = client->ssl_context();
        if (!ctx)
            return make_error(Status::Internal, "cannot create a TLS context for " + config_.names.peer);
        X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
        const bool name_set = ip_literal ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1
                                         : X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0) == 1;
        const bool identity_set =
            chain.empty() || SSL_CTX_use_cert_and_key(ctx, chain.front().get(), const_cast<EVP_PKEY*>(key),
                                                      extra.get(), 1) == 1;
        if (!identity_set || !name_set || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
            return openssl_error(Status::BadRequest, "the TLS context for " + config_.names.peer,
                                 "set-up failed");
        }
        SSL_CTX_set1_cert_store(ctx, trust);  // shared: each context holds a reference
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        // Recorded for the message when a handshake fails (cpp-httplib reports only that it failed).
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, record_tls_verify);
        SSL_CTX_set_info_callback(ctx, record_tls_info);
        client->enable_server_certificate_verification(false);  // OpenSSL verifies, see above
        // Without TCP_NODELAY each keep-alive request waits ~40-80 ms for delayed ACKs (PLATFORM-NOTES).
        client->set_tcp_nodelay(true);
        client->set_keep_alive(true);
        client->set_follow_location(false);  // redirects are followed here, same-origin only
        // The timeouts are set before each call, from the request's deadline (call_once).
        auto socket = std::make_shared<SocketHandle>();
        client->set_socket_options([this, socket](socket_t fd) {
            std::lock_guard lock(socket->mutex);
            socket->duplicate = FileDescriptor(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
            // Shut down before it connects, the socket still fails every send and read at once (Linux keeps
            // the shutdown through connect()): a call that raced abort_calls() ends too.
            if (aborted_.load()) ::shutdown(fd, SHUT_RDWR);
        });
        sockets_.push_back(socket);
        idle_.push_back(Slot{std::move(client), std::move(socket), {}});
    }
    return {};
}

UpstreamClient::Slot UpstreamClient::acquire(bool& reused) {
    std::unique_lock lock(mutex_);
    slot_freed_.wait(lock, [this] { return !idle_.empty(); });
    Slot slot = std::move(idle_.back());
    idle_.pop_back();
    lock.unlock();
    reused = slot.client->is_socket_open() != 0;
    if (reused && std::chrono::steady_clock::now() - slot.last_used >= config_.max_idle_age) {
        slot.client->stop();  // likely closed by the server by now: reconnect rather than fail a write
        reused = false;
    }
    return slot;
}

void UpstreamClient::release(Slot slot, bool healthy) {
    // After a failure the connection is in an unknown state: the slot reconnects on its next use.
    if (!healthy) slot.client->stop();
    if (!slot.client->is_socket_open()) {
        // Our duplicate would keep a closed connection's socket alive (a connect still retrying, say).
        std::lock_guard lock(slot.socket->mutex);
        slot.socket->duplicate = FileDescriptor(-1);
    }
    slot.last_used = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mutex_);
        idle_.push_back(std::move(slot));
    }
    slot_freed_.notify_one();
}

namespace {

UpstreamFailure category(ConnectionFailureKind kind) {
    switch (kind) {
        case ConnectionFailureKind::TimedOut:
            return UpstreamFailure::Timeout;
        case ConnectionFailureKind::NameNotResolved:
        case ConnectionFailureKind::Refused:
        case ConnectionFailureKind::Unreachable:
            return UpstreamFailure::Connect;
        case ConnectionFailureKind::PeerCertificateRejected:
        case ConnectionFailureKind::OurCertificateRefused:
        case ConnectionFailureKind::CertificateRequired:
        case ConnectionFailureKind::HandshakeFailed:
            return UpstreamFailure::Tls;
        case ConnectionFailureKind::Broken:
            break;
    }
    return UpstreamFailure::Io;
}

// cpp-httplib's timeouts, as seconds and microseconds, for the `left` of a deadline.
void set_timeouts(httplib::SSLClient& client, std::chrono::steady_clock::duration left) {
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(left);
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(left - seconds);
    const auto s = static_cast<time_t>(seconds.count());
    const auto us = static_cast<time_t>(micros.count());
    client.set_connection_timeout(s, us);  // also every wait of the TLS handshake (cpp-httplib 0.11)
    client.set_read_timeout(s, us);
    client.set_write_timeout(s, us);
}

// A failed connection is diagnosed with a second attempt of at most this long (see diagnose_tcp_connect).
constexpr std::chrono::milliseconds kDiagnosisLimit{2000};

PeerNaming naming(const UpstreamClientConfig& config) {
    const std::string& host = config.url.host;
    const std::string address = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    const UpstreamNames& names = config.names;
    return {names.peer + " " + address + ":" + std::to_string(config.url.port), names.address_option,
            names.trust_option, names.identity_option, names.timeout_option};
}

// The handshake ran on this thread: what OpenSSL saw there explains a TLS failure best, whatever cpp-httplib
// calls it (a TLS 1.3 server refuses our certificate after our side of the handshake is done: "Read").
ConnectionFailure explain(httplib::Error error, std::chrono::steady_clock::time_point deadline,
                          const UpstreamClientConfig& config, SSL_CTX* ctx) {
    const TlsEvents events = take_tls_events();
    if (auto tls = client_tls_failure(events)) return *tls;
    const auto now = std::chrono::steady_clock::now();
    // A diagnosis may outlast the deadline a little: the front has answered by then, and this is for the log.
    const auto diagnosis_limit =
        std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now),
                   std::chrono::milliseconds(100), kDiagnosisLimit);
    // cpp-httplib 0.11 reports a timeout in the handshake or in reading as a plain failure; the clock tells.
    const bool ran_out = now + std::chrono::milliseconds(200) >= deadline;
    const std::string within = "within " + std::to_string(config.timeout.count()) + " s ";
    switch (error) {
        case httplib::Error::ConnectionTimeout:
            return {ConnectionFailureKind::TimedOut, within + "while connecting", ""};
        case httplib::Error::Connection:
            return diagnose_tcp_connect(config.url.host, config.url.port, diagnosis_limit);
        case httplib::Error::SSLConnection: {
            if (ran_out) return {ConnectionFailureKind::TimedOut, within + "in the TLS handshake", ""};
            std::string why = openssl_errors();
            return {ConnectionFailureKind::HandshakeFailed, why.empty() ? "no reason given" : why, ""};
        }
        case httplib::Error::Read:
        case httplib::Error::Write: {
            const bool reading = error == httplib::Error::Read;
            if (reading && ran_out)
                return {ConnectionFailureKind::TimedOut, within + "waiting for the answer", ""};
            // Right after a handshake, the likely cause is a TLS 1.3 refusal of our certificate that came
            // too late to be read: ask again, without a request.
            if (events.handshake_done) {
                if (auto refusal = probe_tls_refusal(ctx, config.url.host, config.url.port, diagnosis_limit))
                    return *refusal;
            }
            return {ConnectionFailureKind::Broken,
                    reading ? "while reading the answer" : "while sending the request", ""};
        }
        default:
            return {ConnectionFailureKind::Broken, "(" + httplib::to_string(error) + ")", ""};
    }
}

// A Location that names the same scheme, host and port (or is a path), as a path; empty otherwise.
std::string same_origin_path(const std::string& location, const HttpsUrl& origin) {
    if (!location.empty() && location.front() == '/') return location;
    auto url = parse_https_url(location);
    if (!url || url->host != origin.host || url->port != origin.port) return {};
    return url->path_prefix.empty() ? "/" : url->path_prefix;
}

}  // namespace

UpstreamReply UpstreamClient::call_once(httplib::SSLClient& client, const mapping::HttpRequest& request,
                                        std::chrono::steady_clock::time_point deadline, bool& write_failed) {
    UpstreamReply reply;
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) {
        reply.failure = UpstreamFailure::Timeout;
        reply.detail = describe({ConnectionFailureKind::TimedOut,
                                 "within " + std::to_string(config_.timeout.count()) +
                                     " s: the time ran out before the request could be sent",
                                 ""},
                                naming(config_));
        return reply;
    }
    set_timeouts(client, left);
    httplib::Headers headers;
    std::string content_type;
    for (const auto& h : request.headers) {
        if (strcasecmp(h.name.c_str(), "Content-Type") == 0) {
            content_type = h.value;
        } else {
            headers.emplace(h.name, h.value);
        }
    }
    take_tls_events();  // what earlier connections of this thread left
    httplib::Result res = request.method == "GET" ? client.Get(request.path.c_str(), headers)
                                                  : client.Post(request.path.c_str(), headers, request.body,
                                                                content_type.c_str());
    if (!res && aborted_.load()) {
        take_tls_events();
        reply.failure = UpstreamFailure::Aborted;
        reply.detail = "the gateway is shutting down";
        return reply;
    }
    if (!res) {
        write_failed = res.error() == httplib::Error::Write;
        ConnectionFailure failure = explain(res.error(), deadline, config_, client.ssl_context());
        reply.failure = category(failure.kind);
        reply.detail = describe(failure, naming(config_));
        return reply;
    }
    reply.response.status = res->status;
    for (const auto& [name, value] : res->headers)
        reply.response.headers.push_back({name, value});
    reply.response.body = std::move(res->body);
    return reply;
}

void UpstreamClient::abort_calls() {
    aborted_.store(true);
    for (const auto& socket : sockets_) {
        std::lock_guard lock(socket->mutex);
        if (socket->duplicate.get() >= 0) ::shutdown(socket->duplicate.get(), SHUT_RDWR);
    }
}

UpstreamReply UpstreamClient::call(const mapping::HttpRequest& request,
                                   std::chrono::steady_clock::time_point deadline) {
    if (aborted_.load()) return UpstreamReply{UpstreamFailure::Aborted, {}, "the gateway is shutting down"};
    bool reused = false;
    Slot slot = acquire(reused);
    mapping::HttpRequest current = request;
    UpstreamReply reply;
    for (int hop = 0; hop <= 3; ++hop) {
        bool write_failed = false;
        reply = call_once(*slot.client, current, deadline, write_failed);
        if (reply.failure != UpstreamFailure::None && write_failed && reused) {
            // The server closed the idle connection under us. The request was not sent whole, so sending it
            // again on a fresh connection cannot enroll twice.
            log::debug("upstream-stale-connection", {{"path", current.path}});
            slot.client->stop();
            reused = false;
            reply = call_once(*slot.client, current, deadline, write_failed);
        }
        if (reply.failure != UpstreamFailure::None) break;
        int status = reply.response.status;
        if (status < 300 || status > 399 || status == 304) break;
        auto location = reply.response.header("Location");
        std::string path = location ? same_origin_path(*location, config_.url) : std::string{};
        if (path.empty()) break;  // cross-origin or missing Location: mapped to 5.02 by mapping/
        log::debug("upstream-redirect", {{"from", current.path}, {"to", path}, {"status", status}});
        current.path = path;
    }
    release(std::move(slot), reply.failure == UpstreamFailure::None);
    return reply;
}

const char* upstream_failure_name(UpstreamFailure failure) {
    switch (failure) {
        case UpstreamFailure::None:
            return "none";
        case UpstreamFailure::Connect:
            return "connect";
        case UpstreamFailure::Tls:
            return "tls";
        case UpstreamFailure::Timeout:
            return "timeout";
        case UpstreamFailure::Io:
            return "io";
        case UpstreamFailure::Aborted:
            return "aborted";
    }
    return "io";
}

}  // namespace estgw::gateway
