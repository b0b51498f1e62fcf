#include "gateway/upstream_client.hpp"

#include <httplib.h>

#include <strings.h>

#include <charconv>

#include "common/log.hpp"

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

UpstreamClient::UpstreamClient(UpstreamClientConfig config) : config_(std::move(config)) {}

UpstreamClient::~UpstreamClient() = default;

std::unique_ptr<httplib::SSLClient> UpstreamClient::acquire(bool& reused) {
    {
        std::lock_guard lock(mutex_);
        auto now = std::chrono::steady_clock::now();
        while (!idle_.empty()) {
            Idle idle = std::move(idle_.back());
            idle_.pop_back();
            if (now - idle.since < config_.max_idle_age) {
                reused = true;
                return std::move(idle.client);
            }
        }
    }
    reused = false;
    return connect();
}

std::unique_ptr<httplib::SSLClient> UpstreamClient::connect() const {
    auto c = std::make_unique<httplib::SSLClient>(config_.url.host, config_.url.port, config_.cert_file,
                                                  config_.key_file);
    c->set_ca_cert_path(config_.ca_file.c_str());
    c->enable_server_certificate_verification(true);
    // Without TCP_NODELAY each keep-alive request waits ~40-80 ms for delayed ACKs (PLATFORM-NOTES).
    c->set_tcp_nodelay(true);
    c->set_keep_alive(true);
    c->set_follow_location(false);  // redirects are followed here, same-origin only
    auto t = static_cast<time_t>(config_.timeout.count());
    c->set_connection_timeout(t, 0);
    c->set_read_timeout(t, 0);
    c->set_write_timeout(t, 0);
    return c;
}

void UpstreamClient::release(std::unique_ptr<httplib::SSLClient> client) {
    std::lock_guard lock(mutex_);
    if (idle_.size() < config_.max_idle_connections) {
        idle_.push_back(Idle{std::move(client), std::chrono::steady_clock::now()});
    }
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
    httplib::Result res = request.method == "GET" ? client.Get(request.path.c_str(), headers)
                                                  : client.Post(request.path.c_str(), headers, request.body,
                                                                content_type.c_str());
    UpstreamReply reply;
    if (!res) {
        write_failed = res.error() == httplib::Error::Write;
        reply.failure = classify(res.error(), std::chrono::steady_clock::now() - started, config_.timeout);
        reply.detail = "upstream " + config_.url.host + ":" + std::to_string(config_.url.port) + ": " +
                       httplib::to_string(res.error());
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
    auto client = acquire(reused);
    mapping::HttpRequest current = request;
    UpstreamReply reply;
    for (int hop = 0; hop <= 3; ++hop) {
        bool write_failed = false;
        reply = call_once(*client, current, write_failed);
        if (reply.failure != UpstreamFailure::None && write_failed && reused) {
            // The server closed the idle connection under us. The request was not sent whole, so sending it
            // again on a fresh connection cannot enroll twice.
            log::debug("upstream-stale-connection", {{"path", current.path}});
            client = connect();
            reused = false;
            reply = call_once(*client, current, write_failed);
        }
        if (reply.failure != UpstreamFailure::None) {
            return reply;  // the connection is in an unknown state: do not put it back
        }
        int status = reply.response.status;
        if (status < 300 || status > 399 || status == 304) break;
        auto location = reply.response.header("Location");
        std::string path = location ? same_origin_path(*location, config_.url) : std::string{};
        if (path.empty()) break;  // cross-origin or missing Location: mapped to 5.02 by mapping/
        log::debug("upstream-redirect", {{"from", current.path}, {"to", path}, {"status", status}});
        current.path = path;
    }
    release(std::move(client));
    return reply;
}

}  // namespace estgw::gateway
