#include "mapping/telemetry_json.hpp"

#include <gtest/gtest.h>

#include <string>

#include "support/test_data.hpp"

namespace estgw::mapping {
namespace {

using test::hex;

std::string json_of(const Bytes& cbor) {
    auto result = telemetry_cbor_to_json(cbor);
    EXPECT_TRUE(result.ok()) << to_hex(cbor) << ": " << (result.ok() ? "" : result.error().message);
    return result.ok() ? *result : std::string();
}

std::string json_of(const cbor::Value& value) {
    auto result = cbor_to_json(value);
    EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
    return result.ok() ? *result : std::string();
}

// cBRSKI App. B.1: the enrollstatus example; RFC 8995 §5.9.4 defines the same object in JSON.
TEST(TelemetryJson, CbrskiEnrollStatusSuccessBecomesVersionAndStatusObject) {
    EXPECT_EQ(json_of(hex("A26776657273696F6E0166737461747573F5")), R"({"version":1,"status":true})");
    EXPECT_EQ(json_of(test::read_hex("brski/appB1-enrollstatus-success.hex")),
              R"({"version":1,"status":true})");
}

// cBRSKI App. B.1: failure with a human-readable reason (RFC 8995 §5.9.4).
TEST(TelemetryJson, CbrskiEnrollStatusFailureKeepsTheReasonText) {
    EXPECT_EQ(json_of(test::read_hex("brski/appB1-enrollstatus-failure.hex")),
              R"({"version":1,"status":false,"reason":"<Informative human readable error message>"})");
}

// cBRSKI App. B.2: reason-context {0: "Additional information"} has an integer key, which JSON cannot have.
TEST(TelemetryJson, CbrskiVoucherStatusIntegerKeyInReasonContextBecomesAString) {
    EXPECT_EQ(json_of(test::read_hex("brski/appB2-voucher-status.hex")),
              R"({"version":1,"status":false,"reason":"Informative human-readable error message",)"
              R"("reason-context":{"0":"Additional information"}})");
}

TEST(TelemetryJson, NegativeIntegersAndNegativeKeysAreRenderedInDecimal) {
    EXPECT_EQ(json_of(cbor::Value(cbor::Map{{cbor::Value(-7), cbor::Value(-1)}})), R"({"-7":-1})");
    EXPECT_EQ(json_of(cbor::Value(cbor::Value::NegativeBig{UINT64_MAX})), "-18446744073709551616");
    EXPECT_EQ(json_of(cbor::Value(cbor::Value::NegativeBig{9223372036854775808ULL})), "-9223372036854775809");
    EXPECT_EQ(json_of(cbor::Value(std::uint64_t{18446744073709551615ULL})), "18446744073709551615");
}

TEST(TelemetryJson, ArraysNullAndNestedMapsMapDirectly) {
    cbor::Value v(
        cbor::Map{{"a", cbor::Array{1, true, nullptr, cbor::Map{{"b", "c"}}}}, {"e", cbor::Array{}}});
    EXPECT_EQ(json_of(v), R"({"a":[1,true,null,{"b":"c"}],"e":[]})");
}

// RFC 8949 §6.1: byte strings become base64url without padding.
TEST(TelemetryJson, ByteStringsBecomeUnpaddedBase64url) {
    EXPECT_EQ(json_of(cbor::Value(hex("fbff"))), R"("-_8")");
    EXPECT_EQ(json_of(cbor::Value(Bytes{})), R"("")");
}

// RFC 8259 §7: quotation mark, reverse solidus and control characters are escaped; UTF-8 is kept.
TEST(TelemetryJson, StringsAreEscapedForJson) {
    EXPECT_EQ(json_of(cbor::Value(std::string("q\"b\\n\nr\rt\tc\x01 \xC3\xA9"))),
              "\"q\\\"b\\\\n\\nr\\rt\\tc\\u0001 \xC3\xA9\"");
}

TEST(TelemetryJson, TagsAreRejectedAsBadRequest) {
    auto result = cbor_to_json(cbor::Value(cbor::Map{{"t", cbor::Value::tagged(1, 1700000000)}}));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status(), Status::BadRequest);
    EXPECT_NE(result.error().message.find("tag 1"), std::string::npos);
    // The same through the decoder: {"t": 1(0)}
    EXPECT_EQ(telemetry_cbor_to_json(hex("A16174C100")).status(), Status::BadRequest);
}

TEST(TelemetryJson, TagsInsideArraysAreRejected) {
    EXPECT_EQ(cbor_to_json(cbor::Value(cbor::Array{1, cbor::Value::tagged(2, Bytes{1})})).status(),
              Status::BadRequest);
}

TEST(TelemetryJson, MapKeysThatAreNeitherTextNorIntegersAreRejected) {
    auto result = cbor_to_json(cbor::Value(cbor::Map{{cbor::Value(true), 1}}));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status(), Status::BadRequest);
    EXPECT_EQ(cbor_to_json(cbor::Value(cbor::Map{{cbor::Value(hex("00")), 1}})).status(), Status::BadRequest);
}

// RFC 8259 §4: names SHOULD be unique; 1 and "1" would both become "1".
TEST(TelemetryJson, KeysThatCollideAsJsonNamesAreRejected) {
    auto result = cbor_to_json(cbor::Value(cbor::Map{{1, "a"}, {"1", "b"}}));
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error().message.find("collide"), std::string::npos);
}

// RFC 8995 §5.7: telemetry is an object.
TEST(TelemetryJson, TelemetryThatIsNotAMapIsRejected) {
    auto result = telemetry_cbor_to_json(hex("820102"));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status(), Status::BadRequest);
}

TEST(TelemetryJson, MalformedCborIsRejectedAsBadRequest) {
    EXPECT_EQ(telemetry_cbor_to_json(hex("A2677665")).status(), Status::BadRequest);
    EXPECT_EQ(telemetry_cbor_to_json(hex("A0FF")).status(), Status::BadRequest);  // trailing byte
    EXPECT_EQ(telemetry_cbor_to_json(Bytes{}).status(), Status::BadRequest);
}

}  // namespace
}  // namespace estgw::mapping
