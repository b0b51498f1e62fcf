// Repeated warnings an outsider can cause: a few lines per kind and period, then one summary line.
#include "common/log_throttle.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/log.hpp"

namespace estgw::log {
namespace {

using std::chrono::seconds;
const Throttle::Clock::time_point kStart = Throttle::Clock::time_point{} + std::chrono::hours(1);

class LogThrottle : public ::testing::Test {
  protected:
    void SetUp() override {
        set_sink([this](std::string_view r) { records.emplace_back(r); });
    }
    void TearDown() override { set_sink(nullptr); }
    std::vector<std::string> records;
};

TEST_F(LogThrottle, AdmitsTheFirstLinesOfAKindThenRefuses) {
    Throttle t(2, seconds(10));
    EXPECT_TRUE(t.admit("a", kStart));
    EXPECT_TRUE(t.admit("a", kStart + seconds(1)));
    EXPECT_FALSE(t.admit("a", kStart + seconds(2)));
    EXPECT_TRUE(records.empty());
}

TEST_F(LogThrottle, KindsAreCountedApart) {
    Throttle t(1, seconds(10));
    EXPECT_TRUE(t.admit("a", kStart));
    EXPECT_FALSE(t.admit("a", kStart));
    EXPECT_TRUE(t.admit("b", kStart));
}

TEST_F(LogThrottle, WhatWasLeftOutIsSummedUpOnceThePeriodIsOver) {
    Throttle t(1, seconds(10));
    t.admit("dtls-handshake-refused", kStart);
    for (int i = 0; i < 5; ++i)
        t.admit("dtls-handshake-refused", kStart + seconds(1));
    t.flush(kStart + seconds(5));
    EXPECT_TRUE(records.empty()) << "the period is still running";
    t.flush(kStart + seconds(10));
    ASSERT_EQ(records.size(), 1u);
    EXPECT_NE(records[0].find("log-suppressed kind=dtls-handshake-refused count=5"), std::string::npos)
        << records[0];
    EXPECT_NE(records[0].find("... and 5 more in the last 10 s"), std::string::npos) << records[0];
    t.flush(kStart + seconds(30));
    EXPECT_EQ(records.size(), 1u) << "each refused line is counted once";
}

TEST_F(LogThrottle, NothingLeftOutMeansNoSummary) {
    Throttle t(3, seconds(10));
    t.admit("a", kStart);
    t.flush(kStart + seconds(60));
    EXPECT_TRUE(records.empty());
}

}  // namespace
}  // namespace estgw::log
