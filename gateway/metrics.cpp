#include "gateway/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace estgw::gateway::metrics {

namespace {

// The exposition format's escapes: in HELP text backslash and newline, in label values the double quote too.
std::string escaped(std::string_view text, bool quote) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (quote && c == '"') {
            out += "\\\"";
        } else {
            out += c;
        }
    }
    return out;
}

// The shortest text that reads back as the same double (Go's ParseFloat, which Prometheus uses, reads it).
std::string number(double value) {
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    if (std::isnan(value)) return "NaN";
    char buffer[32];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    return ec == std::errc{} ? std::string(buffer, end) : "NaN";
}

}  // namespace

Family::Family(std::string name, std::string help, std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}

void Family::render_header(std::string& out, std::string_view type) const {
    out += "# HELP " + name_ + " " + escaped(help_, false) + "\n";
    out += "# TYPE " + name_ + " " + std::string(type) + "\n";
}

std::string Family::label_text(const LabelValues& values, std::string_view extra) const {
    std::string text;
    for (std::size_t i = 0; i < label_names_.size() && i < values.size(); ++i) {
        text += (text.empty() ? "" : ",") + label_names_[i] + "=\"" + escaped(values[i], true) + "\"";
    }
    if (!extra.empty()) text += (text.empty() ? "" : ",") + std::string(extra);
    return text.empty() ? text : "{" + text + "}";
}

void Counter::add(const LabelValues& values, std::uint64_t n) {
    std::lock_guard lock(mutex_);
    series_[values] += n;
}

std::uint64_t Counter::value(const LabelValues& values) const {
    std::lock_guard lock(mutex_);
    auto found = series_.find(values);
    return found == series_.end() ? 0 : found->second;
}

void Counter::render(std::string& out) const {
    render_header(out, "counter");
    std::lock_guard lock(mutex_);
    for (const auto& [values, count] : series_)
        out += name_ + label_text(values) + " " + std::to_string(count) + "\n";
}

void Gauge::set(const LabelValues& values, double value) {
    std::lock_guard lock(mutex_);
    series_[values] = value;
}

double Gauge::value(const LabelValues& values) const {
    std::lock_guard lock(mutex_);
    if (read_ && values.empty()) return read_();
    auto found = series_.find(values);
    return found == series_.end() ? 0 : found->second;
}

void Gauge::read_from(std::function<double()> read) {
    std::lock_guard lock(mutex_);
    read_ = std::move(read);
}

void Gauge::render(std::string& out) const {
    render_header(out, "gauge");
    std::lock_guard lock(mutex_);
    if (read_) {
        out += name_ + " " + number(read_()) + "\n";
        return;
    }
    for (const auto& [values, value] : series_)
        out += name_ + label_text(values) + " " + number(value) + "\n";
}

Histogram::Histogram(std::string name, std::string help, std::vector<std::string> label_names,
                     std::vector<double> bounds)
    : Family(std::move(name), std::move(help), std::move(label_names)), bounds_(std::move(bounds)) {}

void Histogram::observe(const LabelValues& values, double value) {
    // The first bound at or above the value (a bucket counts observations <= its bound), else +Inf.
    const auto bucket =
        static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
    std::lock_guard lock(mutex_);
    Series& s = series_[values];
    if (s.buckets.empty()) s.buckets.assign(bounds_.size() + 1, 0);
    ++s.buckets[bucket];
    s.sum += value;
    ++s.count;
}

std::uint64_t Histogram::count(const LabelValues& values) const {
    std::lock_guard lock(mutex_);
    auto found = series_.find(values);
    return found == series_.end() ? 0 : found->second.count;
}

void Histogram::render(std::string& out) const {
    render_header(out, "histogram");
    std::lock_guard lock(mutex_);
    for (const auto& [values, s] : series_) {
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i <= bounds_.size(); ++i) {
            cumulative += s.buckets[i];
            const std::string le = i < bounds_.size() ? number(bounds_[i]) : "+Inf";
            out += name_ + "_bucket" + label_text(values, "le=\"" + le + "\"") + " " +
                   std::to_string(cumulative) + "\n";
        }
        out += name_ + "_sum" + label_text(values) + " " + number(s.sum) + "\n";
        out += name_ + "_count" + label_text(values) + " " + std::to_string(s.count) + "\n";
    }
}

std::vector<const Family*> EstgwMetrics::families() const {
    return {&build_info,          &coap_requests,      &coap_request_duration,
            &dtls_handshakes,     &dtls_sessions_open, &dtls_handshakes_in_progress,
            &worker_queue_depth,  &upstream_requests,  &upstream_request_duration,
            &certificates_issued, &masa_requests,      &coap_front_requests,
            &coap_front_sessions};
}

std::string EstgwMetrics::render() const {
    std::string out;
    for (const Family* family : families())
        family->render(out);
    return out;
}

EstgwMetrics& estgw_metrics() {
    static EstgwMetrics metrics;
    return metrics;
}

}  // namespace estgw::gateway::metrics
