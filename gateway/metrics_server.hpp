// `--metrics-listen HOST:PORT`: plain HTTP for the operator's Prometheus and the container's health check.
//   GET /metrics  the families of metrics.hpp, text exposition format 0.0.4
//   GET /healthz  200 "ok", or 503 with a one-line reason (HealthCheck)
// Anything else is 404. It runs on threads of its own, apart from the CoAP I/O thread and the workers, so
// that a scrape still answers when estgw is busy, and a slow scraper delays nothing else.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/result.hpp"
#include "gateway/serve_options.hpp"

namespace httplib {
class Server;
}

namespace estgw::gateway {

struct Health {
    bool ok = true;
    std::string reason;  // when not ok: one line saying what is wrong
};
// Called on the metrics server's threads for each /healthz: must be thread-safe.
using HealthCheck = std::function<Health()>;

class MetricsServer {
  public:
    MetricsServer(ListenAddress listen, HealthCheck health);
    ~MetricsServer();  // stop()
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    // Binds (dual-stack for [::]) and serves on a thread of its own. The error names the address.
    Result<void> start();
    void stop();  // idempotent

  private:
    ListenAddress listen_;
    HealthCheck health_;
    std::unique_ptr<httplib::Server> server_;
    std::thread thread_;
};

}  // namespace estgw::gateway
