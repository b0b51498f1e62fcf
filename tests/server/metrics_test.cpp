// --metrics-listen end to end: the real binary, coap-client-openssl as the pledge, Debian's promtool to check
// the exposition format, and a real Prometheus server that scrapes estgw and answers a query for what it
// read. /healthz and `estgw health` in both modes.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <optional>
#include <sstream>
#include <thread>

#include "gateway/gateway_env.hpp"
#include "support/mini_json.hpp"
#include "support/process.hpp"
#include "support/server_env.hpp"

namespace estgw::test {
namespace {

using namespace std::chrono_literals;

struct HttpAnswer {
    int status = 0;  // 0: no answer
    std::string body;
};

HttpAnswer http_get(int port, const std::string& path) {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(5s);
    client.set_read_timeout(10s);
    auto res = client.Get(path.c_str());
    if (!res) return {};
    return {res->status, res->body};
}

// The value of the sample `series` (name and labels exactly as rendered) in a scrape; none when absent.
std::optional<double> sample(const std::string& scrape, const std::string& series) {
    std::istringstream lines(scrape);
    for (std::string line; std::getline(lines, line);) {
        if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
    }
    return std::nullopt;
}

const std::string kIssuedEnroll = "estgw_certificates_issued_total{operation=\"enroll\"}";
const std::string kSenAnswered = "estgw_coap_requests_total{operation=\"sen\",code=\"2.04\"}";

class MetricsServer : public ::testing::Test {
  protected:
    void SetUp() override {
        metrics_port = free_port(false);
        server.start({"--metrics-listen", "127.0.0.1:" + std::to_string(metrics_port)});
    }
    std::string scrape() {
        auto answer = http_get(metrics_port, "/metrics");
        EXPECT_EQ(answer.status, 200);
        return answer.body;
    }
    void enroll(int n) {
        for (int i = 0; i < n; ++i)
            server.enroll("m" + std::to_string(counter_++), "CN=metrics-pledge", {});
    }

    ServerEnv server;
    int metrics_port = 0;

  private:
    int counter_ = 0;
};

TEST_F(MetricsServer, PromtoolAcceptsAScrapeTakenAfterTraffic) {
    enroll(2);
    EXPECT_EQ(server.coap("/.well-known/est/crts").code, "2.05");
    EXPECT_EQ(server.coap("/.well-known/core").code, "2.05");
    EXPECT_EQ(server.coap("/.well-known/est/nothing").code, "4.04");
    const std::string file = server.dir.file("scrape.txt");
    write_file(file, scrape());
    // promtool reads the scrape from its standard input only.
    RunResult check = run_command({"sh", "-c", "promtool check metrics < " + file}, 30s);
    EXPECT_EQ(check.exit_code, 0) << check.output << "\n" << read_file(file);
}

TEST_F(MetricsServer, ServesTheTextFormatContentTypeAndBuildInfo) {
    httplib::Client client("127.0.0.1", metrics_port);
    auto res = client.Get("/metrics");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_NE(res->body.find("estgw_build_info{version=\""), std::string::npos);
    EXPECT_EQ(http_get(metrics_port, "/other").status, 404);
}

TEST_F(MetricsServer, TheIssuedCounterMovesByExactlyTheEnrollmentsSent) {
    const std::string before = scrape();
    ASSERT_EQ(sample(before, kIssuedEnroll), 0.0) << before;
    enroll(3);
    // A CSR that does not verify is refused and issues nothing.
    write_file(server.dir.file("broken.csr"), "not a CSR");
    EXPECT_EQ(
        server.coap("/.well-known/est/sen", {"-m", "post", "-t", "286", "-f", server.dir.file("broken.csr")})
            .code,
        "4.00");
    const std::string after = scrape();
    EXPECT_EQ(sample(after, kIssuedEnroll), 3.0) << after;
    EXPECT_EQ(sample(after, kSenAnswered), 3.0) << after;
    // Refused before it became an EST request (its body is no CSR): counted under operation "none".
    EXPECT_EQ(sample(after, "estgw_coap_requests_total{operation=\"none\",code=\"4.00\"}"), 1.0) << after;
    EXPECT_EQ(sample(after, "estgw_coap_request_duration_seconds_count{operation=\"sen\"}"), 3.0) << after;
    EXPECT_EQ(sample(after, "estgw_certificates_issued_total{operation=\"renew\"}"), 0.0) << after;
    // Each coap-client run is a DTLS session of its own: at least these handshakes completed.
    EXPECT_GE(sample(after, "estgw_dtls_handshakes_total{result=\"completed\"}").value_or(0), 4.0) << after;
    EXPECT_TRUE(sample(after, "estgw_worker_queue_depth").has_value()) << after;
    EXPECT_TRUE(sample(after, "estgw_dtls_sessions_open").has_value()) << after;
    EXPECT_TRUE(sample(after, "estgw_dtls_handshakes_in_progress").has_value()) << after;
}

TEST_F(MetricsServer, HealthzIsOkAndEstgwHealthExitsZeroWhileServing) {
    auto health = http_get(metrics_port, "/healthz");
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(health.body, "ok\n");
    RunResult r = run_estgw({"health", "--metrics", "http://127.0.0.1:" + std::to_string(metrics_port)});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("healthy: ok"), std::string::npos) << r.output;
}

TEST_F(MetricsServer, EstgwHealthExitsOneWhenNothingAnswers) {
    const int port = metrics_port;
    server.stop();
    RunResult r = run_estgw({"health", "--metrics", "http://127.0.0.1:" + std::to_string(port)});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("no answer from http://127.0.0.1:" + std::to_string(port) + "/healthz"),
              std::string::npos)
        << r.output;
}

// A container restarted at once binds the same port while the connections of its health checks, which the
// server closed first, are still in TIME_WAIT.
TEST_F(MetricsServer, RestartsOnItsPortWhileClosedConnectionsAreInTimeWait) {
    for (int i = 0; i < 3; ++i) {
        RunResult r = run_estgw({"health", "--metrics", "http://127.0.0.1:" + std::to_string(metrics_port)});
        ASSERT_EQ(r.exit_code, 0) << r.output;
    }
    server.stop();
    server.start({"--metrics-listen", "127.0.0.1:" + std::to_string(metrics_port)});
    EXPECT_EQ(http_get(metrics_port, "/healthz").status, 200) << server.log();
}

TEST(EstgwHealth, TakesItsUrlFromTheEnvironmentWithoutMetrics) {
    const int port = free_port(false);
    const std::string url = "http://127.0.0.1:" + std::to_string(port);
    RunResult r = run_command({"env", "ESTGW_METRICS_URL=" + url, ESTGW_BINARY, "health"}, 30s);
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find(url + "/healthz"), std::string::npos) << r.output;
}

TEST(EstgwHealth, RefusesAUrlThatIsNotHttp) {
    RunResult r = run_estgw({"health", "--metrics", "https://127.0.0.1:1"});
    EXPECT_EQ(r.exit_code, 2) << r.output;
}

// Gateway mode is healthy while its upstream answers (the /crts refresh at start is the first contact).
TEST(GatewayHealth, IsOkOnceTheUpstreamAnswered) {
    GatewayEnv gw;
    const int metrics_port = free_port(false);
    gw.start_gateway({"--metrics-listen", "127.0.0.1:" + std::to_string(metrics_port)});
    HttpAnswer health;
    for (int i = 0; i < 50 && health.status != 200; ++i) {
        std::this_thread::sleep_for(100ms);
        health = http_get(metrics_port, "/healthz");
    }
    EXPECT_EQ(health.status, 200) << health.body << gw.gateway_log();
    const std::string scrape = http_get(metrics_port, "/metrics").body;
    EXPECT_GE(sample(scrape, "estgw_upstream_requests_total{status=\"200\"}").value_or(0), 1.0) << scrape;
    EXPECT_GE(sample(scrape, "estgw_upstream_request_duration_seconds_count").value_or(0), 1.0) << scrape;
}

TEST(GatewayHealth, Is503WithTheReasonWhileTheUpstreamNeverAnswered) {
    GatewayEnv gw;
    const int metrics_port = free_port(false);
    const int nothing_there = free_port(false);
    gw.start_gateway({"--metrics-listen", "127.0.0.1:" + std::to_string(metrics_port), "--upstream",
                      "https://127.0.0.1:" + std::to_string(nothing_there)});
    auto health = http_get(metrics_port, "/healthz");
    EXPECT_EQ(health.status, 503);
    EXPECT_EQ(health.body, "the upstream has not answered yet\n");
    RunResult r = run_estgw({"health", "--metrics", "http://127.0.0.1:" + std::to_string(metrics_port)});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("unhealthy (503): the upstream has not answered yet"), std::string::npos)
        << r.output;
    const std::string scrape = http_get(metrics_port, "/metrics").body;
    EXPECT_GE(sample(scrape, "estgw_upstream_requests_total{status=\"connect\"}").value_or(0), 1.0) << scrape;
}

// A real Prometheus (Debian's package): generated configuration, its own storage in a temporary directory,
// a free loopback port. It scrapes estgw every second; the test asks its query API for the counter.
TEST_F(MetricsServer, PrometheusScrapesTheIssuedCounterAndAnswersAQueryForIt) {
    const int prometheus_port = free_port(false);
    const std::string config = server.dir.file("prometheus.yml");
    write_file(config,
               "global:\n"
               "  scrape_interval: 1s\n"
               "scrape_configs:\n"
               "  - job_name: estgw\n"
               "    static_configs:\n"
               "      - targets: ['127.0.0.1:" +
                   std::to_string(metrics_port) + "']\n");
    ChildProcess prometheus(
        {"prometheus", "--config.file=" + config, "--storage.tsdb.path=" + server.dir.file("prometheus-data"),
         "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port)},
        server.dir.file("prometheus.log"));
    enroll(2);
    const std::string query =
        "/api/v1/query?query=sum(estgw_certificates_issued_total%7Bjob%3D%22estgw%22%7D)";
    std::string last;
    // A scrape a second after Prometheus is up; generous for a loaded machine.
    for (int i = 0; i < 120; ++i) {
        std::this_thread::sleep_for(500ms);
        auto answer = http_get(prometheus_port, query);
        if (answer.status != 200) continue;
        last = answer.body;
        const JsonValue json = JsonReader::parse(answer.body);
        const JsonArray& result = json["data"]["result"].array();
        if (!result.empty() && result.front()["value"].array().at(1).string() == "2") break;
    }
    const JsonValue json = JsonReader::parse(last.empty() ? "{}" : last);
    ASSERT_FALSE(last.empty()) << prometheus.log();
    ASSERT_EQ(json["status"].string(), "success") << last;
    const JsonArray& result = json["data"]["result"].array();
    ASSERT_EQ(result.size(), 1u) << last << prometheus.log();
    EXPECT_EQ(result.front()["value"].array().at(1).string(), "2") << last;
    prometheus.stop(SIGTERM, 10s);
}

}  // namespace
}  // namespace estgw::test
