// RFC 7030 EST over HTTPS for regular devices (full-server mode): the same Backend as the CoAP front, so that
// constrained and regular devices are treated alike. cpp-httplib serves TLS on its own threads; the work
// itself goes through Backend::submit, i.e. the same worker pool and back-pressure as CoAP requests.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/result.hpp"
#include "gateway/backend.hpp"
#include "gateway/forwarded_client.hpp"
#include "gateway/serve_options.hpp"
#include "mapping/paths.hpp"

namespace httplib {
class SSLServer;
}

namespace estgw::gateway {

struct HttpsFrontConfig {
    ListenAddress listen;
    std::string cert_file, key_file, client_ca_file;
    mapping::RouteConfig routes;               // the CoAP front's: the same labels, functions and body limit
    std::chrono::seconds request_timeout{30};  // each request's deadline, from its arrival (RequestTicket)
    // --trust-forwarded-client-cert: the header an RA forwards its client's certificate in
    // (gateway/forwarded_client.hpp); unset, no header is read.
    std::optional<std::string> trust_forwarded_client_cert;
};

class HttpsFront {
  public:
    HttpsFront(HttpsFrontConfig config, Backend& backend);
    ~HttpsFront();  // stops
    HttpsFront(const HttpsFront&) = delete;
    HttpsFront& operator=(const HttpsFront&) = delete;

    Result<void> start();  // binds and serves on a thread of its own

    // The drain begins: accept no more connections and end the idle ones; a request read from now on gets
    // 503 + Retry-After, and one waiting for its answer gets it until `deadline`, then 503 + Retry-After.
    // Any thread.
    void begin_drain(std::chrono::steady_clock::time_point deadline);

    // Returns once every connection is closed (begin_drain first, or the connections are not hurried).
    void stop();

  private:
    // Where handler threads wait for their answers; shared with the jobs' callbacks, which may outlive a
    // handler that stopped waiting.
    struct Answers {
        std::mutex mutex;
        std::condition_variable arrived;  // an answer came, or the drain began
        std::optional<std::chrono::steady_clock::time_point> drain_deadline;
    };

    EstResponse wait_for_answer(const EstRequest& request, std::chrono::steady_clock::time_point arrival);

    HttpsFrontConfig config_;
    Backend& backend_;
    std::shared_ptr<Answers> answers_ = std::make_shared<Answers>();
    int port_ = 0;  // the one bound (--https-listen may say 0)
    std::optional<ForwardedClientTrust> forwarded_;
    std::unique_ptr<httplib::SSLServer> server_;
    std::thread thread_;
};

}  // namespace estgw::gateway
