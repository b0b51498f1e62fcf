#include "common/log_throttle.hpp"

#include "common/log.hpp"

namespace estgw::log {

Throttle::Throttle(unsigned per_period, Clock::duration period) : per_period_(per_period), period_(period) {}

void Throttle::summarise(const std::string& kind, RateLimiter& limiter, Clock::time_point now) {
    if (std::uint64_t count = limiter.take_suppressed(now)) {
        const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(period_).count();
        warn("log-suppressed", {{"kind", kind},
                                {"count", count},
                                {"note", "... and " + std::to_string(count) + " more in the last " +
                                             std::to_string(seconds) + " s"}});
    }
}

bool Throttle::admit(std::string_view kind, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto found = kinds_.find(kind);
    if (found == kinds_.end())
        found = kinds_.emplace(std::string(kind), RateLimiter(per_period_, period_)).first;
    summarise(found->first, found->second, now);
    return found->second.admit(now);
}

void Throttle::flush(Clock::time_point now) {
    std::lock_guard lock(mutex_);
    for (auto& [kind, limiter] : kinds_)
        summarise(kind, limiter, now);
}

}  // namespace estgw::log
