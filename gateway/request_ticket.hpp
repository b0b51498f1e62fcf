// A deferred request's claim on a worker, shared by the front that waits for the answer and the job that
// computes it (README "Deadlines and shutdown").
//
// Each request has one deadline, counted from its arrival at the front. Whoever moves the ticket first
// decides what happens: a worker that starts it computes the answer, which the front discards when it has
// already answered; a front that gives it up first (at the deadline, or when the drain ends) answers by
// itself, and the job never runs. Without this, a request queued behind slow ones would be answered only
// after them, and a job for a request answered long ago could still enroll.
#pragma once

#include <atomic>
#include <chrono>

namespace estgw::gateway {

class RequestTicket {
  public:
    using Clock = std::chrono::steady_clock;

    RequestTicket(Clock::time_point arrival, Clock::duration timeout)
        : arrival_(arrival), deadline_(arrival + timeout) {}

    Clock::time_point arrival() const { return arrival_; }
    Clock::time_point deadline() const { return deadline_; }
    // A worker that started the job ends its own waits by the deadline and answers, saying what the upstream
    // did (or failed to do); the front waits this much longer for that answer before it answers by itself.
    Clock::time_point started_job_deadline() const { return deadline_ + kStartedJobGrace; }

    // Worker: true when the job is to run; false when the front has answered its request, or is about to
    // because too little of its time is left for an upstream call (the front then says whether the queue or
    // the upstream was the cause).
    bool start() { return Clock::now() + kLeastTimeToStart < deadline_ && move_from_queued(State::Running); }

    // Front: true when no worker had started the job, which now never runs.
    bool give_up() { return move_from_queued(State::GivenUp); }

  private:
    static constexpr std::chrono::milliseconds kStartedJobGrace{500};
    // Requests that arrived together reach their deadlines together: a worker freed at one's deadline would
    // otherwise start the next ones with milliseconds left, and each would time out in its upstream call.
    static constexpr std::chrono::milliseconds kLeastTimeToStart{250};
    enum class State { Queued, Running, GivenUp };

    bool move_from_queued(State next) {
        State expected = State::Queued;
        return state_.compare_exchange_strong(expected, next);
    }

    Clock::time_point arrival_;
    Clock::time_point deadline_;
    std::atomic<State> state_{State::Queued};
};

}  // namespace estgw::gateway
