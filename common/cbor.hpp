// Strict CBOR (RFC 8949) for the subset estgw needs.
//
// Decoding takes bytes from the network: definite lengths only, every declared length is checked against the
// bytes remaining *before* anything is allocated (libcbor 0.8 allocates from declared lengths: a 5-byte input
// made it use 17 GB), a nesting limit, and trailing bytes rejected. Encoding always uses the shortest form.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace estgw::cbor {

struct Value;
using Array = std::vector<Value>;
// Keys keep their order of appearance; duplicates are rejected by the decoder.
using Map = std::vector<std::pair<Value, Value>>;

struct Tagged;
enum class Simple : std::uint8_t { False = 20, True = 21, Null = 22 };

struct Value {
    // uint64 for major type 0; int64 holds negative values (major type 1) in the range that fits;
    // NegativeBig holds -1-n for n ≥ 2^63 (kept exact, rarely useful).
    struct NegativeBig {
        std::uint64_t n;
        bool operator==(const NegativeBig&) const = default;
    };
    using Storage = std::variant<std::uint64_t, std::int64_t, NegativeBig, Bytes, std::string, Array, Map,
                                 std::shared_ptr<Tagged>, bool, std::nullptr_t>;
    Storage v;

    Value() : v(nullptr) {}
    Value(std::uint64_t u) : v(u) {}                // NOLINT
    Value(unsigned int u) : v(std::uint64_t{u}) {}  // NOLINT: without it Value(5u) would be ambiguous
    Value(int i);                                   // NOLINT: non-negative → uint, negative → int64
    Value(std::int64_t i);                          // NOLINT
    Value(NegativeBig n) : v(n) {}                  // NOLINT
    Value(Bytes b) : v(std::move(b)) {}             // NOLINT
    Value(std::string s) : v(std::move(s)) {}       // NOLINT
    Value(const char* s) : v(std::string(s)) {}     // NOLINT
    Value(Array a) : v(std::move(a)) {}             // NOLINT
    Value(Map m) : v(std::move(m)) {}               // NOLINT
    Value(bool b) : v(b) {}                         // NOLINT
    Value(std::nullptr_t) : v(nullptr) {}           // NOLINT
    static Value tagged(std::uint64_t tag, Value inner);

    bool is_uint() const { return std::holds_alternative<std::uint64_t>(v); }
    bool is_negative() const {
        return std::holds_alternative<std::int64_t>(v) || std::holds_alternative<NegativeBig>(v);
    }
    bool is_bytes() const { return std::holds_alternative<Bytes>(v); }
    bool is_text() const { return std::holds_alternative<std::string>(v); }
    bool is_array() const { return std::holds_alternative<Array>(v); }
    bool is_map() const { return std::holds_alternative<Map>(v); }
    bool is_tag() const { return std::holds_alternative<std::shared_ptr<Tagged>>(v); }
    bool is_bool() const { return std::holds_alternative<bool>(v); }
    bool is_null() const { return std::holds_alternative<std::nullptr_t>(v); }

    std::uint64_t as_uint() const { return std::get<std::uint64_t>(v); }
    const Bytes& as_bytes() const { return std::get<Bytes>(v); }
    const std::string& as_text() const { return std::get<std::string>(v); }
    const Array& as_array() const { return std::get<Array>(v); }
    const Map& as_map() const { return std::get<Map>(v); }
    const Tagged& as_tag() const { return *std::get<std::shared_ptr<Tagged>>(v); }
    bool as_bool() const { return std::get<bool>(v); }
    // Any integer in [INT64_MIN, INT64_MAX] (COSE labels and algorithms such as -7); nullopt otherwise.
    std::optional<std::int64_t> to_int64() const;
    // The value stored under key when this is a map holding it; nullptr otherwise.
    const Value* find(const Value& key) const;

    // Integers compare by value whichever alternative holds them; tags compare by number and content; maps
    // compare pair by pair in order.
    bool operator==(const Value& other) const;
};

struct Tagged {
    std::uint64_t tag;
    Value value;
};

struct DecodeLimits {
    std::size_t max_depth = 16;      // arrays, maps and tags nested in one another; 0 admits only scalars
    std::size_t max_items = 100000;  // total data items, against quadratic blow-ups; an array of N counts
                                     // its N items (a map 2N) when it declares them, before they are read
    // Indefinite-length strings, arrays and maps (RFC 8949 §3.2.2-3.2.3). Off by default; YANG-CBOR data
    // (vouchers, voucher requests, BRSKI telemetry) turns it on: RFC 9254 §3 makes decoders support them.
    // A string's chunks must be definite strings of its own major type; they decode as one string.
    bool allow_indefinite = false;
};

Bytes encode(const Value& v);
// Decodes exactly one item. Trailing bytes, indefinite lengths (unless limits allow them), reserved
// additional-info values, invalid UTF-8 in text strings, duplicate map keys and simple values other than
// false/true/null are errors (Status::BadRequest, the message says at which offset). Non-shortest
// integer/length forms are accepted on input (RFC 8949 §4.1 preferred serialization binds encoders, not
// decoders).
Result<Value> decode(ByteView in, const DecodeLimits& limits = {});

// The length in bytes of the one item at the start of `in`, checked as decode() checks it; bytes after it
// are allowed. For copying an element of an array exactly as it was encoded (brski/voucher_answer.cpp keeps
// a COSE message's bstrs byte for byte, indefinite or non-preferred lengths included).
Result<std::size_t> item_length(ByteView in, const DecodeLimits& limits = {});

// Diagnostic notation (RFC 8949 §8), for logs and test messages.
std::string diagnostic(const Value& v);

}  // namespace estgw::cbor
