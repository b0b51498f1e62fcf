// --io-threads end to end (issue 15 §2): two CoAP fronts on one --listen address (SO_REUSEPORT) with the
// real binary, `estgw bench` and the flood helpers as clients. Each front must serve clients, a DTLS
// session must stay on the front that made it, the handshake limit is a total across the fronts, and
// SIGTERM drains both.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/dtls_flood.hpp"
#include "support/mini_json.hpp"
#include "support/process.hpp"
#include "support/server_env.hpp"

namespace estgw::test {
namespace {

using namespace std::chrono_literals;

// Every sample of a scrape by its series text (name and labels as rendered).
std::map<std::string, double> samples(const std::string& scrape) {
    std::map<std::string, double> out;
    std::istringstream lines(scrape);
    for (std::string line; std::getline(lines, line);) {
        if (line.empty() || line[0] == '#') continue;
        auto space = line.rfind(' ');
        if (space != std::string::npos) out[line.substr(0, space)] = std::stod(line.substr(space + 1));
    }
    return out;
}

// The sum of the samples whose series starts with `prefix`.
double sum(const std::map<std::string, double>& s, const std::string& prefix) {
    double total = 0;
    for (const auto& [series, value] : s) {
        if (series.starts_with(prefix)) total += value;
    }
    return total;
}

double value(const std::map<std::string, double>& s, const std::string& series) {
    auto found = s.find(series);
    return found == s.end() ? 0 : found->second;
}

std::string front_series(const char* name, int front) {
    return std::string(name) + "{front=\"" + std::to_string(front) + "\"}";
}

JsonValue json_report(const std::string& output) {
    auto start = output.find('{');
    auto end = output.rfind('}');
    if (start == std::string::npos || end == std::string::npos)
        throw std::runtime_error("no JSON: " + output);
    return JsonReader::parse(std::string_view(output).substr(start, end - start + 1));
}

std::size_t count_lines(const std::string& log, const std::vector<std::string>& needles) {
    std::size_t n = 0;
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);) {
        bool all = true;
        for (const auto& needle : needles)
            all = all && line.find(needle) != std::string::npos;
        n += all ? 1 : 0;
    }
    return n;
}

class IoThreads : public ::testing::Test {
  protected:
    void start(std::vector<std::string> extra) {
        metrics_port = free_port(false);
        extra.insert(extra.end(), {"--metrics-listen", "127.0.0.1:" + std::to_string(metrics_port)});
        server.start(extra);
    }
    std::map<std::string, double> scrape() {
        httplib::Client client("127.0.0.1", metrics_port);
        client.set_connection_timeout(5s);
        client.set_read_timeout(10s);
        auto res = client.Get("/metrics");
        EXPECT_TRUE(res && res->status == 200);
        return res ? samples(res->body) : std::map<std::string, double>{};
    }
    std::vector<std::string> bench_argv(const std::vector<std::string>& args) {
        std::vector<std::string> argv = {ESTGW_BINARY, "bench",
                                         "--server",   "coaps://127.0.0.1:" + std::to_string(server.port),
                                         "--cert",     server.idevid.cert,
                                         "--key",      server.idevid.key,
                                         "--ca",       server.pki + "/ca.crt",
                                         "--json"};
        argv.insert(argv.end(), args.begin(), args.end());
        return argv;
    }

    ServerEnv server;
    int metrics_port = 0;
};

TEST_F(IoThreads, BothFrontsServeAndEverySessionStaysOnTheFrontThatMadeIt) {
    start({"--io-threads", "2"});
    EXPECT_NE(server.log().find("io-threads count=2 shared_addresses=SO_REUSEPORT"), std::string::npos)
        << server.log();
    const auto before = scrape();

    // 16 sessions kept for 10 enrollments each (16 client ports), then 40 sessions of one enrollment each.
    // A session whose records reached the other front would find no DTLS state there: its requests would
    // get no answer (bench: timeout) and its client would have to handshake again.
    RunResult kept =
        run_command(bench_argv({"--op", "sen", "--concurrency", "16", "--requests", "160"}), 120s);
    ASSERT_EQ(kept.exit_code, 0) << kept.output;
    EXPECT_EQ(json_report(kept.output)["ok"].number(), 160);
    RunResult fresh = run_command(
        bench_argv({"--op", "sen", "--concurrency", "8", "--requests", "40", "--new-session-per-request"}),
        120s);
    ASSERT_EQ(fresh.exit_code, 0) << fresh.output;
    EXPECT_EQ(json_report(fresh.output)["ok"].number(), 40);

    const auto after = scrape();
    auto delta = [&](const std::string& series) { return value(after, series) - value(before, series); };
    double requests = 0, sessions = 0;
    for (int front = 0; front < 2; ++front) {
        const double served = delta(front_series("estgw_coap_front_requests_total", front));
        const double made = delta(front_series("estgw_coap_front_sessions_total", front));
        std::printf("[figures] front %d: %.0f requests, %.0f sessions\n", front, served, made);
        EXPECT_GT(served, 0) << "front " << front;
        EXPECT_GT(made, 0) << "front " << front;
        requests += served;
        sessions += made;
    }
    EXPECT_EQ(value(after, front_series("estgw_coap_front_requests_total", 2)), 0);  // there are two
    // Per-front counts add up to the process's: every request answered once, every session made once.
    EXPECT_EQ(requests, sum(after, "estgw_coap_requests_total{") - sum(before, "estgw_coap_requests_total{"));
    EXPECT_EQ(requests, 200);
    EXPECT_EQ(sessions, delta("estgw_dtls_handshakes_total{result=\"completed\"}"));
    EXPECT_EQ(sessions, 16 + 40);
    EXPECT_EQ(delta("estgw_dtls_handshakes_total{result=\"failed\"}"), 0);
    EXPECT_EQ(delta("estgw_certificates_issued_total{operation=\"enroll\"}"), 200);
}

TEST_F(IoThreads, HandshakeLimitIsATotalAcrossFrontsAndAPledgeStillGetsIn) {
    // 80 handshakes abandoned after the cookie exchange, from 80 ports on 4 addresses: spread over both
    // fronts, which together may hold --max-handshakes (20) of them; each on its own could hold 20.
    start({"--io-threads", "2", "--max-handshakes", "20", "--max-handshakes-per-address", "20",
           "--handshake-timeout", "30"});
    sockaddr_in target{};
    target.sin_family = AF_INET;
    target.sin_port = htons(static_cast<std::uint16_t>(server.port));
    target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    FloodResult flood = abandoned_handshakes(target, 80, 4, 0, 80);
    EXPECT_EQ(flood.cookies_echoed, 80u);
    std::this_thread::sleep_for(1500ms);  // each front publishes the gauges at least once a second
    const double held = value(scrape(), "estgw_dtls_handshakes_in_progress");
    std::printf("[figures] handshakes held after 80 abandoned ones: %.0f (limit 20)\n", held);
    EXPECT_LE(held, 20);
    EXPECT_GE(held, 10);  // the flood did fill the places (each front holds its share at least)

    // A pledge still enrolls, on whichever front its port maps to: there the oldest handshake gives way,
    // or, when that front holds none, another front ends its oldest and the pledge's retransmitted
    // ClientHello finds the place.
    for (int i = 0; i < 4; ++i) {
        const auto creds = server.enroll("limit-pledge" + std::to_string(i), "CN=limit-pledge", {});
        EXPECT_FALSE(creds.cert.empty());
    }
    EXPECT_LE(value(scrape(), "estgw_dtls_handshakes_in_progress"), 20);
}

TEST_F(IoThreads, SigtermDuringLoadDrainsBothFrontsAnswersEveryRequestInFlightAndExits0) {
    start({"--io-threads", "2"});
    const std::string bench_log = server.dir.file("bench.log");
    ChildProcess bench(bench_argv({"--op", "sen", "--concurrency", "8", "--requests", "2000",
                                   "--new-session-per-request", "--timeout", "5"}),
                       bench_log);
    // Load on both fronts first.
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (count_lines(server.log(), {" request ", " op=sen "}) < 40 &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(50ms);
    ASSERT_GE(count_lines(server.log(), {" request ", " op=sen "}), 40u) << server.log();
    server.send_signal(SIGTERM);
    EXPECT_EQ(server.wait_exit(30s), 0);
    bench.stop(SIGTERM, 5s);

    const std::string log = server.log();
    EXPECT_EQ(count_lines(log, {"front-draining", "front=0"}), 1u) << log;
    EXPECT_EQ(count_lines(log, {"front-draining", "front=1"}), 1u) << log;
    EXPECT_EQ(log.find("drain-timeout"), std::string::npos) << log;
    EXPECT_EQ(log.find("drain-unsent"), std::string::npos) << log;
    EXPECT_NE(log.find(" stopped"), std::string::npos) << log;
    // Every certificate issued had its answer sent: as many 2.04 answers as records in the store.
    const std::size_t answered = count_lines(log, {" request ", " op=sen ", " code=2.04 "});
    const std::string records = server.certs_list({"--limit", "100000"});
    const std::size_t recorded = count_lines(records, {"\tenroll\t"});
    EXPECT_GT(answered, 0u);
    EXPECT_EQ(answered, recorded) << records;
}

TEST_F(IoThreads, OneIoThreadServesAloneAndHoldsItsAddressAlone) {
    start({"--io-threads", "1"});
    RunResult r = run_command(bench_argv({"--op", "sen", "--concurrency", "4", "--requests", "20"}), 120s);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const auto after = scrape();
    EXPECT_GE(value(after, front_series("estgw_coap_front_requests_total", 0)), 20);
    EXPECT_EQ(after.count(front_series("estgw_coap_front_requests_total", 1)), 0u);
    // Without SO_REUSEPORT (as before --io-threads), no other socket can bind the address, even one that
    // asks for SO_REUSEPORT itself.
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(fd, 0);
    const int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(server.port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_NE(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
    ::close(fd);
}

}  // namespace
}  // namespace estgw::test
