// Logging facade: levels and one-line structured records ("ts level event key=value ...").
//
// Values are quoted when they contain spaces, quotes, '=' or control characters, so every record stays on one
// line and can be split mechanically. Never pass private keys or whole CSRs at info level.
#pragma once

#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace estgw::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3, Off = 4 };

struct Field {
    std::string_view key;
    std::string value;
    Field(std::string_view k, std::string v) : key(k), value(std::move(v)) {}
    Field(std::string_view k, std::string_view v) : key(k), value(v) {}
    Field(std::string_view k, const char* v) : key(k), value(v) {}
    template <class N, class = std::enable_if_t<std::is_arithmetic_v<N>>>
    Field(std::string_view k, N n) : key(k), value(std::to_string(n)) {}
};

std::optional<Level> parse_level(std::string_view name);  // "debug", "info", "warn"/"warning", "error", "off"
std::string_view level_name(Level level);

void set_level(Level level);
Level level();
inline bool enabled(Level l) {
    return l >= level() && l != Level::Off;
}

// Where complete records go (one call per record, no trailing newline). Default: stderr.
// Passing nullptr restores the default.
using Sink = std::function<void(std::string_view record)>;
void set_sink(Sink sink);

// Formats a record without the timestamp; used by write() and by tests.
std::string format_fields(Level level, std::string_view event, std::initializer_list<Field> fields);

void write(Level level, std::string_view event, std::initializer_list<Field> fields = {});
inline void debug(std::string_view event, std::initializer_list<Field> f = {}) {
    write(Level::Debug, event, f);
}
inline void info(std::string_view event, std::initializer_list<Field> f = {}) {
    write(Level::Info, event, f);
}
inline void warn(std::string_view event, std::initializer_list<Field> f = {}) {
    write(Level::Warn, event, f);
}
inline void error(std::string_view event, std::initializer_list<Field> f = {}) {
    write(Level::Error, event, f);
}

}  // namespace estgw::log
