// What the CoAP front hands requests to (DESIGN.md "Backends"): the upstream relay in gateway mode, the local
// CA in full-server mode. Requests and answers are in EST terms only.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include "common/est.hpp"
#include "gateway/request_ticket.hpp"

namespace estgw::gateway {

// What every request gets while the process stops: 5.03 + Max-Age, so that the pledge retries later, or at
// another registrar.
inline EstResponse shutting_down_answer() {
    EstResponse answer = EstResponse::error(Status::ServiceUnavailable, "shutting down; retry");
    answer.retry_after = std::chrono::seconds(5);
    return answer;
}

class Backend {
  public:
    virtual ~Backend() = default;

    // GET resources (crts, att) are answered at once, never as a separate response: libcoap 4.3.1 clients
    // fail on deferred multi-block GET answers (PLATFORM-NOTES). Called on the I/O thread: must not block.
    virtual EstResponse answer_now(const EstRequest& request) = 0;

    // Everything else. `done` is called at most once, from any thread (normally a worker): never when the
    // front gives `ticket` up before a worker starts the job, and at once with 5.03 + Max-Age when the
    // backend is overloaded. The job's own waits end by the ticket's deadline. Called on the I/O thread:
    // must not block.
    virtual void submit(EstRequest request, std::shared_ptr<RequestTicket> ticket,
                        std::function<void(EstResponse)> done) = 0;

    // The answer for a request whose deadline passed before its own answer came; `started` says whether a
    // worker had begun it. It names the cause: the queue (5.03 + Max-Age: retry later) or the upstream
    // (5.04).
    virtual EstResponse overdue_answer(const RequestTicket& ticket, bool started) const = 0;

    // Operations this backend cannot serve in its configuration (answered 4.04 and not advertised).
    virtual std::vector<Operation> unavailable_operations() const { return {}; }

    // Shutdown, in serve_command.cpp's order. When the drain begins: start no more background work.
    virtual void stop_background_work() {}
    // When the drain has ended and every request has been answered: end whatever work may be abandoned
    // and wait for the background work to stop.
    virtual void abandon_work() {}
    // Whether a job still running after abandon_work() may be left unfinished when the process exits.
    virtual bool jobs_may_be_abandoned() const { return false; }
    // After abandon_work(): true when threads of the backend's own were left running (it then must not be
    // destroyed; the process ends without destructors).
    virtual bool work_left_behind() const { return false; }
    // Requests waiting in queues of the backend's own (gateway mode: for an upstream thread), for
    // estgw_worker_queue_depth.
    virtual std::size_t queued_jobs() const { return 0; }
};

}  // namespace estgw::gateway
