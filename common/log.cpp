#include "common/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace estgw::log {

namespace {

std::atomic<Level> g_level{Level::Info};
std::mutex g_sink_mutex;
Sink g_sink;  // guarded by g_sink_mutex; empty means stderr

bool needs_quotes(std::string_view v) {
    if (v.empty()) return true;
    for (unsigned char c : v) {
        if (c <= 0x20 || c == '"' || c == '=' || c == '\\' || c == 0x7f) return true;
    }
    return false;
}

void append_value(std::string& out, std::string_view v) {
    if (!needs_quotes(v)) {
        out.append(v);
        return;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    out.push_back('"');
    for (unsigned char c : v) {
        switch (c) {
            case '"':
                out.append("\\\"");
                break;
            case '\\':
                out.append("\\\\");
                break;
            case '\n':
                out.append("\\n");
                break;
            case '\r':
                out.append("\\r");
                break;
            case '\t':
                out.append("\\t");
                break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    out.append("\\x");
                    out.push_back(kHex[c >> 4]);
                    out.push_back(kHex[c & 0xf]);
                } else {
                    out.push_back(static_cast<char>(c));
                }
        }
    }
    out.push_back('"');
}

std::string timestamp() {
    using namespace std::chrono;
    auto now = system_clock::now();
    auto secs = system_clock::to_time_t(now);
    auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    return buf;
}

}  // namespace

std::optional<Level> parse_level(std::string_view name) {
    if (name == "debug") return Level::Debug;
    if (name == "info") return Level::Info;
    if (name == "warn" || name == "warning") return Level::Warn;
    if (name == "error") return Level::Error;
    if (name == "off") return Level::Off;
    return std::nullopt;
}

std::string_view level_name(Level level) {
    switch (level) {
        case Level::Debug:
            return "debug";
        case Level::Info:
            return "info";
        case Level::Warn:
            return "warn";
        case Level::Error:
            return "error";
        case Level::Off:
            return "off";
    }
    return "unknown";
}

void set_level(Level level) {
    g_level.store(level, std::memory_order_relaxed);
}
Level level() {
    return g_level.load(std::memory_order_relaxed);
}

void set_sink(Sink sink) {
    std::lock_guard lock(g_sink_mutex);
    g_sink = std::move(sink);
}

std::string format_fields(Level level, std::string_view event, std::initializer_list<Field> fields) {
    std::string out;
    out.append(level_name(level));
    out.push_back(' ');
    append_value(out, event);
    for (const Field& f : fields) {
        out.push_back(' ');
        out.append(f.key);
        out.push_back('=');
        append_value(out, f.value);
    }
    return out;
}

void write(Level level, std::string_view event, std::initializer_list<Field> fields) {
    if (!enabled(level)) return;
    std::string record = timestamp();
    record.push_back(' ');
    record.append(format_fields(level, event, fields));
    std::lock_guard lock(g_sink_mutex);
    if (g_sink) {
        g_sink(record);
    } else {
        record.push_back('\n');
        std::fwrite(record.data(), 1, record.size(), stderr);
    }
}

}  // namespace estgw::log
