// HTTPS connections to the RFC 7030 upstream: a pool of kept-alive connections (upstream_connection.hpp) with
// mutual TLS and deadlines, so that a request normally costs no TLS handshake (DESIGN.md "Backends"), and
// that backs off when the upstream says it is overloaded.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/openssl.hpp"
#include "common/result.hpp"
#include "gateway/upstream_connection.hpp"
#include "mapping/http_message.hpp"

namespace estgw::gateway {

struct HttpsUrl {
    std::string host;  // without brackets for IPv6
    int port = 443;
    std::string path_prefix;  // "" or "/prefix" without trailing '/'
};
// https://host[:port][/prefix]; IPv6 literals in brackets. Anything else is an error naming the problem.
Result<HttpsUrl> parse_https_url(std::string_view url);

// How messages name the peer and the options that configure the connection to it: the RFC 7030 upstream in
// gateway mode, a MASA in server mode (masa_client.hpp).
struct UpstreamNames {
    std::string peer = "the upstream";
    std::string address_option = "--upstream";
    std::string trust_option = "--upstream-ca";
    std::string identity_option = "--upstream-cert";
    std::string key_option = "--upstream-key";
    std::string timeout_option = "--upstream-timeout";
};

struct UpstreamClientConfig {
    HttpsUrl url;
    // Trust for the upstream's certificate; its host name is verified. Empty: the system's default trust
    // store (OpenSSL's default paths), for MASAs on the public Internet.
    std::string ca_file;
    std::string cert_file;  // our RA identity (PEM, the chain after the leaf is sent too)
    std::string key_file;
    std::chrono::seconds timeout{30};  // each request's, from its arrival (the front's RequestTicket)
    // Requests in flight at once, each on its own connection (--upstream-connections). Connections are
    // opened when a request finds none idle, and kept alive for the next.
    std::size_t max_connections = 8;
    // Idle connections older than this are not reused: servers close keep-alive connections after a few
    // seconds (cpp-httplib and Apache after 5), and a write on a half-closed connection fails.
    std::chrono::milliseconds max_idle_age{4000};
    UpstreamNames names;
};

// How a call ended when no HTTP response came back. Aborted: by abort_calls(), at shutdown.
enum class UpstreamFailure { None, Connect, Tls, Timeout, Io, Aborted };
// "none", "connect", "tls", "timeout", "io", "aborted": the spelling of logs and metric labels.
const char* upstream_failure_name(UpstreamFailure failure);

struct UpstreamReply {
    UpstreamFailure failure = UpstreamFailure::None;
    mapping::HttpResponse response;  // valid when failure == None
    std::string detail;              // what went wrong, for diagnostics and logs
};

// The certificates, key and trust anchors are read once, by create(), into one TLS context that every
// connection shares.
//
// The upstream's own limits are respected (README "Gateway mode"): the gateway never repeats a request by
// itself, and each 503 or 429 from the upstream, or a refused connection, halves the number of requests it
// lets in flight (down to one); each answer of any other kind lets one more through again, up to
// max_connections. The others wait for their turn within their own deadline.
class UpstreamClient {
  public:
    // Errors name the file and say what is wrong with it (Status::BadRequest).
    static Result<std::unique_ptr<UpstreamClient>> create(UpstreamClientConfig config);
    ~UpstreamClient();
    UpstreamClient(const UpstreamClient&) = delete;
    UpstreamClient& operator=(const UpstreamClient&) = delete;

    // Blocking, for up to max_connections threads at once (more wait for a connection). Same-origin
    // redirects are followed (RFC 7030 §3.2.1), up to three. Each wait (for a connection, connecting, every
    // step of the TLS handshake, sending, every read) ends by `deadline`, the request's own (RequestTicket);
    // when it has passed the call fails as a timeout.
    UpstreamReply call(const mapping::HttpRequest& request, std::chrono::steady_clock::time_point deadline);

    // For shutdown, from any thread: every call in progress fails at once, whatever it is waiting for, and
    // so does every later call.
    void abort_calls();

    const UpstreamClientConfig& config() const { return config_; }
    // Requests let in flight at once now: max_connections, less after the upstream said it is overloaded.
    std::size_t allowed_in_flight() const;

    class Passkey {  // construction goes through create()
        friend class UpstreamClient;
        Passkey() = default;
    };
    UpstreamClient(Passkey, UpstreamClientConfig config);

  private:
    struct Slot {
        std::unique_ptr<UpstreamConnection> connection;
        std::chrono::steady_clock::time_point last_used{};
    };
    Result<void> build_context(const std::vector<X509Ptr>& chain, const EVP_PKEY* key, X509_STORE* trust);
    std::optional<Slot> acquire(std::chrono::steady_clock::time_point deadline);
    void release(Slot slot);
    void adapt(const UpstreamReply& reply);
    UpstreamReply call_once(Slot& slot, const mapping::HttpRequest& request,
                            std::chrono::steady_clock::time_point deadline);

    UpstreamClientConfig config_;
    SslCtxPtr ctx_;
    std::string host_header_;
    mutable std::mutex mutex_;
    std::condition_variable slot_freed_;
    std::vector<Slot> idle_;  // the most recently used last: reused first, so the others may expire
    std::size_t in_flight_ = 0;
    std::size_t allowed_ = 1;
    std::vector<std::shared_ptr<AbortableSocket>> sockets_;  // every slot's, for abort_calls()
    std::atomic<bool> aborted_{false};
};

}  // namespace estgw::gateway
