#include "common/cbor.hpp"

#include <limits>
#include <set>
#include <type_traits>

namespace estgw::cbor {

namespace {

constexpr std::uint8_t kUnsigned = 0;
constexpr std::uint8_t kNegative = 1;
constexpr std::uint8_t kByteString = 2;
constexpr std::uint8_t kTextString = 3;
constexpr std::uint8_t kArray = 4;
constexpr std::uint8_t kMap = 5;
constexpr std::uint8_t kTag = 6;
constexpr std::uint8_t kSimple = 7;

// An integer as CBOR puts it on the wire: major type 0 with n, or major type 1 with -1-n. Every integer
// alternative of Value::Storage maps here, so a hand-built int64 5 encodes and compares like uint64 5.
struct WireInteger {
    std::uint8_t major;
    std::uint64_t n;
    bool operator==(const WireInteger&) const = default;
};

std::optional<WireInteger> wire_integer(const Value::Storage& v) {
    if (const auto* u = std::get_if<std::uint64_t>(&v)) return WireInteger{kUnsigned, *u};
    if (const auto* i = std::get_if<std::int64_t>(&v)) {
        auto bits = static_cast<std::uint64_t>(*i);
        return *i >= 0 ? WireInteger{kUnsigned, bits} : WireInteger{kNegative, ~bits};  // ~i == -1-i
    }
    if (const auto* big = std::get_if<Value::NegativeBig>(&v)) return WireInteger{kNegative, big->n};
    return std::nullopt;
}

// ---------------------------------------------------------------------------------------------------------
// Encoding (RFC 8949 §4.1 preferred serialization: the argument always in its shortest form).

void put_head(Bytes& out, std::uint8_t major, std::uint64_t arg) {
    const auto initial = static_cast<std::uint8_t>(major << 5);
    if (arg < 24) {
        out.push_back(static_cast<std::uint8_t>(initial | arg));
        return;
    }
    int width = 8;
    std::uint8_t ai = 27;
    if (arg <= 0xff) {
        width = 1;
        ai = 24;
    } else if (arg <= 0xffff) {
        width = 2;
        ai = 25;
    } else if (arg <= 0xffffffff) {
        width = 4;
        ai = 26;
    }
    out.push_back(static_cast<std::uint8_t>(initial | ai));
    for (int shift = (width - 1) * 8; shift >= 0; shift -= 8) {
        out.push_back(static_cast<std::uint8_t>(arg >> shift));
    }
}

void encode_into(Bytes& out, const Value& value) {
    if (auto integer = wire_integer(value.v)) {
        put_head(out, integer->major, integer->n);
        return;
    }
    std::visit(
        [&out](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, Bytes>) {
                put_head(out, kByteString, x.size());
                out.insert(out.end(), x.begin(), x.end());
            } else if constexpr (std::is_same_v<T, std::string>) {
                put_head(out, kTextString, x.size());
                out.insert(out.end(), x.begin(), x.end());
            } else if constexpr (std::is_same_v<T, Array>) {
                put_head(out, kArray, x.size());
                for (const auto& item : x) {
                    encode_into(out, item);
                }
            } else if constexpr (std::is_same_v<T, Map>) {
                put_head(out, kMap, x.size());
                for (const auto& [key, item] : x) {
                    encode_into(out, key);
                    encode_into(out, item);
                }
            } else if constexpr (std::is_same_v<T, std::shared_ptr<Tagged>>) {
                // A default-constructed (empty) pointer has no content to tag; it goes out as null rather
                // than crashing, like the default Value.
                if (!x) {
                    put_head(out, kSimple, static_cast<std::uint8_t>(Simple::Null));
                    return;
                }
                put_head(out, kTag, x->tag);
                encode_into(out, x->value);
            } else if constexpr (std::is_same_v<T, bool>) {
                put_head(out, kSimple, static_cast<std::uint8_t>(x ? Simple::True : Simple::False));
            } else if constexpr (std::is_same_v<T, std::nullptr_t>) {
                put_head(out, kSimple, static_cast<std::uint8_t>(Simple::Null));
            }
            // The integer alternatives were handled through wire_integer() above.
        },
        value.v);
}

// ---------------------------------------------------------------------------------------------------------
// Decoding.

// For error messages: a key may be megabytes long.
std::string short_diagnostic(const Value& v) {
    constexpr std::size_t kMax = 64;
    std::string text = diagnostic(v);
    if (text.size() > kMax) text = text.substr(0, kMax) + "...";
    return text;
}

class Decoder {
  public:
    Decoder(ByteView in, const DecodeLimits& limits) : in_(in), limits_(limits) {}

    Result<Value> decode_all() {
        if (limits_.max_items == 0) return fail(0, "item limit 0 admits no data item");
        items_ = 1;
        auto value = item(0);
        if (!value) return value;
        if (pos_ != in_.size()) {
            return fail(pos_, std::to_string(in_.size() - pos_) + " trailing byte(s) after the data item");
        }
        return value;
    }

    Result<std::size_t> decode_prefix() {
        if (limits_.max_items == 0) return fail(0, "item limit 0 admits no data item");
        items_ = 1;
        if (auto value = item(0); !value) return value.error();
        return pos_;
    }

  private:
    struct Head {
        std::uint8_t major;
        std::uint8_t ai;
        std::uint64_t arg;
        bool indefinite = false;  // additional information 31 on a string, array or map (when allowed)
    };

    static constexpr std::uint8_t kBreak = 0xff;

    static Error fail(std::size_t offset, const std::string& what) {
        return make_error(Status::BadRequest, "CBOR: " + what + " at offset " + std::to_string(offset));
    }

    std::size_t remaining() const { return in_.size() - pos_; }

    // Reads the initial byte and, for major types 0-6, the argument that follows it. Major type 7 is left
    // to simple_value(): there the additional information selects a kind of value, not an argument length.
    Result<Head> head(std::size_t start) {
        if (remaining() == 0) return fail(start, "truncated input: data item expected");
        const std::uint8_t initial = in_[pos_++];
        Head h{static_cast<std::uint8_t>(initial >> 5), static_cast<std::uint8_t>(initial & 0x1f), 0, false};
        if (h.major == kSimple || h.ai < 24) {
            h.arg = h.ai;
            return h;
        }
        if (h.ai >= 28 && h.ai <= 30) {
            return fail(start, "reserved additional information " + std::to_string(h.ai));
        }
        if (h.ai == 31) {
            if (h.major >= kByteString && h.major <= kMap) {
                if (!limits_.allow_indefinite) return fail(start, "indefinite-length item (not supported)");
                h.indefinite = true;
                return h;
            }
            return fail(start,
                        "additional information 31 is invalid for major type " + std::to_string(h.major));
        }
        const std::size_t width = std::size_t{1} << (h.ai - 24);
        if (remaining() < width) {
            return fail(start, "truncated input: argument needs " + std::to_string(width) + " byte(s), " +
                                   std::to_string(remaining()) + " remain");
        }
        for (std::size_t k = 0; k < width; ++k) {
            h.arg = h.arg << 8 | in_[pos_++];
        }
        return h;
    }

    // Checks a declared count of entries (items_per_entry data items each, every item at least one byte)
    // against the bytes that remain and against the item budget, before the caller reserves room for them:
    // a declared length is only a claim until the bytes are there.
    Result<void> claim(std::size_t start, std::uint64_t entries, std::uint64_t items_per_entry,
                       const char* container, const char* entry) {
        if (entries > remaining() / items_per_entry) {
            return fail(start, std::string(container) + " declares " + std::to_string(entries) + " " + entry +
                                   " but only " + std::to_string(remaining()) + " byte(s) remain");
        }
        return count_items(start, entries * items_per_entry);
    }

    Result<void> count_items(std::size_t start, std::uint64_t more) {
        if (more > limits_.max_items - items_) {
            return fail(start, "more than " + std::to_string(limits_.max_items) + " data items");
        }
        items_ += static_cast<std::size_t>(more);
        return {};
    }

    Result<void> enter(std::size_t start, std::size_t depth) {
        if (depth + 1 > limits_.max_depth) {
            return fail(start, "nesting deeper than " + std::to_string(limits_.max_depth));
        }
        return {};
    }

    // `depth` counts the arrays, maps and tags that enclose this item.
    Result<Value> item(std::size_t depth) {
        const std::size_t start = pos_;
        ESTGW_TRY(h, head(start));
        switch (h.major) {
            case kUnsigned:
                return Value(h.arg);
            case kNegative:
                if (h.arg <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
                    return Value(-1 - static_cast<std::int64_t>(h.arg));
                }
                return Value(Value::NegativeBig{h.arg});
            case kByteString:
            case kTextString:
                if (h.indefinite) return chunked_string(start, h.major);
                return string(start, h);
            case kArray:
                if (h.indefinite) return indefinite_array(start, depth);
                return array(start, h.arg, depth);
            case kMap:
                if (h.indefinite) return indefinite_map(start, depth);
                return map(start, h.arg, depth);
            case kTag:
                return tag(start, h.arg, depth);
            default:
                return simple_value(start, h.ai);
        }
    }

    Result<Value> string(std::size_t start, const Head& h) {
        const bool text = h.major == kTextString;
        if (h.arg > remaining()) {
            return fail(start, std::string(text ? "text" : "byte") + " string declares " +
                                   std::to_string(h.arg) + " byte(s) but only " +
                                   std::to_string(remaining()) + " remain");
        }
        const ByteView content = in_.subspan(pos_, static_cast<std::size_t>(h.arg));
        if (text) {
            if (auto bad = invalid_utf8_at(content)) return fail(pos_ + *bad, "invalid UTF-8 in text string");
        }
        pos_ += content.size();
        if (text) return Value(std::string(content.begin(), content.end()));
        return Value(Bytes(content.begin(), content.end()));
    }

    // True (and the break consumed) when the next byte ends an indefinite-length item; an error when the
    // input ends first.
    Result<bool> at_break(std::size_t start, const char* what) {
        if (remaining() == 0) return fail(start, std::string("truncated input: ") + what + " has no break");
        if (in_[pos_] != kBreak) return false;
        ++pos_;
        return true;
    }

    // RFC 8949 §3.2.3: the chunks are definite-length strings of the same major type; text chunks must each
    // be valid UTF-8 (string() checks each one).
    Result<Value> chunked_string(std::size_t start, std::uint8_t major) {
        const bool text = major == kTextString;
        Bytes joined;
        while (true) {
            ESTGW_TRY(done, at_break(start, text ? "indefinite-length text string"
                                                 : "indefinite-length byte string"));
            if (done) break;
            const std::size_t chunk_start = pos_;
            ESTGW_TRY(h, head(chunk_start));
            if (h.major != major || h.indefinite) {
                return fail(chunk_start,
                            "a chunk of an indefinite-length string must be a definite string of "
                            "the same type");
            }
            if (auto counted = count_items(chunk_start, 1); !counted) return counted.error();
            ESTGW_TRY(chunk, string(chunk_start, h));
            if (text) {
                const std::string& t = chunk.as_text();
                joined.insert(joined.end(), t.begin(), t.end());
            } else {
                const Bytes& b = chunk.as_bytes();
                joined.insert(joined.end(), b.begin(), b.end());
            }
        }
        if (text) return Value(std::string(joined.begin(), joined.end()));
        return Value(std::move(joined));
    }

    Result<Value> indefinite_array(std::size_t start, std::size_t depth) {
        if (auto entered = enter(start, depth); !entered) return entered.error();
        Array items;
        while (true) {
            ESTGW_TRY(done, at_break(start, "indefinite-length array"));
            if (done) break;
            if (auto counted = count_items(pos_, 1); !counted) return counted.error();
            ESTGW_TRY(element, item(depth + 1));
            items.push_back(std::move(element));
        }
        return Value(std::move(items));
    }

    Result<Value> indefinite_map(std::size_t start, std::size_t depth) {
        if (auto entered = enter(start, depth); !entered) return entered.error();
        Map pairs;
        std::set<Bytes> seen;
        while (true) {
            ESTGW_TRY(done, at_break(start, "indefinite-length map"));
            if (done) break;
            const std::size_t key_start = pos_;
            if (auto counted = count_items(key_start, 2); !counted) return counted.error();
            ESTGW_TRY(key, item(depth + 1));
            if (!seen.insert(encode(key)).second) {
                return fail(key_start, "duplicate map key " + short_diagnostic(key));
            }
            if (remaining() > 0 && in_[pos_] == kBreak) return fail(pos_, "map key without a value");
            ESTGW_TRY(element, item(depth + 1));
            pairs.emplace_back(std::move(key), std::move(element));
        }
        return Value(std::move(pairs));
    }

    Result<Value> array(std::size_t start, std::uint64_t count, std::size_t depth) {
        if (auto entered = enter(start, depth); !entered) return entered.error();
        if (auto claimed = claim(start, count, 1, "array", "item(s)"); !claimed) return claimed.error();
        Array items;
        items.reserve(static_cast<std::size_t>(count));
        for (std::uint64_t k = 0; k < count; ++k) {
            ESTGW_TRY(element, item(depth + 1));
            items.push_back(std::move(element));
        }
        return Value(std::move(items));
    }

    // RFC 8949 §5.6: a map with duplicate keys is not valid CBOR for any protocol we speak. Keys are compared
    // in their preferred encoding, so 0x01 and 0x1801 (non-shortest, but accepted) are the same key.
    Result<Value> map(std::size_t start, std::uint64_t count, std::size_t depth) {
        if (auto entered = enter(start, depth); !entered) return entered.error();
        if (auto claimed = claim(start, count, 2, "map", "pair(s)"); !claimed) return claimed.error();
        Map pairs;
        pairs.reserve(static_cast<std::size_t>(count));
        std::set<Bytes> seen;
        for (std::uint64_t k = 0; k < count; ++k) {
            const std::size_t key_start = pos_;
            ESTGW_TRY(key, item(depth + 1));
            if (!seen.insert(encode(key)).second) {
                return fail(key_start, "duplicate map key " + short_diagnostic(key));
            }
            ESTGW_TRY(element, item(depth + 1));
            pairs.emplace_back(std::move(key), std::move(element));
        }
        return Value(std::move(pairs));
    }

    Result<Value> tag(std::size_t start, std::uint64_t number, std::size_t depth) {
        if (auto entered = enter(start, depth); !entered) return entered.error();
        if (auto claimed = count_items(start, 1); !claimed) return claimed.error();
        ESTGW_TRY(content, item(depth + 1));
        return Value::tagged(number, std::move(content));
    }

    Result<Value> simple_value(std::size_t start, std::uint8_t ai) {
        switch (ai) {
            case static_cast<std::uint8_t>(Simple::False):
                return Value(false);
            case static_cast<std::uint8_t>(Simple::True):
                return Value(true);
            case static_cast<std::uint8_t>(Simple::Null):
                return Value(nullptr);
            case 23:
                return fail(start, "undefined (not supported)");
            case 24:
                return fail(start, "simple value in one extra byte (not supported)");
            case 25:
            case 26:
            case 27:
                return fail(start, "floating-point number (not supported)");
            case 28:
            case 29:
            case 30:
                return fail(start, "reserved additional information " + std::to_string(ai));
            case 31:
                return fail(start, "break stop code outside an indefinite-length item");
            default:
                return fail(start, "simple value " + std::to_string(ai) + " (not supported)");
        }
    }

    ByteView in_;
    DecodeLimits limits_;
    std::size_t pos_ = 0;
    std::size_t items_ = 0;  // data items seen or already declared by an enclosing array/map/tag
};

// ---------------------------------------------------------------------------------------------------------
// Diagnostic notation (RFC 8949 §8).

void quote_text(std::string& out, const std::string& text) {
    static constexpr char kDigits[] = "0123456789abcdef";
    out.push_back('"');
    for (char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (byte < 0x20 || byte == 0x7f) {
            out += "\\u00";
            out.push_back(kDigits[byte >> 4]);
            out.push_back(kDigits[byte & 0x0f]);
        } else {
            out.push_back(c);
        }
    }
    out.push_back('"');
}

void diagnostic_into(std::string& out, const Value& value) {
    std::visit(
        [&out](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, std::uint64_t> || std::is_same_v<T, std::int64_t>) {
                out += std::to_string(x);
            } else if constexpr (std::is_same_v<T, Value::NegativeBig>) {
                // -1-n does not fit in 64 bits; only n = 2^64-1 makes n+1 overflow as well.
                out += x.n == std::numeric_limits<std::uint64_t>::max() ? "-18446744073709551616"
                                                                        : "-" + std::to_string(x.n + 1);
            } else if constexpr (std::is_same_v<T, Bytes>) {
                out += "h'" + to_hex(x) + "'";
            } else if constexpr (std::is_same_v<T, std::string>) {
                quote_text(out, x);
            } else if constexpr (std::is_same_v<T, Array>) {
                out.push_back('[');
                for (std::size_t k = 0; k < x.size(); ++k) {
                    if (k > 0) out += ", ";
                    diagnostic_into(out, x[k]);
                }
                out.push_back(']');
            } else if constexpr (std::is_same_v<T, Map>) {
                out.push_back('{');
                for (std::size_t k = 0; k < x.size(); ++k) {
                    if (k > 0) out += ", ";
                    diagnostic_into(out, x[k].first);
                    out += ": ";
                    diagnostic_into(out, x[k].second);
                }
                out.push_back('}');
            } else if constexpr (std::is_same_v<T, std::shared_ptr<Tagged>>) {
                if (!x) {
                    out += "null";  // as encode() writes it
                    return;
                }
                out += std::to_string(x->tag) + "(";
                diagnostic_into(out, x->value);
                out.push_back(')');
            } else if constexpr (std::is_same_v<T, bool>) {
                out += x ? "true" : "false";
            } else {
                static_assert(std::is_same_v<T, std::nullptr_t>);
                out += "null";
            }
        },
        value.v);
}

}  // namespace

Value::Value(int i) : Value(static_cast<std::int64_t>(i)) {}

Value::Value(std::int64_t i) {
    if (i >= 0) {
        v = static_cast<std::uint64_t>(i);
    } else {
        v = i;
    }
}

Value Value::tagged(std::uint64_t tag, Value inner) {
    Value out;
    out.v = std::make_shared<Tagged>(Tagged{tag, std::move(inner)});
    return out;
}

std::optional<std::int64_t> Value::to_int64() const {
    auto integer = wire_integer(v);
    if (!integer || integer->n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return std::nullopt;
    }
    const auto n = static_cast<std::int64_t>(integer->n);
    return integer->major == kUnsigned ? n : -1 - n;
}

const Value* Value::find(const Value& key) const {
    const auto* pairs = std::get_if<Map>(&v);
    if (pairs == nullptr) return nullptr;
    for (const auto& [k, item] : *pairs) {
        if (k == key) return &item;
    }
    return nullptr;
}

bool Value::operator==(const Value& other) const {
    const auto mine = wire_integer(v);
    const auto theirs = wire_integer(other.v);
    if (mine || theirs) return mine == theirs;
    if (v.index() != other.v.index()) return false;
    return std::visit(
        [&other](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            const auto& y = std::get<T>(other.v);
            if constexpr (std::is_same_v<T, std::shared_ptr<Tagged>>) {
                if (!x || !y) return x == y;
                return x->tag == y->tag && x->value == y->value;
            } else {
                return x == y;
            }
        },
        v);
}

Bytes encode(const Value& v) {
    Bytes out;
    encode_into(out, v);
    return out;
}

Result<Value> decode(ByteView in, const DecodeLimits& limits) {
    return Decoder(in, limits).decode_all();
}

Result<std::size_t> item_length(ByteView in, const DecodeLimits& limits) {
    return Decoder(in, limits).decode_prefix();
}

std::string diagnostic(const Value& v) {
    std::string out;
    diagnostic_into(out, v);
    return out;
}

}  // namespace estgw::cbor
