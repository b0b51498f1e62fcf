// One thread of `estgw bench`: its own libcoap context (libcoap is not thread-safe) holding several DTLS
// client sessions, each with at most one request in flight, all driven by one coap_io_process loop. Sessions
// find their state through coap_session_get_app_data, so the per-context response handler needs no lookup.
#pragma once

#include <atomic>
#include <chrono>
#include <latch>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client/coap_client.hpp"

namespace estgw::client {

// What every worker shares, read-only.
struct BenchPlan {
    coap_address_t server;
    DtlsIdentity identity;
    std::uint8_t success_code = 0;  // 2.04 or 2.05
    bool new_session_per_request = false;
    std::chrono::milliseconds timeout{30000};
    // After the run, keep the (idle) sessions open this long before releasing them: lets bench/run.sh measure
    // the server's memory per idle DTLS session.
    std::chrono::seconds hold{0};
    // Read the issued certificate of every successful answer and keep its serial (WorkerOutcome::serials):
    // lets a test check that every certificate a client received is in the server's database.
    bool collect_serials = false;
};

// Requests left to hand out, across all workers.
class RequestBudget {
  public:
    explicit RequestBudget(long requests) : left_(requests) {}
    bool take() { return left_.fetch_sub(1, std::memory_order_relaxed) > 0; }

  private:
    std::atomic<long> left_;
};

struct WorkerOutcome {
    unsigned long ok = 0;
    std::vector<double> latencies_ms;  // successful operations
    std::vector<std::string> serials;  // with BenchPlan::collect_serials: one per ok, uppercase hex
    std::map<std::string, unsigned long> errors;
    std::map<std::string, std::string> causes;       // "dtls" → the first cause OpenSSL gave for one
    std::optional<Error> setup_error;                // the context could not be made: nothing ran
    std::chrono::steady_clock::time_point finished;  // when its last request ended (before any --hold)
};

// Opens `sessions` sessions and waits (at most plan.timeout) for their handshakes unless every request gets
// a new session; then counts down `ready`, waits for `start` and sends `request` (the same body each time)
// until the budget is spent. Each request taken from the budget ends in exactly one ok or error count.
WorkerOutcome run_bench_worker(const BenchPlan& plan, const CoapRequest& request, unsigned sessions,
                               RequestBudget& budget, std::latch& ready, std::latch& start);

}  // namespace estgw::client
