#include "common/rate_limiter.hpp"

#include <gtest/gtest.h>

namespace estgw {
namespace {

using std::chrono::milliseconds;
const RateLimiter::Clock::time_point kStart = RateLimiter::Clock::time_point{} + std::chrono::hours(1);

TEST(RateLimiter, AdmitsUpToTheLimitWithinOnePeriod) {
    RateLimiter limiter(3, std::chrono::seconds(1));
    EXPECT_TRUE(limiter.admit(kStart));
    EXPECT_TRUE(limiter.admit(kStart + milliseconds(10)));
    EXPECT_TRUE(limiter.admit(kStart + milliseconds(20)));
    EXPECT_FALSE(limiter.admit(kStart + milliseconds(30)));
}

TEST(RateLimiter, AdmitsAgainOnceThePeriodHasEnded) {
    RateLimiter limiter(1, std::chrono::seconds(1));
    EXPECT_TRUE(limiter.admit(kStart));
    EXPECT_FALSE(limiter.admit(kStart + milliseconds(999)));
    EXPECT_TRUE(limiter.admit(kStart + milliseconds(1000)));
}

TEST(RateLimiter, APeriodStartsWithTheFirstEventAfterAQuietTime) {
    RateLimiter limiter(1, std::chrono::seconds(1));
    EXPECT_TRUE(limiter.admit(kStart));
    EXPECT_TRUE(limiter.admit(kStart + milliseconds(5500)));
    EXPECT_FALSE(limiter.admit(kStart + milliseconds(6400)));
}

TEST(RateLimiter, ReportsNothingWhileThePeriodThatRefusedIsRunning) {
    RateLimiter limiter(1, std::chrono::seconds(1));
    limiter.admit(kStart);
    limiter.admit(kStart + milliseconds(100));
    EXPECT_EQ(limiter.take_suppressed(kStart + milliseconds(500)), 0u);
}

TEST(RateLimiter, ReportsTheRefusedCountOnceAfterTheirPeriod) {
    RateLimiter limiter(2, std::chrono::seconds(1));
    for (int i = 0; i < 7; ++i)
        limiter.admit(kStart + milliseconds(i));
    EXPECT_EQ(limiter.take_suppressed(kStart + milliseconds(1000)), 5u);
    EXPECT_EQ(limiter.take_suppressed(kStart + milliseconds(3000)), 0u);
}

TEST(RateLimiter, AddsUpTheRefusedOfSeveralEndedPeriods) {
    RateLimiter limiter(1, std::chrono::seconds(1));
    for (int period = 0; period < 3; ++period) {
        for (int i = 0; i < 3; ++i)
            limiter.admit(kStart + std::chrono::seconds(period) + milliseconds(i));
    }
    EXPECT_EQ(limiter.take_suppressed(kStart + milliseconds(3500)), 6u);
}

TEST(RateLimiter, ReportsZeroWhenNothingWasRefused) {
    RateLimiter limiter(5, std::chrono::seconds(1));
    limiter.admit(kStart);
    EXPECT_EQ(limiter.take_suppressed(kStart + std::chrono::seconds(2)), 0u);
}

}  // namespace
}  // namespace estgw
