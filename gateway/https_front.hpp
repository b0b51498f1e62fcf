// RFC 7030 EST over HTTPS for regular devices (full-server mode): the same Backend as the CoAP front, so that
// constrained and regular devices are treated alike. Connections, TLS handshakes and request heads are ours
// (gateway/https_acceptor.hpp: no thread waits for a slow client); a request whose head is complete goes to
// one of kRequestThreads, where cpp-httplib parses, routes and answers it. The work itself goes through
// Backend::submit, i.e. the same worker pool and back-pressure as CoAP requests.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
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
    mapping::RouteConfig routes;               // the CoAP front's: the same labels, functions and body limit
    std::chrono::seconds request_timeout{30};  // each request's deadline, from its arrival (RequestTicket)
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

    // The drain begins: accept no more connections and end the idle ones; a request read from now on gets
    // 503 + Retry-After, and one waiting for its answer gets it until `deadline`, then 503 + Retry-After.
    // Any thread.
    void begin_drain(std::chrono::steady_clock::time_point deadline);

    // Stops accepting, answers the requests whose heads have arrived (with Connection: close), and closes
    // every connection. Idempotent.
    void stop();

  private:
    // Where handler threads wait for their answers; shared with the jobs' callbacks, which may outlive a
    // handler that stopped waiting.
    struct Answers {
        std::mutex mutex;
        std::condition_variable arrived;  // an answer came, or the drain began
        std::optional<std::chrono::steady_clock::time_point> drain_deadline;
    };

    void answer(HttpsConnection& connection);
    EstResponse wait_for_answer(const EstRequest& request, std::chrono::steady_clock::time_point arrival);

    HttpsFrontConfig config_;
    Backend& backend_;
    std::shared_ptr<Answers> answers_ = std::make_shared<Answers>();
    std::optional<ForwardedClientTrust> forwarded_;
    std::unique_ptr<HttpsRequestRouter> router_;
    std::unique_ptr<HttpsAcceptor> acceptor_;
    std::unique_ptr<WorkerPool> requests_;
    std::atomic<bool> stopping_{false};
};

}  // namespace estgw::gateway
