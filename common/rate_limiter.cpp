#include "common/rate_limiter.hpp"

namespace estgw {

RateLimiter::RateLimiter(unsigned per_period, Clock::duration period)
    : per_period_(per_period), period_(period) {}

void RateLimiter::roll(Clock::time_point now) {
    if (now < period_end_) return;
    refused_ended_ += refused_now_;
    refused_now_ = 0;
    admitted_ = 0;
}

bool RateLimiter::admit(Clock::time_point now) {
    roll(now);
    if (admitted_ == 0 && refused_now_ == 0) period_end_ = now + period_;
    if (admitted_ < per_period_) {
        ++admitted_;
        return true;
    }
    ++refused_now_;
    return false;
}

std::uint64_t RateLimiter::take_suppressed(Clock::time_point now) {
    roll(now);
    std::uint64_t taken = refused_ended_;
    refused_ended_ = 0;
    return taken;
}

}  // namespace estgw
