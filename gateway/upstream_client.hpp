// HTTPS connections to the RFC 7030 upstream: a pool of cpp-httplib SSLClients with keep-alive, TCP_NODELAY,
// mutual TLS and timeouts, so that a request normally costs no TLS handshake (DESIGN.md "Backends").
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "mapping/http_message.hpp"

namespace httplib {
class SSLClient;
}

namespace estgw::gateway {

struct HttpsUrl {
    std::string host;  // without brackets for IPv6
    int port = 443;
    std::string path_prefix;  // "" or "/prefix" without trailing '/'
};
// https://host[:port][/prefix]; IPv6 literals in brackets. Anything else is an error naming the problem.
Result<HttpsUrl> parse_https_url(std::string_view url);

struct UpstreamClientConfig {
    HttpsUrl url;
    std::string ca_file;    // trust for the upstream's certificate; its host name is verified
    std::string cert_file;  // our RA identity (PEM, chain allowed)
    std::string key_file;
    std::chrono::seconds timeout{30};
    std::size_t max_idle_connections = 8;
    // Idle connections older than this are not reused: servers close keep-alive connections after a few
    // seconds (cpp-httplib and Apache after 5), and a write on a half-closed connection fails.
    std::chrono::milliseconds max_idle_age{4000};
};

// How a call ended when no HTTP response came back.
enum class UpstreamFailure { None, Connect, Tls, Timeout, Io };

struct UpstreamReply {
    UpstreamFailure failure = UpstreamFailure::None;
    mapping::HttpResponse response;  // valid when failure == None
    std::string detail;              // what went wrong, for diagnostics and logs
};

class UpstreamClient {
  public:
    explicit UpstreamClient(UpstreamClientConfig config);
    ~UpstreamClient();
    UpstreamClient(const UpstreamClient&) = delete;
    UpstreamClient& operator=(const UpstreamClient&) = delete;

    // Blocking; call from worker threads only. Thread-safe: each call borrows its own connection.
    // Same-origin redirects are followed (RFC 7030 §3.2.1), up to three.
    UpstreamReply call(const mapping::HttpRequest& request);

    const UpstreamClientConfig& config() const { return config_; }

  private:
    struct Idle {
        std::unique_ptr<httplib::SSLClient> client;
        std::chrono::steady_clock::time_point since;
    };
    std::unique_ptr<httplib::SSLClient> acquire(bool& reused);
    std::unique_ptr<httplib::SSLClient> connect() const;
    void release(std::unique_ptr<httplib::SSLClient> client);
    UpstreamReply call_once(httplib::SSLClient& client, const mapping::HttpRequest& request,
                            bool& write_failed);

    UpstreamClientConfig config_;
    std::mutex mutex_;
    std::vector<Idle> idle_;
};

}  // namespace estgw::gateway
