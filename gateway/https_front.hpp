// RFC 7030 EST over HTTPS for regular devices (full-server mode): the same Backend as the CoAP front, so that
// constrained and regular devices are treated alike. Connections, TLS handshakes and request heads are ours
// (gateway/https_acceptor.hpp: no thread waits for a slow client); a request whose head is complete goes to
// one of kRequestThreads, where cpp-httplib parses, routes and answers it. The work itself goes through
// Backend::submit, i.e. the same worker pool and back-pressure as CoAP requests.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "gateway/backend.hpp"
#include "gateway/forwarded_client.hpp"
#include "gateway/serve_options.hpp"
#include "mapping/paths.hpp"

namespace estgw::gateway {

class HttpsAcceptor;
class HttpsRequestRouter;
class WorkerPool;
struct HttpsConnection;

struct HttpsFrontConfig {
    ListenAddress listen;
    std::string cert_file, key_file, client_ca_file;
    mapping::RouteConfig routes;  // the CoAP front's: the same labels, functions and body limit
    std::chrono::seconds answer_timeout{60};
    // --trust-forwarded-client-cert: the header an RA forwards its client's certificate in
    // (gateway/forwarded_client.hpp); unset, no header is read.
    std::optional<std::string> trust_forwarded_client_cert;
    HttpsLimits limits;
};

class HttpsFront {
  public:
    // Requests answered at once; more wait, each on a connection of its own, until one is free. As many as
    // cpp-httplib's own pool had: most answers are immediate, and enrollments wait on Backend's pool.
    static constexpr unsigned kRequestThreads = 8;
    // Requests on one connection before it is closed (Connection: close on the last): each new connection
    // costs the client a full handshake with certificate checks. cpp-httplib's default is 5, nginx's 1000.
    static constexpr unsigned kKeepAliveMaxRequests = 1000;

    HttpsFront(HttpsFrontConfig config, Backend& backend);
    ~HttpsFront();  // stops
    HttpsFront(const HttpsFront&) = delete;
    HttpsFront& operator=(const HttpsFront&) = delete;

    Result<void> start();  // binds and serves on threads of its own
    // Stops accepting, answers the requests whose heads have arrived (with Connection: close), and closes
    // every connection. Idempotent.
    void stop();

  private:
    void answer(HttpsConnection& connection);

    HttpsFrontConfig config_;
    Backend& backend_;
    std::optional<ForwardedClientTrust> forwarded_;
    std::unique_ptr<HttpsRequestRouter> router_;
    std::unique_ptr<HttpsAcceptor> acceptor_;
    std::unique_ptr<WorkerPool> requests_;
    std::atomic<bool> stopping_{false};
};

}  // namespace estgw::gateway
