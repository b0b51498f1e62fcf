#include "brski/telemetry.hpp"

#include <gtest/gtest.h>

#include "support/test_data.hpp"

namespace estgw::brski {
namespace {

using test::hex;
using test::read_hex;

Telemetry read_cbor(const Bytes& body) {
    auto t = parse_telemetry(ContentFormat::Cbor, body);
    EXPECT_TRUE(t.ok()) << t.error().message;
    return t.ok() ? *t : Telemetry{};
}

Telemetry read_json(std::string_view text) {
    auto t = parse_telemetry(ContentFormat::Json, as_bytes(text));
    EXPECT_TRUE(t.ok()) << text << ": " << (t.ok() ? "" : t.error().message);
    return t.ok() ? *t : Telemetry{};
}

void expect_bad(std::optional<ContentFormat> format, ByteView body, std::string_view why) {
    auto t = parse_telemetry(format, body);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status(), Status::BadRequest);
    EXPECT_NE(t.error().message.find(why), std::string::npos) << t.error().message;
}

// cBRSKI App. B.1.
TEST(Telemetry, ReadsTheEnrollStatusSuccessOfAppendixB1) {
    const Telemetry t = read_cbor(read_hex("brski/appB1-enrollstatus-success.hex"));
    EXPECT_EQ(t.version, 1u);
    EXPECT_TRUE(t.status);
    EXPECT_FALSE(t.reason.has_value());
    EXPECT_FALSE(t.reason_context.has_value());
    EXPECT_TRUE(t.unknown.empty());
    EXPECT_FALSE(t.version_unknown());
}

TEST(Telemetry, ReadsTheEnrollStatusFailureOfAppendixB1) {
    const Telemetry t = read_cbor(read_hex("brski/appB1-enrollstatus-failure.hex"));
    EXPECT_FALSE(t.status);
    EXPECT_EQ(t.reason, std::optional<std::string>("<Informative human readable error message>"));
}

// cBRSKI App. B.2: reason-context may hold integer keys.
TEST(Telemetry, ReadsTheVoucherStatusOfAppendixB2WithItsReasonContext) {
    const Telemetry t = read_cbor(read_hex("brski/appB2-voucher-status.hex"));
    EXPECT_FALSE(t.status);
    EXPECT_EQ(t.reason, std::optional<std::string>("Informative human-readable error message"));
    ASSERT_TRUE(t.reason_context.has_value());
    EXPECT_EQ(*t.reason_context, cbor::Value(cbor::Map{{0, "Additional information"}}));
}

// cBRSKI §6.5.1: JSON (CF 50) MAY be accepted; we do (D15).
TEST(Telemetry, ReadsTheSameFactsFromJson) {
    const Telemetry t =
        read_json(R"({"version":1,"status":false,"reason":"bad voucher","reason-context":{"nonce":"x"}})");
    EXPECT_EQ(t.version, 1u);
    EXPECT_FALSE(t.status);
    EXPECT_EQ(t.reason, std::optional<std::string>("bad voucher"));
    EXPECT_EQ(*t.reason_context, cbor::Value(cbor::Map{{"nonce", "x"}}));
}

// RFC 9254 §3: a YANG-CBOR encoder may use indefinite lengths.
TEST(Telemetry, ReadsAnIndefiniteLengthMap) {
    const Telemetry t = read_cbor(hex("BF6776657273696F6E0166737461747573F5FF"));
    EXPECT_TRUE(t.status);
}

// RFC 8995 §5.7: unknown fields are logged, then ignored.
TEST(Telemetry, KeepsUnknownMembersForTheLog) {
    const Telemetry t = read_json(R"({"vendor-code":7,"version":1,"Status":1,"status":true})");
    EXPECT_TRUE(t.status);
    EXPECT_EQ(t.unknown, (cbor::Map{{"vendor-code", 7}, {"Status", 1}}));
}

TEST(Telemetry, KeepsAMemberWithAnIntegerKeyAsUnknown) {
    // {"version":1,"status":true,1:2}
    const Telemetry t = read_cbor(hex("A36776657273696F6E0166737461747573F50102"));
    EXPECT_EQ(t.unknown, (cbor::Map{{1, 2}}));
}

// RFC 8995 §5.7: a version above 1 is accepted, and flagged for a human.
TEST(Telemetry, AcceptsAHigherVersionButFlagsIt) {
    const Telemetry t = read_json(R"({"version":2,"status":true})");
    EXPECT_EQ(t.version, 2u);
    EXPECT_TRUE(t.version_unknown());
}

// BRSKI.md §3.7: missing or mistyped version/status is 4.00 (OT-Registrar).
TEST(Telemetry, RefusesAMissingVersion) {
    expect_bad(ContentFormat::Cbor, hex("A166737461747573F5"), "\"version\" is missing");
}

TEST(Telemetry, RefusesAMissingStatus) {
    expect_bad(ContentFormat::Json, as_bytes(R"({"version":1})"), "\"status\" is missing");
}

TEST(Telemetry, RefusesAVersionThatIsNotAnUnsignedInteger) {
    expect_bad(ContentFormat::Json, as_bytes(R"({"version":"1","status":true})"), "\"version\" must be");
    expect_bad(ContentFormat::Json, as_bytes(R"({"version":-1,"status":true})"), "\"version\" must be");
    expect_bad(ContentFormat::Json, as_bytes(R"({"version":1.0,"status":true})"), "\"version\" must be");
}

TEST(Telemetry, RefusesAStatusThatIsNotABoolean) {
    // {"version":1,"status":1}: RFC 8995 defines a JSON boolean, not a number.
    expect_bad(ContentFormat::Cbor, hex("A26776657273696F6E016673746174757301"), "\"status\" must be");
    expect_bad(ContentFormat::Json, as_bytes(R"({"version":1,"status":"true"})"), "\"status\" must be");
}

TEST(Telemetry, RefusesAReasonThatIsNotText) {
    expect_bad(ContentFormat::Json, as_bytes(R"({"version":1,"status":false,"reason":5})"), "\"reason\"");
}

TEST(Telemetry, RefusesABodyThatIsNotAMap) {
    expect_bad(ContentFormat::Cbor, hex("820102"), "not a map");
    expect_bad(ContentFormat::Json, as_bytes("[1,true]"), "not a map");
}

TEST(Telemetry, RefusesMalformedCborAndJson) {
    expect_bad(ContentFormat::Cbor, hex("A26776657273696F6E01"), "telemetry:");
    expect_bad(ContentFormat::Cbor, hex("A26776657273696F6E0166737461747573F500"), "trailing");
    expect_bad(ContentFormat::Json, as_bytes(R"({"version":1,"status":true)"), "not closed");
    expect_bad(ContentFormat::Cbor, {}, "telemetry:");
}

// cBRSKI §6.5.1: another Content-Format is 4.15.
TEST(Telemetry, RefusesAnotherContentFormat) {
    const Bytes body = read_hex("brski/appB1-enrollstatus-success.hex");
    for (std::optional<ContentFormat> format :
         {std::optional<ContentFormat>(ContentFormat::VoucherCose),
          std::optional<ContentFormat>(ContentFormat::LinkFormat), std::optional<ContentFormat>()}) {
        auto t = parse_telemetry(format, body);
        ASSERT_FALSE(t.ok());
        EXPECT_EQ(t.status(), Status::UnsupportedFormat);
        EXPECT_NE(t.error().message.find("Content-Format 60"), std::string::npos) << t.error().message;
    }
}

}  // namespace
}  // namespace estgw::brski
