#include "client/bench_worker.hpp"

#include <algorithm>
#include <memory>

#include "certs/ca.hpp"
#include "client/enroll_results.hpp"

namespace estgw::client {

namespace {

using Clock = std::chrono::steady_clock;

struct Slot {
    CoapSessionPtr session;
    bool busy = false;    // a request is in flight
    bool broken = false;  // the session failed or was abandoned: open a new one before the next request
    Bytes token;
    Clock::time_point started;
};

class Worker {
  public:
    Worker(const BenchPlan& plan, const CoapRequest& request, RequestBudget& budget)
        : plan_(plan), request_(request), budget_(budget) {}
    ~Worker() {
        // Releasing a session reports its queued requests to the nack handler: it must find nobody.
        if (context_) coap_set_app_data(context_.get(), nullptr);
        for (auto& slot : slots_)
            drop(*slot);
    }
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    Result<void> init(unsigned sessions) {
        // Parsed once per worker; every session of this worker shares them (reference counts, no parsing).
        identity_ = plan_.identity;
        if (auto r = load_credentials(identity_); !r) return r.error();
        ESTGW_TRY(context, new_client_context(identity_));
        context_ = std::move(context);
        coap_set_app_data(context_.get(), this);
        coap_register_response_handler(context_.get(), on_response);
        coap_register_nack_handler(context_.get(), on_nack);
        coap_register_event_handler(context_.get(), on_event);
        for (unsigned i = 0; i < sessions; ++i)
            slots_.push_back(std::make_unique<Slot>());
        return {};
    }

    // Keeps servicing the sessions (DTLS alerts, retransmissions) without sending anything until `duration`
    // ends.
    void hold(std::chrono::seconds duration) {
        auto deadline = Clock::now() + duration;
        while (Clock::now() < deadline)
            coap_io_process(context_.get(), 100);
    }

    // Persistent sessions are measured without their handshakes: open them all before the clock starts.
    void warm_up() {
        if (plan_.new_session_per_request) return;
        for (auto& slot : slots_)
            open(*slot);
        auto deadline = Clock::now() + plan_.timeout;
        auto settled = [](const auto& slot) {
            return slot->broken || !slot->session ||
                   coap_session_get_state(slot->session.get()) == COAP_SESSION_STATE_ESTABLISHED;
        };
        while (Clock::now() < deadline && !std::all_of(slots_.begin(), slots_.end(), settled))
            coap_io_process(context_.get(), 10);
    }

    void run() {
        bool exhausted = false;
        while (true) {
            bool any_busy = false;
            for (auto& slot : slots_) {
                if (!slot->busy && !exhausted) {
                    if (budget_.take()) {
                        start(*slot);
                    } else {
                        exhausted = true;
                    }
                }
                any_busy = any_busy || slot->busy;
            }
            if (!any_busy) {
                if (exhausted) break;
                continue;
            }
            coap_io_process(context_.get(), 10);
            auto now = Clock::now();
            for (auto& slot : slots_) {
                if (slot->busy && now - slot->started > plan_.timeout) {
                    finish(*slot, false, "timeout");
                    slot->broken = true;  // its retransmissions go with the session
                }
            }
        }
    }

    WorkerOutcome take_outcome() { return std::move(outcome_); }

  private:
    static Worker* worker_of(coap_session_t* session) {
        return static_cast<Worker*>(coap_get_app_data(coap_session_get_context(session)));
    }
    static Slot* slot_of(coap_session_t* session) {
        return static_cast<Slot*>(coap_session_get_app_data(session));
    }
    static bool token_matches(const Slot& slot, const coap_pdu_t* pdu) {
        coap_bin_const_t token = coap_pdu_get_token(pdu);
        return slot.token.size() == token.length && std::equal(slot.token.begin(), slot.token.end(), token.s);
    }

    void open(Slot& slot) {
        drop(slot);
        auto session = open_dtls_session(context_.get(), plan_.server, identity_);
        if (!session) {
            slot.broken = true;
            return;
        }
        slot.session = std::move(*session);
        coap_session_set_app_data(slot.session.get(), &slot);
        slot.broken = false;
    }

    void drop(Slot& slot) {
        if (!slot.session) return;
        coap_session_set_app_data(slot.session.get(), nullptr);
        slot.session.reset();
    }

    void start(Slot& slot) {
        slot.started = Clock::now();  // a new session's handshake counts in the latency
        if (!slot.session || slot.broken || plan_.new_session_per_request) open(slot);
        if (!slot.session) return finish(slot, false, "session");
        auto token = send_request(slot.session.get(), request_);
        if (!token) {
            slot.broken = true;
            return finish(slot, false, "send");
        }
        slot.token = std::move(*token);
        slot.busy = true;
    }

    // The serial of the certificate a successful sen or sren answer carries; empty when the body holds no
    // readable certificate.
    static std::string issued_serial(const coap_pdu_t* received) {
        auto cert = issued_certificate(read_answer(received));
        return cert ? certs::serial_hex(cert->get()) : std::string();
    }

    void finish(Slot& slot, bool ok, const std::string& error_key) {
        slot.busy = false;
        if (ok) {
            ++outcome_.ok;
            outcome_.latencies_ms.push_back(
                std::chrono::duration<double, std::milli>(Clock::now() - slot.started).count());
        } else {
            ++outcome_.errors[error_key];
        }
    }

    // No exception may unwind through libcoap: allocation failures in the handlers are swallowed (the
    // request then ends as a timeout).
    static coap_response_t on_response(coap_session_t* session, const coap_pdu_t*, const coap_pdu_t* received,
                                       const coap_mid_t) {
        try {
            Worker* worker = worker_of(session);
            Slot* slot = slot_of(session);
            if (!worker || !slot || !slot->busy || !token_matches(*slot, received)) return COAP_RESPONSE_OK;
            auto code = static_cast<std::uint8_t>(coap_pdu_get_code(received));
            bool ok = code == worker->plan_.success_code;
            std::string error_key = code_string(code);
            if (ok && worker->plan_.collect_serials) {
                std::string serial = issued_serial(received);
                // A success without a readable certificate is no success for a run that checks them.
                if (serial.empty()) {
                    ok = false;
                    error_key = "no-certificate";
                } else {
                    worker->outcome_.serials.push_back(std::move(serial));
                }
            }
            worker->finish(*slot, ok, error_key);
        } catch (...) {
        }
        return COAP_RESPONSE_OK;
    }

    static void on_nack(coap_session_t* session, const coap_pdu_t* sent, const coap_nack_reason_t reason,
                        const coap_mid_t) {
        try {
            Worker* worker = worker_of(session);
            Slot* slot = slot_of(session);
            if (!worker || !slot) return;
            if (reason != COAP_NACK_TOO_MANY_RETRIES) slot->broken = true;
            if (!slot->busy || (sent && !token_matches(*slot, sent))) return;
            slot->broken = true;
            worker->finish(*slot, false, std::string(nack_key(reason)));
        } catch (...) {
        }
    }

    static int on_event(coap_session_t* session, const coap_event_t event) {
        try {
            Worker* worker = worker_of(session);
            Slot* slot = slot_of(session);
            if (!worker || !slot || (event != COAP_EVENT_DTLS_ERROR && event != COAP_EVENT_DTLS_CLOSED))
                return 0;
            // A failure that repeats for every session is summed up by its first cause.
            if (std::string cause = dtls_failure_cause(session); !cause.empty())
                worker->outcome_.causes.emplace("dtls", std::move(cause));
            slot->broken = true;
            if (slot->busy) worker->finish(*slot, false, "dtls");
        } catch (...) {
        }
        return 0;
    }

    const BenchPlan& plan_;
    DtlsIdentity identity_;  // plan_.identity with its credentials parsed
    const CoapRequest& request_;
    RequestBudget& budget_;
    CoapContextPtr context_;                    // declared before the sessions in slots_: outlives them
    std::vector<std::unique_ptr<Slot>> slots_;  // stable addresses: sessions point at their slot
    WorkerOutcome outcome_;
};

// Counts `ready` down exactly once, even when the worker fails before it is ready.
class ReadyGuard {
  public:
    explicit ReadyGuard(std::latch& ready) : ready_(ready) {}
    ~ReadyGuard() { signal(); }
    ReadyGuard(const ReadyGuard&) = delete;
    ReadyGuard& operator=(const ReadyGuard&) = delete;
    void signal() {
        if (!done_) ready_.count_down();
        done_ = true;
    }

  private:
    std::latch& ready_;
    bool done_ = false;
};

}  // namespace

WorkerOutcome run_bench_worker(const BenchPlan& plan, const CoapRequest& request, unsigned sessions,
                               RequestBudget& budget, std::latch& ready, std::latch& start) {
    ReadyGuard guard(ready);
    Worker worker(plan, request, budget);
    auto initialized = worker.init(sessions);
    if (initialized) worker.warm_up();
    guard.signal();
    start.wait();
    if (!initialized) {
        WorkerOutcome failed;
        failed.setup_error = initialized.error();
        return failed;
    }
    worker.run();
    const auto finished = std::chrono::steady_clock::now();
    if (plan.hold.count() > 0) worker.hold(plan.hold);
    WorkerOutcome outcome = worker.take_outcome();
    outcome.finished = finished;
    return outcome;
}

}  // namespace estgw::client
