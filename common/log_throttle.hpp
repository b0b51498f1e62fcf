// Repeated warnings an outsider can cause at will (bad handshakes, floods) cost at most `per_period` lines
// per kind and period; the rest are counted and summed up once the period is over, in one line:
// `log-suppressed kind=... count=N note="... and N more in the last 10 s"`.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "common/rate_limiter.hpp"

namespace estgw::log {

class Throttle {
  public:
    using Clock = std::chrono::steady_clock;

    explicit Throttle(unsigned per_period = 10, Clock::duration period = std::chrono::seconds(10));

    // True when a line of `kind` may be written now; writes the summary of an ended period first.
    bool admit(std::string_view kind, Clock::time_point now = Clock::now());
    // Writes the summaries of every kind whose period has ended (call it now and then, e.g. once a loop).
    void flush(Clock::time_point now = Clock::now());

  private:
    void summarise(const std::string& kind, RateLimiter& limiter, Clock::time_point now);

    unsigned per_period_;
    Clock::duration period_;
    std::mutex mutex_;
    std::map<std::string, RateLimiter, std::less<>> kinds_;
};

}  // namespace estgw::log
