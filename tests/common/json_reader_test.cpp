#include "common/json_reader.hpp"

#include <gtest/gtest.h>

namespace estgw {
namespace {

cbor::Value parsed(std::string_view text) {
    auto v = parse_json(text);
    EXPECT_TRUE(v.ok()) << text << ": " << (v.ok() ? "" : v.error().message);
    return v.ok() ? *v : cbor::Value();
}

void expect_refused(std::string_view text, std::string_view why) {
    auto v = parse_json(text);
    ASSERT_FALSE(v.ok()) << text << " was read as " << cbor::diagnostic(*v);
    EXPECT_EQ(v.status(), Status::BadRequest);
    EXPECT_NE(v.error().message.find(why), std::string::npos) << v.error().message;
}

// RFC 8949 §6.2: objects, arrays, strings, literals map onto the CBOR model.
TEST(ParseJson, ReadsAnObjectIntoAMapInOrder) {
    const cbor::Value v = parsed(R"( {"version": 1, "status": false, "reason": "x", "c": [true, null]} )");
    EXPECT_EQ(v, cbor::Value(cbor::Map{
                     {"version", 1}, {"status", false}, {"reason", "x"}, {"c", cbor::Array{true, nullptr}}}));
}

TEST(ParseJson, ReadsIntegersOfSixtyFourBits) {
    EXPECT_EQ(parsed("18446744073709551615"), cbor::Value(std::uint64_t{18446744073709551615u}));
    EXPECT_EQ(parsed("-9223372036854775808"), cbor::Value(std::int64_t{INT64_MIN}));
    EXPECT_EQ(parsed("-18446744073709551615"), cbor::Value(cbor::Value::NegativeBig{18446744073709551614u}));
    EXPECT_EQ(parsed("-0"), cbor::Value(0));
    EXPECT_TRUE(parsed("7").is_uint());
}

// RFC 8949 §3.4.4: a decimal fraction keeps the number exactly as written.
TEST(ParseJson, ReadsOtherNumbersAsDecimalFractions) {
    EXPECT_EQ(parsed("-1.25"), cbor::Value::tagged(4, cbor::Array{-2, -125}));
    EXPECT_EQ(parsed("1e3"), cbor::Value::tagged(4, cbor::Array{3, 1}));
    EXPECT_EQ(parsed("2.5E-1"), cbor::Value::tagged(4, cbor::Array{-2, 25}));
    EXPECT_EQ(parsed("1.0"), cbor::Value::tagged(4, cbor::Array{-1, 10}));
}

TEST(ParseJson, ResolvesEscapesAndSurrogatePairs) {
    EXPECT_EQ(parsed(R"("a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00")"),
              cbor::Value(std::string("a\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80")));
    EXPECT_EQ(parsed("\"\xc3\xa9\""), cbor::Value(std::string("\xc3\xa9")));
}

TEST(ParseJson, RefusesWhatRfc8259DoesNotAllow) {
    expect_refused("", "a value was expected");
    expect_refused("{\"a\":1,}", "a member name");
    expect_refused("[1,]", "a value was expected");
    expect_refused("{\"a\" 1}", "':' was expected");
    expect_refused("01", "must not start with 0");
    expect_refused("1.", "after '.'");
    expect_refused("1e", "exponent");
    expect_refused("+1", "a value was expected");
    expect_refused("'a'", "a value was expected");
    expect_refused("tru", "a value was expected");
    expect_refused("{} {}", "trailing");
    expect_refused("\"a\tb\"", "control character");
    expect_refused(R"("\x")", "unknown escape");
    expect_refused(R"("\u12")", "four hex digits");
    expect_refused(R"("\ud83d")", "high surrogate");
    expect_refused(R"("\ude00")", "low surrogate");
    expect_refused("\"\xc3\"", "invalid UTF-8");
    expect_refused("\"\xed\xa0\x80\"", "invalid UTF-8");  // an encoded surrogate (RFC 3629 §3)
    expect_refused("\"abc", "not closed");
    expect_refused("[1", "not closed");
    expect_refused("{\"a\":1", "not closed");
}

// RFC 8259 §4: names SHOULD be unique; which duplicate wins differs between readers, so neither does.
TEST(ParseJson, RefusesARepeatedMemberName) {
    expect_refused(R"({"status":true,"status":false})", "appears twice");
}

TEST(ParseJson, RefusesNumbersBeyondSixtyFourBits) {
    expect_refused("18446744073709551616", "64 bits");
    expect_refused("-18446744073709551617", "64 bits");
    expect_refused("9223372036854775808.5", "64 bits");
    expect_refused("18446744073709551.615", "63 bits");
    expect_refused("1e99999999999", "out of range");
}

TEST(ParseJson, RefusesNestingDeeperThanTheLimit) {
    EXPECT_TRUE(parse_json(std::string(16, '[') + std::string(16, ']')).ok());
    expect_refused(std::string(17, '[') + std::string(17, ']'), "nested too deeply");
    JsonLimits flat;
    flat.max_depth = 0;
    EXPECT_FALSE(parse_json("[]", flat).ok());
    EXPECT_TRUE(parse_json("1", flat).ok());
}

}  // namespace
}  // namespace estgw
