// The metric families of --metrics-listen in the Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): HELP and TYPE lines, escaped label values,
// cumulative histogram buckets ending in +Inf with _sum and _count.
#include "gateway/metrics.hpp"

#include <gtest/gtest.h>

namespace estgw::gateway::metrics {
namespace {

std::string rendered(const Family& family) {
    std::string out;
    family.render(out);
    return out;
}

TEST(MetricsCounter, RendersHelpTypeAndOneLinePerSeries) {
    Counter c("estgw_things_total", "things counted", {"kind"});
    c.add({"a"});
    c.add({"a"}, 2);
    c.add({"b"});
    EXPECT_EQ(rendered(c),
              "# HELP estgw_things_total things counted\n"
              "# TYPE estgw_things_total counter\n"
              "estgw_things_total{kind=\"a\"} 3\n"
              "estgw_things_total{kind=\"b\"} 1\n");
    EXPECT_EQ(c.value({"a"}), 3u);
    EXPECT_EQ(c.value({"never"}), 0u);
}

TEST(MetricsCounter, ASeriesAddedWithZeroIsShownBeforeItsFirstEvent) {
    Counter c("estgw_issued_total", "issued", {"operation"});
    c.add({"renew"}, 0);
    EXPECT_NE(rendered(c).find("estgw_issued_total{operation=\"renew\"} 0\n"), std::string::npos);
}

TEST(MetricsCounter, LabelValuesEscapeBackslashQuoteAndNewline) {
    Counter c("estgw_x_total", "help with a \\ and a\nnewline", {"v"});
    c.add({"a\"b\\c\nd"});
    const std::string text = rendered(c);
    EXPECT_NE(text.find("# HELP estgw_x_total help with a \\\\ and a\\nnewline\n"), std::string::npos);
    EXPECT_NE(text.find("estgw_x_total{v=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos);
}

TEST(MetricsCounter, WithoutLabelsHasNoBraces) {
    Counter c("estgw_y_total", "y", {});
    c.add({});
    EXPECT_NE(rendered(c).find("\nestgw_y_total 1\n"), std::string::npos);
}

TEST(MetricsHistogram, BucketsAreCumulativeAndEndInInfWithSumAndCount) {
    Histogram h("estgw_latency_seconds", "latency", {"operation"}, {0.1, 1});
    h.observe({"sen"}, 0.05);
    h.observe({"sen"}, 0.5);
    h.observe({"sen"}, 3);
    EXPECT_EQ(rendered(h),
              "# HELP estgw_latency_seconds latency\n"
              "# TYPE estgw_latency_seconds histogram\n"
              "estgw_latency_seconds_bucket{operation=\"sen\",le=\"0.1\"} 1\n"
              "estgw_latency_seconds_bucket{operation=\"sen\",le=\"1\"} 2\n"
              "estgw_latency_seconds_bucket{operation=\"sen\",le=\"+Inf\"} 3\n"
              "estgw_latency_seconds_sum{operation=\"sen\"} 3.55\n"
              "estgw_latency_seconds_count{operation=\"sen\"} 3\n");
    EXPECT_EQ(h.count({"sen"}), 3u);
}

TEST(MetricsHistogram, AnObservationEqualToABoundCountsInThatBucket) {
    Histogram h("estgw_h_seconds", "h", {}, {0.5, 1});
    h.observe({}, 0.5);
    EXPECT_NE(rendered(h).find("estgw_h_seconds_bucket{le=\"0.5\"} 1\n"), std::string::npos);
}

TEST(MetricsGauge, ReadsItsFunctionAtEachRender) {
    Gauge g("estgw_depth", "depth", {});
    int depth = 4;
    g.read_from([&] { return static_cast<double>(depth); });
    EXPECT_NE(rendered(g).find("\nestgw_depth 4\n"), std::string::npos);
    depth = 7;
    EXPECT_NE(rendered(g).find("\nestgw_depth 7\n"), std::string::npos);
    g.read_from({});
    EXPECT_EQ(rendered(g), "# HELP estgw_depth depth\n# TYPE estgw_depth gauge\n");
}

TEST(MetricsGauge, SetValuesAreShownByLabel) {
    Gauge g("estgw_build_info", "info", {"version"});
    g.set({"1.2.3"}, 1);
    EXPECT_NE(rendered(g).find("estgw_build_info{version=\"1.2.3\"} 1\n"), std::string::npos);
}

TEST(EstgwMetricsFamilies, AreNamedWithThePrefixAndCountersEndInTotal) {
    EstgwMetrics m;
    for (const Family* f : m.families()) {
        EXPECT_TRUE(f->name().starts_with("estgw_")) << f->name();
        const std::string text = rendered(*f);
        if (text.find(" counter\n") != std::string::npos) {
            EXPECT_TRUE(f->name().ends_with("_total")) << f->name();
        }
    }
}

}  // namespace
}  // namespace estgw::gateway::metrics
