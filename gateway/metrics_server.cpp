#include "gateway/metrics_server.hpp"

#include <httplib.h>
#include <sys/socket.h>

#include <chrono>
#include <thread>

#include "common/log.hpp"
#include "gateway/metrics.hpp"

namespace estgw::gateway {

namespace {

// A scrape and a health check at once, plus one spare: this is not a front for the public, and threads
// beyond that would only sit idle (cpp-httplib's default pool has eight).
constexpr std::size_t kThreads = 3;
// A scraper that stalls mid-request gives its thread back after this long.
constexpr std::chrono::seconds kIoTimeout{5};

}  // namespace

MetricsServer::MetricsServer(ListenAddress listen, HealthCheck health)
    : listen_(std::move(listen)), health_(std::move(health)), server_(std::make_unique<httplib::Server>()) {}

MetricsServer::~MetricsServer() {
    stop();
}

Result<void> MetricsServer::start() {
    // cpp-httplib takes ownership of the queue it is handed (and deletes it when listening ends).
    server_->new_task_queue = [] { return std::make_unique<httplib::ThreadPool>(kThreads).release(); };
    server_->set_read_timeout(kIoTimeout);
    server_->set_write_timeout(kIoTimeout);
    server_->set_keep_alive_timeout(kIoTimeout.count());
    server_->set_payload_max_length(1024);  // GETs only
    // SO_REUSEADDR instead of cpp-httplib's SO_REUSEPORT: a second process must not share the port unnoticed,
    // and the accepted connections inherit it, so that those in TIME_WAIT after a restart (the server closes
    // first when a health check asks for Connection: close) do not block the new listener.
    server_->set_socket_options([](socket_t socket) {
        int on = 1;
        ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    });
    server_->Get("/metrics", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(metrics::estgw_metrics().render(), metrics::kContentType);
    });
    server_->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
        const Health health = health_ ? health_() : Health{};
        res.status = health.ok ? 200 : 503;
        res.set_content((health.ok ? std::string("ok") : health.reason) + "\n", "text/plain; charset=utf-8");
    });
    if (!server_->bind_to_port(listen_.host, listen_.port)) {
        return make_error(Status::BadRequest,
                          "--metrics-listen: cannot listen on " + listen_.text() + " (TCP)");
    }
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    // cpp-httplib's stop() does nothing until the loop runs: wait for it, so that stop() cannot be lost.
    while (!server_->is_running())
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    log::info("listening",
              {{"address", listen_.text()}, {"protocol", "http"}, {"serves", "/metrics /healthz"}});
    return {};
}

void MetricsServer::stop() {
    if (!thread_.joinable()) return;
    server_->stop();
    thread_.join();
}

}  // namespace estgw::gateway
