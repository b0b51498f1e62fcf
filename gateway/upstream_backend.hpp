// Gateway mode: each EST request becomes one RFC 7030 HTTPS call on the upstream (mapping/ translates both
// ways). /crts and /att answers come from a cache filled at start and refreshed in the background, because
// GETs must be answered at once (see Backend::answer_now).
//
// Two stages (issue 18): a worker of the shared pool (--workers, sized for the CPU) checks the CSR and builds
// the HTTP request; one of the backend's own upstream threads (--upstream-connections, one per request in
// flight) sends it and waits for the answer. Waiting on the network never holds a worker.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <variant>

#include "certs/csr_policy.hpp"
#include "gateway/backend.hpp"
#include "gateway/upstream_client.hpp"
#include "gateway/worker_pool.hpp"
#include "mapping/http_request.hpp"

namespace estgw::gateway {

struct UpstreamBackendConfig {
    std::size_t upstream_threads = 32;  // requests in flight on the upstream at once (--upstream-connections)
    std::size_t queue_limit = 1024;     // requests waiting for an upstream thread before 5.03 + Max-Age
    mapping::UpstreamConfig mapping;
    certs::CsrPolicy policy;
    std::chrono::seconds crts_refresh{300};
    std::vector<std::string> labels;  // their /crts and /att are cached from the start too
    // Max-Age sent while /crts or /att has never been fetched successfully, or when the queue is full.
    std::chrono::seconds busy_retry{5};
};

class UpstreamBackend final : public Backend {
  public:
    UpstreamBackend(UpstreamBackendConfig config, UpstreamClient& client, WorkerPool& pool);
    ~UpstreamBackend() override;  // stops the refresher

    EstResponse answer_now(const EstRequest& request) override;
    void submit(EstRequest request, std::shared_ptr<RequestTicket> ticket,
                std::function<void(EstResponse)> done) override;
    EstResponse overdue_answer(const RequestTicket& ticket, bool started) const override;
    std::vector<Operation> unavailable_operations() const override;

    void stop_background_work() override;
    // Aborts every upstream call in progress, stops the upstream threads (leaving behind, after a grace
    // period, those a name look-up still holds) and joins the refresher.
    void abandon_work() override;
    bool work_left_behind() const override { return left_behind_; }
    std::size_t queued_jobs() const override { return upstream_pool_->queued(); }
    // Every job here is one upstream call, and the gateway keeps nothing of its own: the upstream CA records
    // what it issues, and the pledge, answered 5.03 + Max-Age when the drain ended, asks again. So a call
    // still in progress at shutdown may be abandoned, its late answer discarded.
    bool jobs_may_be_abandoned() const override { return true; }

    // Blocking: one upstream round trip with the gateway's own checks first, ending by `deadline`. Worker
    // threads only.
    EstResponse process(const EstRequest& request, std::chrono::steady_clock::time_point deadline);
    // The two halves of process(): the gateway's own checks and the HTTP request (CPU only), then the
    // round trip and the answer's mapping (mostly waiting).
    std::variant<mapping::HttpRequest, EstResponse> prepare(const EstRequest& request) const;
    EstResponse relay(const EstRequest& request, const mapping::HttpRequest& http,
                      std::chrono::steady_clock::time_point deadline);

    // Blocking: fetch /crts and /att (unlabelled) once, e.g. before serving. Returns how many succeeded.
    int refresh_now();

    // Number of upstream calls made so far (tests and metrics).
    std::uint64_t upstream_calls() const { return upstream_calls_.load(); }
    // When the upstream last gave an HTTP response, whatever its status (for /healthz); none yet: nullopt.
    std::optional<std::chrono::steady_clock::time_point> last_upstream_response() const;

  private:
    struct CacheKey {
        Operation op;
        std::string label;
        bool operator<(const CacheKey& o) const { return std::tie(op, label) < std::tie(o.op, o.label); }
    };
    struct CacheEntry {
        std::optional<EstResponse> answer;  // last cacheable answer
        std::chrono::steady_clock::time_point fetched{};
        bool refreshing = false;
    };

    void refresh(const CacheKey& key);
    // What an operator should do about an upstream 401/403: the option to set or check.
    std::string refusal_hint(const mapping::HttpResponse& response) const;
    void refresher_loop();
    static bool cacheable(const EstResponse& r);

    UpstreamBackendConfig config_;
    UpstreamClient& client_;
    WorkerPool& pool_;
    std::unique_ptr<WorkerPool> upstream_pool_;
    bool left_behind_ = false;
    std::atomic<std::uint64_t> upstream_calls_{0};
    // When an upstream call last ended other than by timing out (steady clock ticks): a request that ran out
    // of time in the queue without the upstream answering anything meanwhile is the upstream's fault.
    std::atomic<std::chrono::steady_clock::rep> last_upstream_answer_{0};
    std::atomic<std::chrono::steady_clock::rep> last_upstream_response_{0};  // 0: never
    std::atomic<bool> background_stopped_{false};

    std::mutex cache_mutex_;
    std::map<CacheKey, CacheEntry> cache_;

    std::mutex stop_mutex_;
    std::condition_variable stop_cv_;
    bool stopping_ = false;
    std::thread refresher_;
};

}  // namespace estgw::gateway
