#include "common/json_reader.hpp"

#include <cstdint>
#include <limits>
#include <set>

namespace estgw {

namespace {

constexpr std::int64_t kMaxExponent = 1'000'000'000;  // far beyond any number written on purpose

class Reader {
  public:
    Reader(std::string_view text, const JsonLimits& limits) : text_(text), limits_(limits) {}

    Result<cbor::Value> document() {
        skip_space();
        auto v = value(0);
        if (!v) return v;
        skip_space();
        if (pos_ != text_.size()) return fail("trailing characters after the JSON value");
        return v;
    }

  private:
    Error fail(const std::string& why) const {
        return make_error(Status::BadRequest, "JSON at offset " + std::to_string(pos_) + ": " + why);
    }
    bool at_end() const { return pos_ >= text_.size(); }
    char peek() const { return text_[pos_]; }
    // RFC 8259 §2: exactly these four.
    void skip_space() {
        while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r'))
            ++pos_;
    }
    bool consume_word(std::string_view word) {
        if (text_.substr(pos_, word.size()) != word) return false;
        pos_ += word.size();
        return true;
    }

    Result<cbor::Value> value(std::size_t depth) {
        if (at_end()) return fail("a value was expected");
        const char c = peek();
        if (c == '{' || c == '[') {
            if (depth >= limits_.max_depth) return fail("nested too deeply");
            return c == '{' ? object(depth + 1) : array(depth + 1);
        }
        if (c == '"') {
            auto s = string();
            if (!s) return s.error();
            return cbor::Value(std::move(*s));
        }
        if (c == '-' || (c >= '0' && c <= '9')) return number();
        if (consume_word("true")) return cbor::Value(true);
        if (consume_word("false")) return cbor::Value(false);
        if (consume_word("null")) return cbor::Value(nullptr);
        return fail("a value was expected");
    }

    Result<cbor::Value> object(std::size_t depth) {
        ++pos_;  // '{'
        cbor::Map map;
        std::set<std::string> names;
        skip_space();
        if (!at_end() && peek() == '}') {
            ++pos_;
            return cbor::Value(std::move(map));
        }
        for (;;) {
            skip_space();
            if (at_end() || peek() != '"') return fail("a member name (a string) was expected");
            const std::size_t name_at = pos_;
            auto name = string();
            if (!name) return name.error();
            if (!names.insert(*name).second) {
                pos_ = name_at;
                return fail("the member name \"" + *name + "\" appears twice");
            }
            skip_space();
            if (at_end() || peek() != ':') return fail("':' was expected");
            ++pos_;
            skip_space();
            auto member = value(depth);
            if (!member) return member;
            map.emplace_back(cbor::Value(std::move(*name)), std::move(*member));
            skip_space();
            if (at_end()) return fail("the object is not closed");
            if (peek() == '}') {
                ++pos_;
                return cbor::Value(std::move(map));
            }
            if (peek() != ',') return fail("',' or '}' was expected");
            ++pos_;
        }
    }

    Result<cbor::Value> array(std::size_t depth) {
        ++pos_;  // '['
        cbor::Array items;
        skip_space();
        if (!at_end() && peek() == ']') {
            ++pos_;
            return cbor::Value(std::move(items));
        }
        for (;;) {
            skip_space();
            auto item = value(depth);
            if (!item) return item;
            items.push_back(std::move(*item));
            skip_space();
            if (at_end()) return fail("the array is not closed");
            if (peek() == ']') {
                ++pos_;
                return cbor::Value(std::move(items));
            }
            if (peek() != ',') return fail("',' or ']' was expected");
            ++pos_;
        }
    }

    // Four hex digits after "\u".
    Result<std::uint32_t> hex4() {
        if (text_.size() - pos_ < 4) return fail("\\u needs four hex digits");
        std::uint32_t unit = 0;
        for (int i = 0; i < 4; ++i) {
            const char h = text_[pos_ + i];
            unit <<= 4;
            if (h >= '0' && h <= '9') {
                unit |= static_cast<std::uint32_t>(h - '0');
            } else if (h >= 'a' && h <= 'f') {
                unit |= static_cast<std::uint32_t>(h - 'a' + 10);
            } else if (h >= 'A' && h <= 'F') {
                unit |= static_cast<std::uint32_t>(h - 'A' + 10);
            } else {
                return fail("\\u needs four hex digits");
            }
        }
        pos_ += 4;
        return unit;
    }

    static void append_utf8(std::string& out, std::uint32_t cp) {
        if (cp < 0x80) {
            out.push_back(static_cast<char>(cp));
        } else if (cp < 0x800) {
            out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else if (cp < 0x10000) {
            out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        } else {
            out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
        }
    }

    // RFC 8259 §7: after "\u", one code unit, or a surrogate pair written as two escapes.
    Result<void> unicode_escape(std::string& out) {
        auto unit = hex4();
        if (!unit) return unit.error();
        std::uint32_t cp = *unit;
        if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("a low surrogate without a high one");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (!consume_word("\\u")) return fail("a high surrogate without a low one");
            auto low = hex4();
            if (!low) return low.error();
            if (*low < 0xDC00 || *low > 0xDFFF) return fail("a high surrogate without a low one");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (*low - 0xDC00);
        }
        append_utf8(out, cp);
        return {};
    }

    Result<std::string> string() {
        ++pos_;  // '"'
        std::string out;
        for (;;) {
            if (at_end()) return fail("the string is not closed");
            const auto c = static_cast<unsigned char>(peek());
            if (c == '"') {
                ++pos_;
                return out;
            }
            if (c < 0x20) return fail("a control character must be escaped in a string");
            if (c == '\\') {
                ++pos_;
                if (at_end()) return fail("the string is not closed");
                const char e = peek();
                ++pos_;
                switch (e) {
                    case '"':
                        out.push_back('"');
                        break;
                    case '\\':
                        out.push_back('\\');
                        break;
                    case '/':
                        out.push_back('/');
                        break;
                    case 'b':
                        out.push_back('\b');
                        break;
                    case 'f':
                        out.push_back('\f');
                        break;
                    case 'n':
                        out.push_back('\n');
                        break;
                    case 'r':
                        out.push_back('\r');
                        break;
                    case 't':
                        out.push_back('\t');
                        break;
                    case 'u':
                        if (auto r = unicode_escape(out); !r) return r.error();
                        break;
                    default:
                        --pos_;
                        return fail(std::string("unknown escape \\") + e);
                }
                continue;
            }
            const std::size_t length = c < 0x80 ? 1 : utf8_sequence_length(as_bytes(text_), pos_);
            if (length == 0) return fail("invalid UTF-8 in a string");
            out.append(text_.substr(pos_, length));
            pos_ += length;
        }
    }

    // Reads the digits at pos_ into `value` (decimal) and returns how many there were; `overflow` is set when
    // the value passed 64 bits.
    std::size_t digits(std::uint64_t& value, bool& overflow) {
        std::size_t count = 0;
        while (!at_end() && peek() >= '0' && peek() <= '9') {
            const auto d = static_cast<std::uint64_t>(peek() - '0');
            if (value > (std::numeric_limits<std::uint64_t>::max() - d) / 10) overflow = true;
            value = value * 10 + d;
            ++pos_;
            ++count;
        }
        return count;
    }

    // RFC 8259 §6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
    Result<cbor::Value> number() {
        const std::size_t start = pos_;
        const bool negative = peek() == '-';
        if (negative) ++pos_;
        if (at_end() || peek() < '0' || peek() > '9') return fail("a digit was expected");
        if (peek() == '0' && pos_ + 1 < text_.size() && text_[pos_ + 1] >= '0' && text_[pos_ + 1] <= '9')
            return fail("a number must not start with 0");
        std::uint64_t magnitude = 0;
        bool overflow = false;
        digits(magnitude, overflow);
        std::int64_t exponent = 0;
        bool integer = true;
        if (!at_end() && peek() == '.') {
            ++pos_;
            const std::size_t count = digits(magnitude, overflow);
            if (count == 0) return fail("a digit was expected after '.'");
            exponent -= static_cast<std::int64_t>(count);
            integer = false;
        }
        if (!at_end() && (peek() == 'e' || peek() == 'E')) {
            ++pos_;
            bool exponent_negative = false;
            if (!at_end() && (peek() == '+' || peek() == '-')) exponent_negative = text_[pos_++] == '-';
            std::uint64_t written = 0;
            bool exponent_overflow = false;
            if (digits(written, exponent_overflow) == 0) return fail("a digit was expected in the exponent");
            if (exponent_overflow || written > static_cast<std::uint64_t>(kMaxExponent))
                return fail("the exponent is out of range");
            exponent +=
                exponent_negative ? -static_cast<std::int64_t>(written) : static_cast<std::int64_t>(written);
            integer = false;
        }
        if (overflow) {
            pos_ = start;
            return fail("the number has more than 64 bits of digits");
        }
        if (integer) {
            if (!negative) return cbor::Value(magnitude);
            if (magnitude == 0) return cbor::Value(std::uint64_t{0});
            // -magnitude as CBOR: -1-n with n = magnitude-1 (RFC 8949 §3.1, major type 1).
            const std::uint64_t n = magnitude - 1;
            if (n <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                return cbor::Value(static_cast<std::int64_t>(-1) - static_cast<std::int64_t>(n));
            return cbor::Value(cbor::Value::NegativeBig{n});
        }
        if (magnitude > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            pos_ = start;
            return fail("the number has more than 63 bits of digits");
        }
        auto mantissa = static_cast<std::int64_t>(magnitude);
        if (negative) mantissa = -mantissa;
        return cbor::Value::tagged(4, cbor::Array{cbor::Value(exponent), cbor::Value(mantissa)});
    }

    std::string_view text_;
    const JsonLimits& limits_;
    std::size_t pos_ = 0;
};

}  // namespace

Result<cbor::Value> parse_json(std::string_view text, const JsonLimits& limits) {
    return Reader(text, limits).document();
}

}  // namespace estgw
