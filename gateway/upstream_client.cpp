#include "gateway/upstream_client.hpp"

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

UpstreamClient::UpstreamClient(Passkey, UpstreamClientConfig config) : config_(std::move(config)) {
    const std::string& host = config_.url.host;
    host_header_ = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if (config_.url.port != 443) host_header_ += ":" + std::to_string(config_.url.port);
    const std::size_t slots = std::max<std::size_t>(config_.max_connections, 1);
    allowed_ = slots;
    // Slots are cheap until used: a connection is opened when a request finds no idle one open.
    for (std::size_t i = 0; i < slots; ++i) {
        auto socket = std::make_shared<AbortableSocket>();
        sockets_.push_back(socket);
        idle_.push_back(Slot{std::make_unique<UpstreamConnection>(std::move(socket)), {}});
    }
}

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
    if (auto built = client->build_context(chain, key.get(), trust.get()); !built) return built.error();
    return client;
}

// The TLS context: our identity with its chain, the upstream's trust anchors, peer verification and the
// host name (or IP address) check done by OpenSSL during the handshake.
Result<void> UpstreamClient::build_context(const std::vector<X509Ptr>& chain, const EVP_PKEY* key,
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
    ctx_.reset(SSL_CTX_new(TLS_client_method()));
    if (!ctx_) return make_error(Status::Internal, "cannot create a TLS context for " + config_.names.peer);
    SSL_CTX* ctx = ctx_.get();
    X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
    const bool name_set = ip_literal ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1
                                     : X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0) == 1;
    const bool identity_set =
        chain.empty() ||
        SSL_CTX_use_cert_and_key(ctx, chain.front().get(), const_cast<EVP_PKEY*>(key), extra.get(), 1) == 1;
    if (!identity_set || !name_set || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        return openssl_error(Status::BadRequest, "the TLS context for " + config_.names.peer,
                             "set-up failed");
    }
    SSL_CTX_set1_cert_store(ctx, trust);  // the context holds a reference
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    // Recorded for the message when a handshake fails.
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, record_tls_verify);
    SSL_CTX_set_info_callback(ctx, record_tls_info);
    return {};
}

std::optional<UpstreamClient::Slot> UpstreamClient::acquire(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    const bool got = slot_freed_.wait_until(
        lock, deadline, [this] { return aborted_.load() || (!idle_.empty() && in_flight_ < allowed_); });
    if (!got || aborted_.load()) return std::nullopt;
    Slot slot = std::move(idle_.back());
    idle_.pop_back();
    ++in_flight_;
    return slot;
}

void UpstreamClient::release(Slot slot) {
    slot.last_used = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mutex_);
        idle_.push_back(std::move(slot));
        --in_flight_;
    }
    slot_freed_.notify_all();
}

std::size_t UpstreamClient::allowed_in_flight() const {
    std::lock_guard lock(mutex_);
    return allowed_;
}

// Multiplicative decrease on "overloaded", additive increase on anything else: a struggling upstream gets
// fewer requests at once until it answers normally again. Timeouts say nothing either way.
void UpstreamClient::adapt(const UpstreamReply& reply) {
    const bool overloaded = reply.failure == UpstreamFailure::Connect ||
                            (reply.failure == UpstreamFailure::None &&
                             (reply.response.status == 503 || reply.response.status == 429));
    const bool normal = reply.failure == UpstreamFailure::None && !overloaded;
    std::size_t before = 0, after = 0;
    {
        std::lock_guard lock(mutex_);
        before = allowed_;
        if (overloaded) allowed_ = std::max<std::size_t>(1, allowed_ / 2);
        if (normal) allowed_ = std::min(allowed_ + 1, std::max<std::size_t>(config_.max_connections, 1));
        after = allowed_;
    }
    if (after > before) slot_freed_.notify_all();
    if (after < before) {
        log::info("upstream-backing-off",
                  {{"in_flight_allowed", after},
                   {"reason", reply.failure == UpstreamFailure::None
                                  ? "the upstream answered " + std::to_string(reply.response.status)
                                  : std::string("the connection failed")}});
    }
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

// A failed connection is diagnosed with a second attempt of at most this long (see probe_tls_refusal).
constexpr std::chrono::milliseconds kDiagnosisLimit{2000};

PeerNaming naming(const UpstreamClientConfig& config) {
    const std::string& host = config.url.host;
    const std::string address = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    const UpstreamNames& names = config.names;
    return {names.peer + " " + address + ":" + std::to_string(config.url.port), names.address_option,
            names.trust_option, names.identity_option, names.timeout_option};
}

// A Location that names the same scheme, host and port (or is a path), as a path; empty otherwise.
std::string same_origin_path(const std::string& location, const HttpsUrl& origin) {
    if (!location.empty() && location.front() == '/') return location;
    auto url = parse_https_url(location);
    if (!url || url->host != origin.host || url->port != origin.port) return {};
    return url->path_prefix.empty() ? "/" : url->path_prefix;
}

}  // namespace

UpstreamReply UpstreamClient::call_once(Slot& slot, const mapping::HttpRequest& request,
                                        std::chrono::steady_clock::time_point deadline) {
    UpstreamConnection& connection = *slot.connection;
    const std::string within = "within " + std::to_string(config_.timeout.count()) + " s ";
    auto failed = [&](ConnectionFailure failure) {
        if (aborted_.load())
            return UpstreamReply{UpstreamFailure::Aborted, {}, "the gateway is shutting down"};
        return UpstreamReply{category(failure.kind), {}, describe(failure, naming(config_))};
    };
    if (deadline <= std::chrono::steady_clock::now()) {
        return failed({ConnectionFailureKind::TimedOut,
                       "within " + std::to_string(config_.timeout.count()) +
                           " s: the time ran out before the request could be sent",
                       ""});
    }
    bool reused = connection.is_open();
    if (reused && (std::chrono::steady_clock::now() - slot.last_used >= config_.max_idle_age ||
                   connection.closed_by_peer())) {
        connection.close();  // likely closed by the server by now: reconnect rather than fail a write
        reused = false;
    }
    const std::string bytes = serialize_request(request, host_header_);
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (!connection.is_open()) {
            if (auto failure =
                    connection.open(ctx_.get(), config_.url.host, config_.url.port, deadline, within))
                return failed(*failure);
        }
        auto exchanged = connection.exchange(bytes, deadline, within);
        if (auto* response = std::get_if<mapping::HttpResponse>(&exchanged))
            return UpstreamReply{UpstreamFailure::None, std::move(*response), ""};
        ExchangeFailure& failure = std::get<ExchangeFailure>(exchanged);
        if (reused && failure.nothing_received && failure.failure.kind == ConnectionFailureKind::Broken &&
            !aborted_.load()) {
            // The server closed the kept-alive connection as the request went out, before reading it (nothing
            // came back, not even a status line): it never saw the request, so it goes once more on a fresh
            // connection.
            log::debug("upstream-stale-connection", {{"path", request.path}});
            reused = false;
            continue;
        }
        if (connection.just_handshaken() && failure.failure.kind == ConnectionFailureKind::Broken &&
            !aborted_.load()) {
            // Right after a handshake, the likely cause is a TLS 1.3 refusal of our certificate that came
            // too late to be read: ask again, without a request.
            const auto limit = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              deadline - std::chrono::steady_clock::now()),
                                          std::chrono::milliseconds(100), kDiagnosisLimit);
            if (auto refusal = probe_tls_refusal(ctx_.get(), config_.url.host, config_.url.port, limit))
                failure.failure = *refusal;
        }
        return failed(failure.failure);
    }
    return failed({ConnectionFailureKind::Broken, "while sending the request", ""});
}

void UpstreamClient::abort_calls() {
    aborted_.store(true);
    for (const auto& socket : sockets_)
        socket->abort();
    std::lock_guard lock(mutex_);  // a waiter in acquire() sees the flag
    slot_freed_.notify_all();
}

UpstreamReply UpstreamClient::call(const mapping::HttpRequest& request,
                                   std::chrono::steady_clock::time_point deadline) {
    if (aborted_.load()) return UpstreamReply{UpstreamFailure::Aborted, {}, "the gateway is shutting down"};
    std::optional<Slot> slot = acquire(deadline);
    if (!slot) {
        if (aborted_.load())
            return UpstreamReply{UpstreamFailure::Aborted, {}, "the gateway is shutting down"};
        return UpstreamReply{UpstreamFailure::Timeout,
                             {},
                             describe({ConnectionFailureKind::TimedOut,
                                       "within " + std::to_string(config_.timeout.count()) +
                                           " s: every connection to it stayed busy",
                                       ""},
                                      naming(config_))};
    }
    mapping::HttpRequest current = request;
    UpstreamReply reply;
    for (int hop = 0; hop <= 3; ++hop) {
        reply = call_once(*slot, current, deadline);
        if (reply.failure != UpstreamFailure::None) break;
        int status = reply.response.status;
        if (status < 300 || status > 399 || status == 304) break;
        auto location = reply.response.header("Location");
        std::string path = location ? same_origin_path(*location, config_.url) : std::string{};
        if (path.empty()) break;  // cross-origin or missing Location: mapped to 5.02 by mapping/
        log::debug("upstream-redirect", {{"from", current.path}, {"to", path}, {"status", status}});
        current.path = path;
    }
    release(std::move(*slot));
    adapt(reply);
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
