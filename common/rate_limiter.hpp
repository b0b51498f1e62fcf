// At most so many log lines per period for events an outsider can cause at will (refused handshakes), so
// that a flood costs a few lines a second instead of the disk. What was left out is counted and handed back
// once, after its period, for one summary line.
#pragma once

#include <chrono>
#include <cstdint>

namespace estgw {

// Not thread-safe: callers that share one hold a lock around it.
class RateLimiter {
  public:
    using Clock = std::chrono::steady_clock;

    RateLimiter(unsigned per_period, Clock::duration period);

    // True for the first `per_period` events of a period (a period starts with the first event after the
    // previous one ended); false for the rest, which are counted.
    bool admit(Clock::time_point now);

    // The events refused in periods that have ended by `now`, each counted once: 0 when there are none or
    // when the period that refused them is still running.
    std::uint64_t take_suppressed(Clock::time_point now);

  private:
    void roll(Clock::time_point now);

    unsigned per_period_;
    Clock::duration period_;
    Clock::time_point period_end_{};
    unsigned admitted_ = 0;
    std::uint64_t refused_now_ = 0;    // in the running period
    std::uint64_t refused_ended_ = 0;  // in periods that have ended, not yet taken
};

}  // namespace estgw
