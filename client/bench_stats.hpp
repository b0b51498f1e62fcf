// What `estgw bench` reports: throughput, nearest-rank latency percentiles over every sample, errors by CoAP
// code (or by why no answer came), as text or as one JSON object. Pure functions, header-only so the unit
// tests need none of the program's sources.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "common/json.hpp"

namespace estgw::client {

struct LatencySummary {
    double p50 = 0, p90 = 0, p99 = 0, max = 0;
};

// Nearest rank: the smallest sample such that at least q·n samples are at or below it (q in (0, 1]).
// `sorted` ascending; 0 for no samples.
inline double percentile(const std::vector<double>& sorted, double q) {
    if (sorted.empty()) return 0;
    auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
    return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

inline LatencySummary summarize_latencies(std::vector<double> ms) {
    std::sort(ms.begin(), ms.end());
    return {percentile(ms, 0.50), percentile(ms, 0.90), percentile(ms, 0.99), ms.empty() ? 0 : ms.back()};
}

struct BenchReport {
    std::string op;
    unsigned concurrency = 0;
    unsigned long requests = 0;
    bool new_session_per_request = false;
    double duration_s = 0;
    unsigned long ok = 0;
    std::vector<double> latencies_ms;             // one per successful operation
    std::map<std::string, unsigned long> errors;  // "5.03", "4.03", "timeout", "dtls", ... → count
    std::map<std::string, std::string> causes;    // some error keys → why, when known ("dtls" → ...)
};

inline double ops_per_second(const BenchReport& r) {
    return r.duration_s > 0 ? static_cast<double>(r.ok) / r.duration_s : 0;
}

namespace bench_detail {

inline std::string number(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3f", value);
    return text;
}

}  // namespace bench_detail

// {"op":"sen","concurrency":4,"requests":20,"new_session_per_request":false,"duration_s":1.234,
//  "ops_per_s":16.207,"ok":20,"latency_ms":{"p50":…,"p90":…,"p99":…,"max":…},"errors":{"5.03":1},
//  "causes":{"dtls":"the server refused our certificate (--cert): ..."}}
inline std::string format_json(const BenchReport& r) {
    using bench_detail::number;
    LatencySummary l = summarize_latencies(r.latencies_ms);
    std::string errors, causes;
    for (const auto& [key, count] : r.errors)
        errors += (errors.empty() ? "" : ",") + json_string(key) + ":" + std::to_string(count);
    for (const auto& [key, cause] : r.causes)
        causes += (causes.empty() ? "" : ",") + json_string(key) + ":" + json_string(cause);
    return "{\"op\":" + json_string(r.op) + ",\"concurrency\":" + std::to_string(r.concurrency) +
           ",\"requests\":" + std::to_string(r.requests) +
           ",\"new_session_per_request\":" + (r.new_session_per_request ? "true" : "false") +
           ",\"duration_s\":" + number(r.duration_s) + ",\"ops_per_s\":" + number(ops_per_second(r)) +
           ",\"ok\":" + std::to_string(r.ok) + ",\"latency_ms\":{\"p50\":" + number(l.p50) +
           ",\"p90\":" + number(l.p90) + ",\"p99\":" + number(l.p99) + ",\"max\":" + number(l.max) +
           "},\"errors\":{" + errors + "},\"causes\":{" + causes + "}}";
}

// Three lines: the run, the latencies, the outcome; then one line per known cause of an error.
inline std::string format_text(const BenchReport& r) {
    using bench_detail::number;
    LatencySummary l = summarize_latencies(r.latencies_ms);
    std::string errors;
    for (const auto& [key, count] : r.errors)
        errors += (errors.empty() ? "" : ", ") + key + " x" + std::to_string(count);
    std::string causes;
    for (const auto& [key, cause] : r.causes)
        causes += key + ": " + cause + "\n";
    return "bench " + r.op + ": " + std::to_string(r.requests) + " requests over " +
           std::to_string(r.concurrency) + " session(s)" +
           (r.new_session_per_request ? ", a new DTLS session each" : "") + ", " + number(r.duration_s) +
           " s, " + number(ops_per_second(r)) + " operations/s\n" + "latency ms: p50 " + number(l.p50) +
           "  p90 " + number(l.p90) + "  p99 " + number(l.p99) + "  max " + number(l.max) + "\n" + "ok " +
           std::to_string(r.ok) + ", errors: " + (errors.empty() ? "none" : errors) + "\n" + causes;
}

}  // namespace estgw::client
