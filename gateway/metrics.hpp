// What `--metrics-listen` serves on /metrics: counters, gauges and fixed-bucket histograms, rendered in the
// Prometheus text exposition format 0.0.4 (names with the estgw_ prefix, counters ending in _total, times in
// seconds).
//
// The families are process-wide (estgw_metrics()): the places that count (the CoAP front's request line, the
// backends, the DTLS events) are far apart, and a scrape must see all of them. Each family takes a lock per
// update: thousands of requests a second cost nothing measurable next to a DTLS handshake, and a scrape reads
// consistent values without a lock-free design to prove.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace estgw::gateway::metrics {

using LabelValues = std::vector<std::string>;

// One metric family: name, help, type, and the names of its labels. Label values come with each update.
class Family {
  public:
    Family(std::string name, std::string help, std::vector<std::string> label_names);
    virtual ~Family() = default;
    Family(const Family&) = delete;
    Family& operator=(const Family&) = delete;

    const std::string& name() const { return name_; }
    // Appends "# HELP", "# TYPE" and one line per series.
    virtual void render(std::string& out) const = 0;

  protected:
    void render_header(std::string& out, std::string_view type) const;
    // `{a="x",b="y"}` for the family's labels (and `extra` after them, e.g. le="0.5"); empty without labels.
    std::string label_text(const LabelValues& values, std::string_view extra = {}) const;

    std::string name_, help_;
    std::vector<std::string> label_names_;
};

class Counter final : public Family {
  public:
    using Family::Family;
    // A series added with 0 is shown before its first event, so that rate() sees it start.
    void add(const LabelValues& values, std::uint64_t n = 1);
    std::uint64_t value(const LabelValues& values) const;  // 0 for a series never added
    void render(std::string& out) const override;

  private:
    mutable std::mutex mutex_;
    std::map<LabelValues, std::uint64_t> series_;
};

// A value set by its owner, or read from a function at scrape time (which must be safe to call from the
// metrics thread). Without either it is not shown.
class Gauge final : public Family {
  public:
    using Family::Family;
    void set(const LabelValues& values, double value);
    double value(const LabelValues& values) const;
    // Replaces the set values by `read`'s for the unlabelled series; an empty function removes it.
    void read_from(std::function<double()> read);
    void render(std::string& out) const override;

  private:
    mutable std::mutex mutex_;
    std::map<LabelValues, double> series_;
    std::function<double()> read_;
};

class Histogram final : public Family {
  public:
    // `bounds`: the upper bounds of the buckets in increasing order; +Inf is added.
    Histogram(std::string name, std::string help, std::vector<std::string> label_names,
              std::vector<double> bounds);
    void observe(const LabelValues& values, double value);
    std::uint64_t count(const LabelValues& values) const;
    void render(std::string& out) const override;

  private:
    struct Series {
        std::vector<std::uint64_t> buckets;  // per bucket, not cumulative; the last is +Inf
        double sum = 0;
        std::uint64_t count = 0;
    };
    std::vector<double> bounds_;
    mutable std::mutex mutex_;
    std::map<LabelValues, Series> series_;
};

// The request and upstream latency buckets, in seconds: from a cached answer (well under 5 ms) to a request
// that waited its whole default deadline (30 s).
inline const std::vector<double> kLatencyBuckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

// Every family estgw exports, in the order of the scrape.
struct EstgwMetrics {
    Gauge build_info{
        "estgw_build_info", "estgw's version; the value is always 1", {"version"}};  // set by serve
    Counter coap_requests{
        "estgw_coap_requests_total",
        "CoAP requests answered, by EST operation (its short name; core for discovery, none for a request "
        "refused before it became an EST request) and response code",
        {"operation", "code"}};
    Histogram coap_request_duration{"estgw_coap_request_duration_seconds",
                                    "time from a CoAP request's arrival to its answer, by EST operation",
                                    {"operation"},
                                    kLatencyBuckets};
    Counter dtls_handshakes{"estgw_dtls_handshakes_total",
                            "DTLS handshakes past the cookie exchange that completed or failed (an error, a "
                            "timeout, or evicted by a newer one)",
                            {"result"}};
    Gauge dtls_sessions_open{
        "estgw_dtls_sessions_open", "DTLS sessions libcoap holds, established or in their handshake", {}};
    Gauge dtls_handshakes_in_progress{
        "estgw_dtls_handshakes_in_progress", "DTLS handshakes in progress after the cookie exchange", {}};
    Gauge worker_queue_depth{"estgw_worker_queue_depth",
                             "jobs waiting for a worker thread (gateway mode: or for an upstream thread)",
                             {}};
    Counter upstream_requests{"estgw_upstream_requests_total",
                              "gateway: calls to the RFC 7030 upstream, by HTTP status, or by how the call "
                              "failed (connect, tls, timeout, io, aborted)",
                              {"status"}};
    Histogram upstream_request_duration{"estgw_upstream_request_duration_seconds",
                                        "gateway: time of one call to the upstream, connecting included",
                                        {},
                                        kLatencyBuckets};
    Counter certificates_issued{
        "estgw_certificates_issued_total",
        "server: certificates issued and recorded, by operation (enroll, renew, rekey, "
        "serverkeygen)",
        {"operation"}};
    Counter masa_requests{
        "estgw_masa_requests_total",
        "server: voucher-requests taken to a MASA, by result (voucher, retry-later, refused: "
        "a 403/404/406/415 for the pledge, failed: any other answer or none)",
        {"result"}};
    // --io-threads: which I/O thread (CoAP front, by index) served what; every series starts at 0.
    Counter coap_front_requests{
        "estgw_coap_front_requests_total",
        "CoAP requests received by each I/O thread (--io-threads), by its index; each "
        "block of a Block1 body counts",
        {"front"}};
    Counter coap_front_sessions{"estgw_coap_front_sessions_total",
                                "DTLS sessions established by each I/O thread (--io-threads), by its index",
                                {"front"}};

    std::vector<const Family*> families() const;
    std::string render() const;
};

EstgwMetrics& estgw_metrics();

// The content type of render()'s text (the exposition format 0.0.4).
inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace estgw::gateway::metrics
