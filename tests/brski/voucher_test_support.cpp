#include "brski/voucher_test_support.hpp"

#include <gtest/gtest.h>

namespace estgw::brski {

void PrintTo(const Voucher& v, std::ostream* out) {
    // The voucher-request tree has every leaf of the model.
    auto encoded = encode(Kind::VoucherRequest, v);
    *out << (encoded.ok() ? cbor::diagnostic(*cbor::decode(*encoded)) : "(" + encoded.error().message + ")");
    for (const std::string& u : v.unknown) {
        *out << " unknown " << u;
    }
}

Voucher decoded(Kind kind, ByteView payload) {
    auto result = decode(kind, payload);
    EXPECT_TRUE(result.ok()) << to_hex(payload) << ": " << (result.ok() ? "" : result.error().message);
    return result.ok() ? *result : Voucher{};
}

std::string refusal(Kind kind, ByteView payload) {
    auto result = decode(kind, payload);
    EXPECT_FALSE(result.ok()) << to_hex(payload) << " was accepted";
    if (result.ok()) return {};
    EXPECT_EQ(result.status(), Status::BadRequest) << result.error().message;
    return result.error().message;
}

namespace {

// The head of a string, array or map of indefinite length, and the break that ends it.
constexpr std::uint8_t kIndefiniteBytes = 0x5f;
constexpr std::uint8_t kIndefiniteText = 0x7f;
constexpr std::uint8_t kIndefiniteArray = 0x9f;
constexpr std::uint8_t kIndefiniteMap = 0xbf;
constexpr std::uint8_t kBreak = 0xff;

void append(Bytes& out, const Bytes& part) {
    out.insert(out.end(), part.begin(), part.end());
}

template <class String>
void chunked(Bytes& out, std::uint8_t head, const String& s) {
    out.push_back(head);
    const std::size_t half = s.size() / 2;
    if (half > 0) append(out, cbor::encode(cbor::Value(String(s.begin(), s.begin() + half))));
    append(out, cbor::encode(cbor::Value(String(s.begin() + half, s.end()))));
    out.push_back(kBreak);
}

}  // namespace

Bytes indefinite(const cbor::Value& v) {
    Bytes out;
    if (v.is_bytes()) {
        chunked(out, kIndefiniteBytes, v.as_bytes());
    } else if (v.is_text()) {
        chunked(out, kIndefiniteText, v.as_text());  // test texts are ASCII: no UTF-8 sequence is cut
    } else if (v.is_array()) {
        out.push_back(kIndefiniteArray);
        for (const cbor::Value& item : v.as_array()) {
            append(out, indefinite(item));
        }
        out.push_back(kBreak);
    } else if (v.is_map()) {
        out.push_back(kIndefiniteMap);
        for (const auto& [key, item] : v.as_map()) {
            append(out, indefinite(key));
            append(out, indefinite(item));
        }
        out.push_back(kBreak);
    } else if (v.is_tag()) {
        // The tag's head is what encoding it around a one-byte null leaves when the null is dropped.
        out = cbor::encode(cbor::Value::tagged(v.as_tag().tag, nullptr));
        out.pop_back();
        append(out, indefinite(v.as_tag().value));
    } else {
        out = cbor::encode(v);
    }
    return out;
}

}  // namespace estgw::brski
