// Each request's deadline counts from its arrival at the gateway (--upstream-timeout), end to end: a request
// waiting for a worker is answered when its deadline passes, not after the requests before it, with 5.04
// when the upstream was the cause and 5.03 + Max-Age when the queue was.
#include <gtest/gtest.h>

#include <map>

#include "gateway/gateway_env.hpp"
#include "gateway/timed_requests.hpp"

namespace estgw::test {
namespace {

// One upstream connection and an upstream that holds every answer for 30 s: four of the five requests wait
// for the connection, which is stuck on the first. Before deadlines counted from arrival they got 5.04 at 2,
// 4, 6, 8 and 10 s.
TEST(GatewayDeadlines, RequestsQueuedBehindAStuckUpstreamAreAll504WithinTheirDeadline) {
    GatewayEnv env;
    env.upstream->set_delay(std::chrono::seconds(30));
    env.start_gateway({"--upstream-connections", "1", "--upstream-timeout", "2"});
    auto runs = start_enrollments(env, 5, "stuck");
    for (auto& run : runs) {
        const TimedOutcome r = run.get();
        EXPECT_EQ(r.outcome.code, "5.04") << r.outcome.output;
        // Generous: the bound is the 2 s deadline plus the pledge's DTLS handshake and scheduling.
        EXPECT_LT(seconds(r.took), 4.0) << r.outcome.output;
        EXPECT_GT(seconds(r.took), 1.5) << r.outcome.output;
    }
}

// The upstream answers, in 1.2 s each, and one upstream connection serves six requests that arrive at once
// with 3 s each: the first two are enrolled, the third runs out of time in its upstream call (5.04), and the
// rest run out of time in the queue while the upstream was answering: the gateway was busy, retry later.
TEST(GatewayDeadlines, RequestsThatRanOutOfTimeInTheQueueOfAnAnsweringUpstreamGet503WithMaxAge) {
    GatewayEnv env;
    env.upstream->set_delay(std::chrono::milliseconds(1200));
    env.start_gateway({"--upstream-connections", "1", "--upstream-timeout", "3"});
    auto runs = start_enrollments(env, 6, "busy");
    std::map<std::string, int> codes;
    for (auto& run : runs) {
        TimedOutcome r = run.get();
        ++codes[r.outcome.code];
        EXPECT_LT(seconds(r.took), 6.0) << r.outcome.output;
        if (r.outcome.code == "5.03") {
            EXPECT_FALSE(r.outcome.options["Max-Age"].empty()) << r.outcome.output;
        } else {
            EXPECT_TRUE(r.outcome.code == "2.04" || r.outcome.code == "5.04") << r.outcome.output;
        }
    }
    EXPECT_GE(codes["2.04"], 1) << env.gateway_log();
    EXPECT_GE(codes["5.03"], 2) << env.gateway_log();
}

}  // namespace
}  // namespace estgw::test
