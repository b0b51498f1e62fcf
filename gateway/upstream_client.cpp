#include "gateway/upstream_client.hpp"

#include <httplib.h>

#include <strings.h>

#include <algorithm>
#include <charconv>

#include "common/log.hpp"
#include "common/openssl.hpp"
#include "common/pem_file.hpp"
#include "common/x509.hpp"

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

namespace {

// Why OpenSSL refused the upstream's certificate in the handshake that just ran on this thread (cpp-httplib
// reports only "SSLConnection"), for the log line an operator reads.
thread_local std::string t_verify_failure;

int record_verify_failure(int ok, X509_STORE_CTX* store) {
    if (!ok) {
        t_verify_failure = X509_verify_cert_error_string(X509_STORE_CTX_get_error(store));
        if (X509* cert = X509_STORE_CTX_get_current_cert(store))
            t_verify_failure += " (" + name_to_string(X509_get_subject_name(cert)) + ")";
    }
    return ok;
}

}  // namespace

UpstreamClient::UpstreamClient(Passkey, UpstreamClientConfig config) : config_(std::move(config)) {}

UpstreamClient::~UpstreamClient() = default;

Result<std::unique_ptr<UpstreamClient>> UpstreamClient::create(UpstreamClientConfig config) {
    auto named = [](std::string_view option, const Error& e) {
        return make_error(Status::BadRequest, "--" + std::string(option) + ": " + e.message);
    };
    std::vector<X509Ptr> chain;  // none: no TLS client certificate (HTTP Basic alone)
    EvpPkeyPtr key;
    if (!config.cert_file.empty()) {
        auto certificates = load_certificates(config.cert_file);
        if (!certificates) return named("upstream-cert", certificates.error());
        auto loaded = load_private_key(config.key_file);
        if (!loaded) return named("upstream-key", loaded.error());
        if (auto matches = check_key_matches(certificates->front().get(), loaded->get()); !matches)
            return named("upstream-key", matches.error());
        chain = std::move(*certificates);
        key = std::move(*loaded);
    }
    auto anchors = load_certificates(config.ca_file);
    if (!anchors) return named("upstream-ca", anchors.error());
    X509StorePtr trust(X509_STORE_new());
    if (!trust) return make_error(Status::Internal, "out of memory");
    for (const auto& anchor : *anchors) {
        if (X509_STORE_add_cert(trust.get(), anchor.get()) != 1) {
            return openssl_error(Status::BadRequest, "--upstream-ca", "cannot add a trust anchor");
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
    const auto t = static_cast<time_t>(config_.timeout.count());
    for (std::size_t i = 0; i < std::max<std::size_t>(config_.max_connections, 1); ++i) {
        auto client = std::make_unique<httplib::SSLClient>(host, config_.url.port);
        SSL_CTX* ctx = client->ssl_context();
        if (!ctx) return make_error(Status::Internal, "cannot create a TLS context for the upstream");
        X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
        const bool name_set = ip_literal ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1
                                         : X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0) == 1;
        const bool identity_set =
            chain.empty() || SSL_CTX_use_cert_and_key(ctx, chain.front().get(), const_cast<EVP_PKEY*>(key),
                                                      extra.get(), 1) == 1;
        if (!identity_set || !name_set || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
            return openssl_error(Status::BadRequest, "the upstream TLS context", "set-up failed");
        }
        SSL_CTX_set1_cert_store(ctx, trust);  // shared: each context holds a reference
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, record_verify_failure);
        client->enable_server_certificate_verification(false);  // OpenSSL verifies, see above
        // Without TCP_NODELAY each keep-alive request waits ~40-80 ms for delayed ACKs (PLATFORM-NOTES).
        client->set_tcp_nodelay(true);
        client->set_keep_alive(true);
        client->set_follow_location(false);  // redirects are followed here, same-origin only
        client->set_connection_timeout(t, 0);
        client->set_read_timeout(t, 0);
        client->set_write_timeout(t, 0);
        idle_.push_back(Slot{std::move(client), {}});
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
    slot.last_used = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mutex_);
        idle_.push_back(std::move(slot));
    }
    slot_freed_.notify_one();
}

namespace {

UpstreamFailure classify(httplib::Error e, std::chrono::steady_clock::duration elapsed,
                         std::chrono::seconds limit) {
    switch (e) {
        case httplib::Error::ConnectionTimeout:
            return UpstreamFailure::Timeout;
        case httplib::Error::Connection:
        case httplib::Error::BindIPAddress:
            return UpstreamFailure::Connect;
        case httplib::Error::SSLConnection:
        case httplib::Error::SSLLoadingCerts:
        case httplib::Error::SSLServerVerification:
            return UpstreamFailure::Tls;
        case httplib::Error::Read:
            // cpp-httplib 0.11 reports a read timeout as a plain read error; the clock tells them apart.
            return elapsed + std::chrono::milliseconds(200) >= limit ? UpstreamFailure::Timeout
                                                                     : UpstreamFailure::Io;
        default:
            return UpstreamFailure::Io;
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
                                        bool& write_failed) {
    httplib::Headers headers;
    std::string content_type;
    for (const auto& h : request.headers) {
        if (strcasecmp(h.name.c_str(), "Content-Type") == 0) {
            content_type = h.value;
        } else {
            headers.emplace(h.name, h.value);
        }
    }
    auto started = std::chrono::steady_clock::now();
    t_verify_failure.clear();
    httplib::Result res = request.method == "GET" ? client.Get(request.path.c_str(), headers)
                                                  : client.Post(request.path.c_str(), headers, request.body,
                                                                content_type.c_str());
    UpstreamReply reply;
    if (!res) {
        write_failed = res.error() == httplib::Error::Write;
        reply.failure = classify(res.error(), std::chrono::steady_clock::now() - started, config_.timeout);
        reply.detail = "upstream " + config_.url.host + ":" + std::to_string(config_.url.port) + ": " +
                       httplib::to_string(res.error());
        // The handshake ran on this thread: the verification callback or OpenSSL's queue says why it failed.
        std::string why = openssl_errors();
        if (!t_verify_failure.empty()) why = "certificate verify failed: " + t_verify_failure;
        if (reply.failure == UpstreamFailure::Tls && !why.empty()) reply.detail += " (" + why + ")";
        return reply;
    }
    reply.response.status = res->status;
    for (const auto& [name, value] : res->headers)
        reply.response.headers.push_back({name, value});
    reply.response.body = std::move(res->body);
    return reply;
}

UpstreamReply UpstreamClient::call(const mapping::HttpRequest& request) {
    bool reused = false;
    Slot slot = acquire(reused);
    mapping::HttpRequest current = request;
    UpstreamReply reply;
    for (int hop = 0; hop <= 3; ++hop) {
        bool write_failed = false;
        reply = call_once(*slot.client, current, write_failed);
        if (reply.failure != UpstreamFailure::None && write_failed && reused) {
            // The server closed the idle connection under us. The request was not sent whole, so sending it
            // again on a fresh connection cannot enroll twice.
            log::debug("upstream-stale-connection", {{"path", current.path}});
            slot.client->stop();
            reused = false;
            reply = call_once(*slot.client, current, write_failed);
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

}  // namespace estgw::gateway
