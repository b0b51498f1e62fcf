// Gateway mode: each EST request becomes one RFC 7030 HTTPS call on the upstream (mapping/ translates both
// ways). /crts and /att answers come from a cache filled at start and refreshed in the background, because
// GETs must be answered at once (see Backend::answer_now).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "certs/csr_policy.hpp"
#include "gateway/backend.hpp"
#include "gateway/upstream_client.hpp"
#include "gateway/worker_pool.hpp"
#include "mapping/http_request.hpp"

namespace estgw::gateway {

struct UpstreamBackendConfig {
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
    void submit(EstRequest request, std::function<void(EstResponse)> done) override;
    std::vector<Operation> unavailable_operations() const override;

    // Blocking: one upstream round trip with the gateway's own checks first. Worker threads only.
    EstResponse process(const EstRequest& request);

    // Blocking: fetch /crts and /att (unlabelled) once, e.g. before serving. Returns how many succeeded.
    int refresh_now();

    // Number of upstream calls made so far (tests and metrics).
    std::uint64_t upstream_calls() const { return upstream_calls_.load(); }

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
    std::atomic<std::uint64_t> upstream_calls_{0};

    std::mutex cache_mutex_;
    std::map<CacheKey, CacheEntry> cache_;

    std::mutex stop_mutex_;
    std::condition_variable stop_cv_;
    bool stopping_ = false;
    std::thread refresher_;
};

}  // namespace estgw::gateway
