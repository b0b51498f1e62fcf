// DER framing (X.690 §8.1, §10.1): one definite-length TLV, minimal length octets, single-octet tags.
#include "common/der.hpp"

#include <gtest/gtest.h>

#include "support/test_data.hpp"

namespace estgw {
namespace {

using test::hex;

TEST(DerHeader, ReadsShortFormLength) {
    const Bytes der = hex("300300010a");
    const auto header = read_der_header(der);
    ASSERT_TRUE(header.ok()) << header.error().message;
    EXPECT_EQ(header->tag, 0x30);
    EXPECT_EQ(header->header_length, 2u);
    EXPECT_EQ(header->content_length, 3u);
    EXPECT_EQ(header->total_length(), 5u);
}

TEST(DerHeader, ReadsZeroLengthContent) {
    const auto header = read_der_header(hex("0500"));
    ASSERT_TRUE(header.ok());
    EXPECT_EQ(header->tag, 0x05);
    EXPECT_EQ(header->total_length(), 2u);
}

TEST(DerHeader, ReadsOneOctetLongFormLength) {
    Bytes der = hex("3081c8");
    der.resize(3 + 200);
    const auto header = read_der_header(der);
    ASSERT_TRUE(header.ok()) << header.error().message;
    EXPECT_EQ(header->header_length, 3u);
    EXPECT_EQ(header->content_length, 200u);
}

TEST(DerHeader, ReadsTwoOctetLengthOfTheRfc9148A1CertsOnly) {
    // RFC 9148 App. A.1: 30 82 02 7a, 634 content bytes.
    const Bytes der = test::read_hex("rfc9148/a1-crts-response.hex");
    const auto header = read_der_header(der);
    ASSERT_TRUE(header.ok()) << header.error().message;
    EXPECT_EQ(header->header_length, 4u);
    EXPECT_EQ(header->content_length, 634u);
    EXPECT_EQ(header->total_length(), der.size());
}

TEST(DerHeader, ReadsThreeOctetLength) {
    Bytes der = hex("0483010000");
    der.resize(5 + 0x010000);
    const auto header = read_der_header(der);
    ASSERT_TRUE(header.ok()) << header.error().message;
    EXPECT_EQ(header->header_length, 5u);
    EXPECT_EQ(header->content_length, 0x010000u);
}

TEST(DerHeader, ReadsFourOctetLength) {
    Bytes der = hex("04840100000000");
    der.resize(6 + 0x01000000);
    const auto header = read_der_header(der);
    ASSERT_TRUE(header.ok()) << header.error().message;
    EXPECT_EQ(header->header_length, 6u);
    EXPECT_EQ(header->content_length, 0x01000000u);
}

TEST(DerHeader, AcceptsFourLengthOctetsAndChecksThemAgainstTheInput) {
    // 84 01 00 00 00: 16 MiB declared, a handful available.
    const auto header = read_der_header(hex("3084010000000000"));
    ASSERT_FALSE(header.ok());
    EXPECT_EQ(header.status(), Status::BadRequest);
    EXPECT_NE(header.error().message.find("available"), std::string::npos) << header.error().message;
}

TEST(DerHeader, RejectsEmptyInput) {
    const auto header = read_der_header(ByteView{});
    ASSERT_FALSE(header.ok());
    EXPECT_EQ(header.status(), Status::BadRequest);
}

TEST(DerHeader, RejectsTagWithoutLength) {
    EXPECT_EQ(read_der_header(hex("30")).status(), Status::BadRequest);
}

TEST(DerHeader, RejectsHighTagNumberForm) {
    // X.690 §8.1.2.4: low five bits all set means the tag number follows.
    EXPECT_EQ(read_der_header(hex("1f2200")).status(), Status::BadRequest);
    EXPECT_EQ(read_der_header(hex("bf2200")).status(), Status::BadRequest);
}

TEST(DerHeader, RejectsIndefiniteLength) {
    // X.690 §10.1: DER uses the definite form only.
    const auto header = read_der_header(hex("308002010100 00"));
    ASSERT_FALSE(header.ok());
    EXPECT_NE(header.error().message.find("indefinite"), std::string::npos);
}

TEST(DerHeader, RejectsReservedLengthOctet) {
    EXPECT_EQ(read_der_header(hex("30ff00")).status(), Status::BadRequest);
}

TEST(DerHeader, RejectsMoreThanFourLengthOctets) {
    EXPECT_EQ(read_der_header(hex("3085000000000100")).status(), Status::BadRequest);
}

TEST(DerHeader, RejectsTruncationInsideTheLengthOctets) {
    EXPECT_EQ(read_der_header(hex("308201")).status(), Status::BadRequest);
}

TEST(DerHeader, RejectsLengthWithLeadingZeroOctet) {
    // X.690 §10.1: the minimum number of octets.
    Bytes der = hex("30820080");
    der.resize(4 + 0x80);
    EXPECT_EQ(read_der_header(der).status(), Status::BadRequest);
}

TEST(DerHeader, RejectsLongFormForLengthBelow128) {
    EXPECT_EQ(read_der_header(hex("3081050102030405")).status(), Status::BadRequest);
}

TEST(DerHeader, RejectsContentLongerThanInput) {
    EXPECT_EQ(read_der_header(hex("300501020304")).status(), Status::BadRequest);
}

TEST(DerSingleObject, AcceptsExactlyOneSequence) {
    EXPECT_TRUE(is_single_der_object(hex("3003020101")));
    EXPECT_TRUE(require_single_der_object(hex("3003020101"), "thing").ok());
}

TEST(DerSingleObject, AcceptsTheExpectedNonSequenceTag) {
    EXPECT_TRUE(is_single_der_object(hex("0401aa"), 0x04));
}

TEST(DerSingleObject, RejectsOtherTag) {
    EXPECT_FALSE(is_single_der_object(hex("3100")));
    const auto checked = require_single_der_object(hex("3100"), "thing");
    ASSERT_FALSE(checked.ok());
    EXPECT_EQ(checked.error().message, "thing: DER: tag 0x31, expected 0x30");
}

TEST(DerSingleObject, RejectsTrailingBytes) {
    EXPECT_FALSE(is_single_der_object(hex("300000")));
    const auto checked = require_single_der_object(hex("30000000"), "thing");
    ASSERT_FALSE(checked.ok());
    EXPECT_EQ(checked.status(), Status::BadRequest);
    EXPECT_EQ(checked.error().message, "thing: DER: 2 trailing byte(s) after a 2-byte object");
}

TEST(DerSingleObject, RejectsMalformedHeaderWithItsReason) {
    EXPECT_FALSE(is_single_der_object(hex("3080")));
    const auto checked = require_single_der_object(hex("30"), "thing");
    ASSERT_FALSE(checked.ok());
    EXPECT_EQ(checked.error().message.rfind("thing: DER: ", 0), 0u) << checked.error().message;
}

}  // namespace
}  // namespace estgw
