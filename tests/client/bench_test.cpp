// `estgw bench` end to end against a server-mode estgw: small runs whose reports must parse and add up.
#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <thread>

#include "support/mini_json.hpp"
#include "support/process.hpp"
#include "support/server_env.hpp"
#include "support/shared_env.hpp"
#include "support/test_pki.hpp"

namespace estgw::test {
namespace {

// The JSON object in the output (libcoap may log to stderr around it).
JsonValue json_report(const RunResult& r) {
    auto start = r.output.find('{');
    auto end = r.output.rfind('}');
    if (start == std::string::npos || end == std::string::npos)
        throw std::runtime_error("no JSON: " + r.output);
    return JsonReader::parse(std::string_view(r.output).substr(start, end - start + 1));
}

double error_total(const JsonValue& json) {
    double total = 0;
    for (const auto& [code, count] : json["errors"].object())
        total += count.number();
    return total;
}

class Bench : public SharedEnvTest<Bench, ServerEnv> {
  protected:
    RunResult bench(const std::vector<std::string>& args,
                    const std::optional<Credentials>& who = std::nullopt) {
        Credentials c = who.value_or(env_->idevid);
        std::vector<std::string> argv = {ESTGW_BINARY, "bench",
                                         "--server",   "coaps://127.0.0.1:" + std::to_string(env_->port),
                                         "--cert",     c.cert,
                                         "--key",      c.key,
                                         "--ca",       env_->pki + "/ca.crt"};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_command(argv, std::chrono::seconds(120));
    }
    // The client addresses of the `op` requests the server logged after offset `from` of its log, once
    // `expected` of them are there (the server logs just after answering).
    std::set<std::string> logged_peers(std::size_t from, const std::string& op, std::size_t expected) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (true) {
            std::vector<std::string> peers;
            std::istringstream lines(env_->log().substr(from));
            std::string line;
            while (std::getline(lines, line)) {
                auto peer = line.find(" peer=");
                if (peer == std::string::npos || line.find(" op=" + op + " ") == std::string::npos) continue;
                peers.push_back(line.substr(peer + 6, line.find(' ', peer + 6) - peer - 6));
            }
            if (peers.size() >= expected || std::chrono::steady_clock::now() >= deadline)
                return std::set<std::string>(peers.begin(), peers.end());
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
};

TEST_F(Bench, SenRunReportsEveryRequestAsJson) {
    std::size_t log_from = env_->log().size();
    RunResult r = bench({"--op", "sen", "--concurrency", "4", "--requests", "20", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    JsonValue json = json_report(r);
    EXPECT_EQ(json["op"].string(), "sen");
    EXPECT_EQ(json["concurrency"].number(), 4);
    EXPECT_EQ(json["requests"].number(), 20);
    EXPECT_FALSE(json["new_session_per_request"].boolean());
    EXPECT_EQ(json["ok"].number(), 20);
    EXPECT_EQ(error_total(json), 0);
    EXPECT_GT(json["duration_s"].number(), 0);
    EXPECT_GT(json["ops_per_s"].number(), 0);
    const JsonValue& latency = json["latency_ms"];
    EXPECT_GT(latency["p50"].number(), 0);
    EXPECT_LE(latency["p50"].number(), latency["p90"].number());
    EXPECT_LE(latency["p90"].number(), latency["p99"].number());
    EXPECT_LE(latency["p99"].number(), latency["max"].number());
    EXPECT_EQ(logged_peers(log_from, "sen", 20).size(), 4u);  // four sessions, reused
}

// --serials: what a scale-out test compares with the servers' database (tests/scaling/).
TEST_F(Bench, SerialsFileListsEveryCertificateReceivedOnceAndAllAreRecorded) {
    std::string file = env_->dir.file("bench-sen-serials.txt");
    RunResult r =
        bench({"--op", "sen", "--concurrency", "3", "--requests", "12", "--serials", file, "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    ASSERT_EQ(json_report(r)["ok"].number(), 12);
    std::istringstream lines(read_file(file));
    std::set<std::string> serials;
    std::string line;
    std::size_t count = 0;
    while (std::getline(lines, line)) {
        ++count;
        serials.insert(line);
    }
    EXPECT_EQ(count, 12u);
    EXPECT_EQ(serials.size(), 12u);  // each certificate has a serial of its own
    const std::string listed = env_->certs_list();
    for (const auto& serial : serials) {
        EXPECT_FALSE(serial.empty());
        EXPECT_EQ(serial.find_first_not_of("0123456789ABCDEF"), std::string::npos) << serial;
        EXPECT_NE(listed.find("\n" + serial + "\t"), std::string::npos) << serial << " not in:\n" << listed;
    }
}

TEST_F(Bench, NewSessionPerRequestOpensOneSessionPerRequest) {
    std::size_t log_from = env_->log().size();
    RunResult r = bench(
        {"--op", "crts", "--concurrency", "4", "--requests", "20", "--new-session-per-request", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    JsonValue json = json_report(r);
    EXPECT_TRUE(json["new_session_per_request"].boolean());
    EXPECT_EQ(json["ok"].number(), 20);
    // Each session has its own socket, so twenty sessions come from twenty client ports.
    EXPECT_EQ(logged_peers(log_from, "crts", 20).size(), 20u);
}

// --hold keeps the sessions open (and idle) after the run, for bench/run.sh's memory measurement.
TEST_F(Bench, HoldKeepsTheSessionsOpenAfterTheRun) {
    auto started = std::chrono::steady_clock::now();
    RunResult r = bench({"--op", "crts", "--concurrency", "3", "--requests", "3", "--hold", "2", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
    EXPECT_EQ(json_report(r)["ok"].number(), 3);
}

TEST_F(Bench, RefusedRequestsAreCountedByCodeAndTheRunExits1) {
    // The IDevID may not re-enroll (it comes from the manufacturer CA): every sren is 4.03.
    RunResult r = bench({"--op", "sren", "--concurrency", "4", "--requests", "20", "--json"});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    JsonValue json = json_report(r);
    EXPECT_EQ(json["ok"].number(), 0);
    EXPECT_EQ(json["errors"]["4.03"].number(), 20);
    EXPECT_EQ(json["ok"].number() + error_total(json), json["requests"].number());
}

TEST_F(Bench, SrenWithAnIssuedCertificateRenews) {
    Credentials ldevid = env_->enroll("bench-ldevid", "CN=bench-ldevid", {"DNS:bench-ldevid.example"});
    RunResult r = bench({"--op", "sren", "--concurrency", "2", "--requests", "6", "--json"}, ldevid);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(json_report(r)["ok"].number(), 6);
}

TEST_F(Bench, MoreSessionsThanThreadsAndSmallBlocksWork) {
    // 4 × cores threads at most: 40 sessions means several sessions per libcoap context.
    RunResult r =
        bench({"--op", "crts", "--concurrency", "40", "--requests", "120", "--block", "64", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    JsonValue json = json_report(r);
    EXPECT_EQ(json["ok"].number(), 120);
    EXPECT_EQ(error_total(json), 0);
}

TEST_F(Bench, TextReportNamesThroughputAndLatencies) {
    RunResult r = bench({"--op", "crts", "--concurrency", "2", "--requests", "10"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("bench crts: 10 requests over 2 session(s)"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("operations/s"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("p99"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("ok 10, errors: none"), std::string::npos) << r.output;
}

TEST_F(Bench, UsageErrorsExit2) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--concurrency", "0"},
             {"--requests", "0"},
             {"--op", "skg"},
             {"--block", "2048"},
             {"--serials", env_->dir.file("bench-crts-serials.txt"), "--op", "crts"}}) {
        RunResult r = bench(args);
        EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.output;
        EXPECT_NE(r.output.find(args[0]), std::string::npos) << r.output;
    }
}

TEST_F(Bench, ARefusedHandshakeIsCountedAsDtlsWithItsCause) {
    RunResult r = bench({"--op", "crts", "--requests", "2", "--json"},
                        env().issue_pledge("bench-expired", "mfg-ca", expired()));
    EXPECT_EQ(r.exit_code, 1) << r.output;
    JsonValue json = json_report(r);
    EXPECT_EQ(json["errors"]["dtls"].number(), 2) << r.output;
    EXPECT_EQ(
        json["causes"]["dtls"].string(),
        "the server refused our certificate (--cert): certificate expired; --cert has expired or is not "
        "valid yet: renew it");
}

TEST(BenchUnreachable, NoAnswerIsCountedAsAnError) {
    ServerEnv env;  // a PKI, but no server started
    RunResult r = run_command(
        {ESTGW_BINARY, "bench", "--server", "coaps://127.0.0.1:" + std::to_string(free_port(true)), "--cert",
         env.idevid.cert, "--key", env.idevid.key, "--ca", env.pki + "/ca.crt", "--op", "crts", "--requests",
         "3", "--timeout", "3", "--json"},
        std::chrono::seconds(60));
    EXPECT_EQ(r.exit_code, 1) << r.output;
    JsonValue json = json_report(r);
    EXPECT_EQ(json["ok"].number(), 0);
    EXPECT_EQ(error_total(json), 3);
}

}  // namespace
}  // namespace estgw::test
