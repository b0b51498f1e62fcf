// The report of `estgw bench`: nearest-rank percentiles over every sample, throughput, and the JSON form.
#include "client/bench_stats.hpp"

#include <gtest/gtest.h>

#include "support/mini_json.hpp"

namespace estgw::client {
namespace {

std::vector<double> one_to(int n) {
    std::vector<double> v;
    for (int i = 1; i <= n; ++i)
        v.push_back(i);
    return v;
}

TEST(BenchPercentile, NearestRankOfOneToTen) {
    auto v = one_to(10);
    EXPECT_EQ(percentile(v, 0.50), 5);
    EXPECT_EQ(percentile(v, 0.90), 9);
    EXPECT_EQ(percentile(v, 0.99), 10);
    EXPECT_EQ(percentile(v, 1.0), 10);
}

TEST(BenchPercentile, NinetyNinthOfAHundredSamplesIsTheNinetyNinthSample) {
    auto v = one_to(100);
    EXPECT_EQ(percentile(v, 0.99), 99);
    EXPECT_EQ(percentile(v, 0.50), 50);
}

TEST(BenchPercentile, OneSampleIsEveryPercentile) {
    EXPECT_EQ(percentile({7.5}, 0.5), 7.5);
    EXPECT_EQ(percentile({7.5}, 0.99), 7.5);
}

TEST(BenchPercentile, NoSamplesGiveZero) {
    EXPECT_EQ(percentile({}, 0.5), 0);
    LatencySummary s = summarize_latencies({});
    EXPECT_EQ(s.max, 0);
}

TEST(BenchPercentile, SummarySortsItsInput) {
    LatencySummary s = summarize_latencies({9, 1, 5, 3, 7, 2, 8, 4, 10, 6});
    EXPECT_EQ(s.p50, 5);
    EXPECT_EQ(s.p90, 9);
    EXPECT_EQ(s.p99, 10);
    EXPECT_EQ(s.max, 10);
}

TEST(BenchReport, OpsPerSecondCountsSuccessesOnly) {
    BenchReport r;
    r.ok = 30;
    r.errors["5.03"] = 10;
    r.duration_s = 2;
    EXPECT_EQ(ops_per_second(r), 15);
    r.duration_s = 0;
    EXPECT_EQ(ops_per_second(r), 0);
}

BenchReport sample_report() {
    BenchReport r;
    r.op = "sen";
    r.concurrency = 4;
    r.requests = 12;
    r.new_session_per_request = true;
    r.duration_s = 0.5;
    r.ok = 10;
    r.latencies_ms = one_to(10);
    r.errors = {{"5.03", 1}, {"timeout", 1}};
    return r;
}

TEST(BenchReport, JsonHasEveryFieldWithItsValue) {
    auto json = test::JsonReader::parse(format_json(sample_report()));
    EXPECT_EQ(json["op"].string(), "sen");
    EXPECT_EQ(json["concurrency"].number(), 4);
    EXPECT_EQ(json["requests"].number(), 12);
    EXPECT_TRUE(json["new_session_per_request"].boolean());
    EXPECT_EQ(json["duration_s"].number(), 0.5);
    EXPECT_EQ(json["ops_per_s"].number(), 20);
    EXPECT_EQ(json["ok"].number(), 10);
    EXPECT_EQ(json["latency_ms"]["p50"].number(), 5);
    EXPECT_EQ(json["latency_ms"]["p90"].number(), 9);
    EXPECT_EQ(json["latency_ms"]["p99"].number(), 10);
    EXPECT_EQ(json["latency_ms"]["max"].number(), 10);
    EXPECT_EQ(json["errors"]["5.03"].number(), 1);
    EXPECT_EQ(json["errors"]["timeout"].number(), 1);
    EXPECT_EQ(json["errors"].object().size(), 2u);
}

TEST(BenchReport, JsonWithoutErrorsHasAnEmptyErrorsObject) {
    BenchReport r;
    r.op = "crts";
    auto json = test::JsonReader::parse(format_json(r));
    EXPECT_TRUE(json["errors"].object().empty());
    EXPECT_FALSE(json["new_session_per_request"].boolean());
}

TEST(BenchReport, JsonEscapesQuotesAndControlCharacters) {
    BenchReport r;
    r.op = "a\"b\\c\n";
    auto json = test::JsonReader::parse(format_json(r));
    EXPECT_EQ(json["op"].string(), "a\"b\\c\n");
}

TEST(BenchReport, TextNamesThroughputLatenciesAndErrors) {
    std::string text = format_text(sample_report());
    EXPECT_NE(text.find("bench sen: 12 requests over 4 session(s), a new DTLS session each"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("20.000 operations/s"), std::string::npos) << text;
    EXPECT_NE(text.find("p99 10.000"), std::string::npos) << text;
    EXPECT_NE(text.find("5.03 x1, timeout x1"), std::string::npos) << text;
}

TEST(BenchReport, JsonHasTheKnownCausesOfErrors) {
    BenchReport r = sample_report();
    r.errors["dtls"] = 2;
    r.causes["dtls"] = "the server refused our certificate (--cert): certificate expired";
    auto json = test::JsonReader::parse(format_json(r));
    EXPECT_EQ(json["causes"]["dtls"].string(),
              "the server refused our certificate (--cert): certificate expired");
    EXPECT_EQ(json["causes"].object().size(), 1u);
}

TEST(BenchReport, TextGivesEachKnownCauseALine) {
    BenchReport r = sample_report();
    r.errors["dtls"] = 2;
    r.causes["dtls"] = "the server refused our certificate (--cert): unknown CA";
    EXPECT_NE(format_text(r).find("\ndtls: the server refused our certificate (--cert): unknown CA\n"),
              std::string::npos)
        << format_text(r);
}

TEST(BenchReport, TextSaysNoneWithoutErrors) {
    BenchReport r;
    r.op = "crts";
    EXPECT_NE(format_text(r).find("errors: none"), std::string::npos);
}

}  // namespace
}  // namespace estgw::client
