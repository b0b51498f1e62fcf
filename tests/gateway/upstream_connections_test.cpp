// --upstream-connections (issue 18): up to N upstream requests in flight at once whatever --workers is,
// the rest queued up to --queue-limit and answered 5.03 + Max-Age past it, and a front that keeps answering
// what it can while the upstream hangs. The fake upstream counts the requests in its hands at once.
#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "gateway/gateway_env.hpp"
#include "gateway/timed_requests.hpp"

namespace estgw::test {
namespace {

// The gateway fills its /crts and /att cache from the upstream at start; the tests count only what comes
// after, and slow the upstream down only then.
void wait_for_cache_and_slow_down(GatewayEnv& env, std::chrono::milliseconds delay) {
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while ((env.upstream->calls("cacerts") < 1 || env.upstream->calls("csrattrs") < 1) &&
           std::chrono::steady_clock::now() < limit)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_GE(env.upstream->calls("cacerts"), 1) << env.gateway_log();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the answers are in the cache by now
    env.upstream->set_delay(delay);
    env.upstream->reset_max_concurrent_requests();
}

std::map<std::string, int> codes_of(std::vector<std::future<TimedOutcome>>& runs) {
    std::map<std::string, int> codes;
    for (auto& run : runs) {
        TimedOutcome r = run.get();
        ++codes[r.outcome.code];
        if (r.outcome.code == "5.03") {
            EXPECT_FALSE(r.outcome.options["Max-Age"].empty()) << r.outcome.output;
        }
    }
    return codes;
}

// Six enrollments at once, three connections, an upstream that holds each answer 1.5 s: three are in the
// upstream's hands at once, never more, and the other three follow on the same connections.
TEST(GatewayUpstreamConnections, AtMostNRequestsAreInFlightAndTheRestWaitForAConnection) {
    GatewayEnv env;
    env.start_gateway({"--upstream-connections", "3"});
    wait_for_cache_and_slow_down(env, std::chrono::milliseconds(1500));
    auto runs = start_enrollments(env, 6, "three");
    auto codes = codes_of(runs);
    EXPECT_EQ(codes["2.04"], 6) << env.gateway_log();
    EXPECT_EQ(env.upstream->max_concurrent_requests(), 3) << env.gateway_log();
}

// One worker (--workers sizes the CPU work) does not limit the requests in flight: waiting for the
// upstream happens on the upstream threads, so all six are in the upstream's hands at once.
TEST(GatewayUpstreamConnections, OneWorkerStillHasEveryRequestInFlightAtOnce) {
    GatewayEnv env;
    env.start_gateway({"--workers", "1"});
    wait_for_cache_and_slow_down(env, std::chrono::milliseconds(1500));
    auto runs = start_enrollments(env, 6, "one-worker");
    auto codes = codes_of(runs);
    EXPECT_EQ(codes["2.04"], 6) << env.gateway_log();
    EXPECT_EQ(env.upstream->max_concurrent_requests(), 6) << env.gateway_log();
}

// One connection busy for 3 s and a queue of one: of five requests sent at once, one is in flight, one
// waits and is enrolled after it, and the three that find the queue full get 5.03 + Max-Age.
TEST(GatewayUpstreamConnections, PastTheQueueLimitRequestsGet503WithMaxAge) {
    GatewayEnv env;
    env.start_gateway({"--upstream-connections", "1", "--queue-limit", "1"});
    wait_for_cache_and_slow_down(env, std::chrono::milliseconds(3000));
    auto runs = start_enrollments(env, 5, "queue");
    auto codes = codes_of(runs);
    EXPECT_EQ(codes["2.04"], 2) << env.gateway_log();
    EXPECT_EQ(codes["5.03"], 3) << env.gateway_log();
    EXPECT_EQ(env.upstream->max_concurrent_requests(), 1);
}

// Every connection stuck on an upstream that does not answer: discovery and the cached /crts and /att
// still answer at once, and the stuck enrollments end at their deadline.
TEST(GatewayUpstreamConnections, DiscoveryAndCachedAnswersKeepAnsweringWhileTheUpstreamHangs) {
    GatewayEnv env;
    env.start_gateway({"--upstream-connections", "2", "--upstream-timeout", "6"});
    wait_for_cache_and_slow_down(env, std::chrono::seconds(30));
    auto runs = start_enrollments(env, 4, "hang");
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (env.upstream->calls("simpleenroll") < 2 && std::chrono::steady_clock::now() < limit)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_EQ(env.upstream->calls("simpleenroll"), 2) << env.gateway_log();

    auto discovery = env.coap("/.well-known/core");
    EXPECT_EQ(discovery.code, "2.05") << discovery.output;
    EXPECT_NE(discovery.output.find("</est/sen>"), std::string::npos) << discovery.output;
    auto crts = env.coap("/est/crts", {"-A", "287"});
    EXPECT_EQ(crts.code, "2.05") << crts.output;
    auto att = env.coap("/est/att");
    EXPECT_EQ(att.code, "2.05") << att.output;

    for (auto& run : runs) {
        TimedOutcome r = run.get();
        EXPECT_EQ(r.outcome.code, "5.04") << r.outcome.output;
    }
}

// An upstream that says it is overloaded gets fewer requests at once: three 503s halve four connections'
// worth to one, and from there each answer lets one more through. Four enrollments sent at once then find
// at most two in the upstream's hands, where without the back-off all four would be.
TEST(GatewayUpstreamConnections, UpstreamOverloadAnswersReduceTheRequestsInFlight) {
    GatewayEnv env;
    env.start_gateway({"--upstream-connections", "4"});
    wait_for_cache_and_slow_down(env, std::chrono::milliseconds(0));
    const std::string csr = env.write_csr("overload", "CN=pledge-1,O=estgw tests", {"DNS:pledge-1.example"});
    for (int i = 0; i < 3; ++i) {
        env.upstream->script("simpleenroll", FakeReply{503, {{"Retry-After", "1"}}, "busy"});
        auto r = env.coap("/est/sen", {"-m", "post", "-t", "286", "-f", csr});
        EXPECT_EQ(r.code, "5.03") << r.output;
        EXPECT_EQ(r.options["Max-Age"], "1") << r.output;
    }
    EXPECT_NE(env.gateway_log().find("upstream-backing-off in_flight_allowed=1"), std::string::npos)
        << env.gateway_log();
    env.upstream->set_delay(std::chrono::milliseconds(1000));
    env.upstream->reset_max_concurrent_requests();
    auto runs = start_enrollments(env, 4, "after-overload");
    auto codes = codes_of(runs);
    EXPECT_EQ(codes["2.04"], 4) << env.gateway_log();
    EXPECT_LE(env.upstream->max_concurrent_requests(), 2) << env.gateway_log();
    EXPECT_EQ(env.upstream->calls("simpleenroll"), 7);  // nothing repeated by the gateway itself
}

}  // namespace
}  // namespace estgw::test
