// HTTPS connections to the RFC 7030 upstream: a pool of cpp-httplib SSLClients with keep-alive, TCP_NODELAY,
// mutual TLS and timeouts, so that a request normally costs no TLS handshake (DESIGN.md "Backends").
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/file_descriptor.hpp"
#include "common/openssl.hpp"
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
    // Connections kept: one per worker thread plus one for the background refresh of /crts and /att.
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

// The certificates, key and trust anchors are read once, by create(); every connection's TLS context is built
// there too, one per connection slot (cpp-httplib 0.11 gives each client object its own SSL_CTX and has no
// way to share one), and a slot reconnects through the same context when its connection closed.
class UpstreamClient {
  public:
    // Errors name the file and say what is wrong with it (Status::BadRequest).
    static Result<std::unique_ptr<UpstreamClient>> create(UpstreamClientConfig config);
    ~UpstreamClient();
    UpstreamClient(const UpstreamClient&) = delete;
    UpstreamClient& operator=(const UpstreamClient&) = delete;

    // Blocking; call from worker threads only. Thread-safe: each call borrows its own connection, waiting
    // for one when all are busy. Same-origin redirects are followed (RFC 7030 §3.2.1), up to three. Each
    // wait (connecting, every step of the TLS handshake, sending, every read) ends by `deadline`, the
    // request's own (RequestTicket); when it has passed the call fails as a timeout.
    UpstreamReply call(const mapping::HttpRequest& request, std::chrono::steady_clock::time_point deadline);

    // For shutdown, from any thread: every call in progress fails at once, whatever it is waiting for, and
    // so does every later call.
    void abort_calls();

    const UpstreamClientConfig& config() const { return config_; }

    class Passkey {  // construction goes through create()
        friend class UpstreamClient;
        Passkey() = default;
    };
    UpstreamClient(Passkey, UpstreamClientConfig config);

  private:
    // The socket of a slot's connection, duplicated when cpp-httplib creates it: abort_calls() shuts it
    // down from another thread, and the duplicate keeps its descriptor number ours, so that a socket
    // cpp-httplib has closed in the meantime cannot be confused with a new one that took its number.
    struct SocketHandle {
        std::mutex mutex;
        FileDescriptor duplicate{-1};
    };
    struct Slot {
        std::unique_ptr<httplib::SSLClient> client;
        std::shared_ptr<SocketHandle> socket;
        std::chrono::steady_clock::time_point last_used{};
    };
    Result<void> build_slots(const std::vector<X509Ptr>& chain, const EVP_PKEY* key, X509_STORE* trust);
    Slot acquire(bool& reused);
    void release(Slot slot, bool healthy);
    UpstreamReply call_once(httplib::SSLClient& client, const mapping::HttpRequest& request,
                            std::chrono::steady_clock::time_point deadline, bool& write_failed);

    UpstreamClientConfig config_;
    std::mutex mutex_;
    std::condition_variable slot_freed_;
    std::vector<Slot> idle_;
    std::vector<std::shared_ptr<SocketHandle>> sockets_;  // every slot's, for abort_calls()
    std::atomic<bool> aborted_{false};
};

}  // namespace estgw::gateway
