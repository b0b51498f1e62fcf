// SIGTERM while pledges wait on a slow upstream, end to end: every pledge gets an answer it can act on, the
// process exits within the drain timeout plus a second although its workers are stuck in upstream calls,
// and "stopped" is the last thing it logs.
#include <gtest/gtest.h>
#include <signal.h>

#include <sstream>
#include <thread>

#include "gateway/gateway_env.hpp"
#include "gateway/timed_requests.hpp"

namespace estgw::test {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) lines.push_back(line);
    }
    return lines;
}

// The upstream holds every answer for 30 s; the drain timeout is 2 s, the upstream timeout the default 30 s:
// when the drain ends, five enrollments are still waiting (two in upstream calls, three queued), and the
// background refresh of /crts is in an upstream call too.
TEST(GatewayShutdown, EveryWaitingPledgeGets503WithMaxAgeAndTheProcessExitsWithinTheDrainTimeout) {
    GatewayEnv env;
    env.upstream->set_delay(std::chrono::seconds(30));
    env.start_gateway({"--upstream-connections", "2", "--drain-timeout", "2", "--crts-refresh", "1"});
    auto runs = start_enrollments(env, 5, "shutdown");
    // Both upstream threads are in calls once the upstream has seen two enrollments; the other three
    // requests were sent at the same moment and wait in the queue.
    const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (env.upstream->calls("simpleenroll") < 2 && std::chrono::steady_clock::now() < limit)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_EQ(env.upstream->calls("simpleenroll"), 2) << env.gateway_log();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));

    const auto signalled = std::chrono::steady_clock::now();
    env.send_signal(SIGTERM);
    const int code = env.wait_exit(std::chrono::seconds(10));
    const auto exited = std::chrono::steady_clock::now() - signalled;
    EXPECT_EQ(code, 0) << env.gateway_log();
    EXPECT_LT(seconds(exited), 3.0) << "the drain timeout is 2 s";

    for (auto& run : runs) {
        CoapOutcome r = run.get().outcome;
        EXPECT_EQ(r.code, "5.03") << r.output;
        EXPECT_FALSE(r.options["Max-Age"].empty()) << r.output;  // when to retry (RFC 9148 §4.7)
    }
    const std::string log = env.gateway_log();
    EXPECT_NE(log.find("drain-timeout answered=5.03 requests=5"), std::string::npos) << log;
    // The workers' upstream calls were aborted, not waited for, nor left behind.
    EXPECT_EQ(log.find("workers-abandoned"), std::string::npos) << log;
    const auto lines = lines_of(log);
    ASSERT_FALSE(lines.empty());
    EXPECT_NE(lines.back().find(" stopped"), std::string::npos) << log;
    // The refresh stopped with the drain: no failure of it (an aborted call) is reported afterwards.
    const auto draining = log.find(" draining ");
    ASSERT_NE(draining, std::string::npos) << log;
    EXPECT_EQ(log.find("upstream-cache-refresh-failed", draining), std::string::npos) << log;
}

}  // namespace
}  // namespace estgw::test
