// RFC 7030 EST over HTTPS for regular devices (full-server mode): the same Backend as the CoAP front, so that
// constrained and regular devices are treated alike. cpp-httplib serves TLS on its own threads; the work
// itself goes through Backend::submit, i.e. the same worker pool and back-pressure as CoAP requests.
#pragma once

#include <chrono>
#include <memory>
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
    mapping::RouteConfig routes;  // the CoAP front's: the same labels, functions and body limit
    std::chrono::seconds answer_timeout{60};
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
    void stop();

  private:
    HttpsFrontConfig config_;
    Backend& backend_;
    std::optional<ForwardedClientTrust> forwarded_;
    std::unique_ptr<httplib::SSLServer> server_;
    std::thread thread_;
};

}  // namespace estgw::gateway
