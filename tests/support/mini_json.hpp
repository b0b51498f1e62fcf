// A strict reader for the JSON that `estgw bench --json` and `estgw certs list --json` print (RFC 8259
// objects and arrays, strings with the short escapes and \u00XX, numbers, true/false/null), so the tests
// check that the output parses rather than that it contains certain substrings. Test code only: throws
// std::runtime_error on anything unexpected.
#pragma once

#include <cctype>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace estgw::test {

struct JsonValue;
using JsonObject = std::map<std::string, JsonValue>;
using JsonArray = std::vector<JsonValue>;

struct JsonValue {
    std::variant<std::nullptr_t, bool, double, std::string, std::shared_ptr<JsonObject>,
                 std::shared_ptr<JsonArray>>
        v;

    const JsonObject& object() const { return *std::get<std::shared_ptr<JsonObject>>(v); }
    const JsonArray& array() const { return *std::get<std::shared_ptr<JsonArray>>(v); }
    bool is_null() const { return std::holds_alternative<std::nullptr_t>(v); }
    double number() const { return std::get<double>(v); }
    bool boolean() const { return std::get<bool>(v); }
    const std::string& string() const { return std::get<std::string>(v); }
    const JsonValue& operator[](const std::string& key) const {
        auto it = object().find(key);
        if (it == object().end()) throw std::runtime_error("JSON: no member " + key);
        return it->second;
    }
};

class JsonReader {
  public:
    static JsonValue parse(std::string_view text) {
        JsonReader r(text);
        JsonValue value = r.value();
        r.skip_space();
        if (r.pos_ != text.size()) r.fail("trailing characters");
        return value;
    }

  private:
    explicit JsonReader(std::string_view text) : text_(text) {}

    [[noreturn]] void fail(const std::string& why) const {
        throw std::runtime_error("JSON at " + std::to_string(pos_) + ": " + why);
    }
    void skip_space() {
        while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_])))
            ++pos_;
    }
    char peek() {
        skip_space();
        if (pos_ >= text_.size()) fail("unexpected end");
        return text_[pos_];
    }
    void expect(char c) {
        if (peek() != c) fail(std::string("expected '") + c + "'");
        ++pos_;
    }
    bool literal(std::string_view word) {
        if (text_.substr(pos_, word.size()) != word) return false;
        pos_ += word.size();
        return true;
    }

    JsonValue value() {
        char c = peek();
        if (c == '{') return object();
        if (c == '[') return array();
        if (c == '"') return JsonValue{string()};
        if (literal("true")) return JsonValue{true};
        if (literal("false")) return JsonValue{false};
        if (literal("null")) return JsonValue{nullptr};
        return JsonValue{number()};
    }
    JsonValue object() {
        expect('{');
        auto members = std::make_shared<JsonObject>();
        if (peek() == '}') {
            ++pos_;
            return JsonValue{members};
        }
        while (true) {
            std::string key = string();
            expect(':');
            if (!members->emplace(key, value()).second) fail("duplicate member " + key);
            if (peek() == '}') {
                ++pos_;
                return JsonValue{members};
            }
            expect(',');
        }
    }
    JsonValue array() {
        expect('[');
        auto items = std::make_shared<JsonArray>();
        if (peek() == ']') {
            ++pos_;
            return JsonValue{items};
        }
        while (true) {
            items->push_back(value());
            if (peek() == ']') {
                ++pos_;
                return JsonValue{items};
            }
            expect(',');
        }
    }
    std::string string() {
        expect('"');
        std::string out;
        while (pos_ < text_.size() && text_[pos_] != '"') {
            char c = text_[pos_++];
            if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
            if (c == '\\') {
                if (pos_ >= text_.size()) fail("unterminated escape");
                char e = text_[pos_++];
                if (e == 'u') {
                    if (pos_ + 4 > text_.size()) fail("short \\u escape");
                    out += static_cast<char>(std::stoi(std::string(text_.substr(pos_, 4)), nullptr, 16));
                    pos_ += 4;
                } else if (e == '"' || e == '\\' || e == '/') {
                    out += e;
                } else {
                    out += short_escape(e);
                }
            } else {
                out += c;
            }
        }
        expect('"');
        return out;
    }
    char short_escape(char e) const {
        static constexpr std::pair<char, char> kShortEscapes[] = {
            {'b', '\b'}, {'f', '\f'}, {'n', '\n'}, {'r', '\r'}, {'t', '\t'}};
        for (const auto& [name, value] : kShortEscapes) {
            if (name == e) return value;
        }
        fail("unsupported escape");
    }
    double number() {
        std::size_t start = pos_;
        if (pos_ < text_.size() && text_[pos_] == '-') ++pos_;
        while (pos_ < text_.size() &&
               (std::isdigit(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.' ||
                text_[pos_] == 'e' || text_[pos_] == 'E' || text_[pos_] == '+' || text_[pos_] == '-'))
            ++pos_;
        if (start == pos_) fail("expected a value");
        std::size_t used = 0;
        std::string digits(text_.substr(start, pos_ - start));
        double d = std::stod(digits, &used);
        if (used != digits.size()) fail("bad number");
        return d;
    }

    std::string_view text_;
    std::size_t pos_ = 0;
};

}  // namespace estgw::test
