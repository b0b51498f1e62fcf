#include "common/pem.hpp"

#include <gtest/gtest.h>

#include "common/base64.hpp"
#include "support/test_data.hpp"

namespace estgw {
namespace {

TEST(Pem, EncodesWithLabelAnd64ColumnLfLines) {
    Bytes der(100, 0x30);
    std::string pem = pem_encode(der, "CERTIFICATE");
    EXPECT_EQ(pem.rfind("-----BEGIN CERTIFICATE-----\n", 0), 0u);
    EXPECT_NE(pem.find("\n-----END CERTIFICATE-----\n"), std::string::npos);
    EXPECT_EQ(pem.find('\r'), std::string::npos);
    std::size_t first_body_line_end = pem.find('\n', 28);
    EXPECT_EQ(first_body_line_end - 28, 64u);
}

TEST(Pem, RoundTripsDer) {
    Bytes der = test::read_hex("rfc9148/a1-crts-response.hex");
    auto back = pem_decode(pem_encode(der, "PKCS7"), "PKCS7");
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(*back, der);
}

TEST(Pem, DecodesBareBase64WithoutArmour) {
    Bytes der = test::read_hex("rfc9148/a2-sen-request.hex");
    auto back = pem_decode(base64_encode(der, 64), "CERTIFICATE REQUEST");
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(*back, der);
}

TEST(Pem, DecodesEveryBlockOfABundleInOrder) {
    std::string bundle = "junk before\n" + pem_encode(to_bytes("one"), "CERTIFICATE") + "comment between\n" +
                         pem_encode(to_bytes("two"), "CERTIFICATE") + "junk after\n";
    auto blocks = pem_decode_all(bundle);
    ASSERT_TRUE(blocks.ok()) << blocks.error().message;
    ASSERT_EQ(blocks->size(), 2u);
    EXPECT_EQ((*blocks)[0].der, to_bytes("one"));
    EXPECT_EQ((*blocks)[1].der, to_bytes("two"));
    EXPECT_EQ((*blocks)[1].label, "CERTIFICATE");
}

TEST(Pem, AcceptsCrLfLineEndings) {
    std::string pem = "-----BEGIN X-----\r\nZm9v\r\n-----END X-----\r\n";
    auto der = pem_decode(pem);
    ASSERT_TRUE(der.ok()) << der.error().message;
    EXPECT_EQ(*der, to_bytes("foo"));
}

TEST(Pem, RejectsALabelOtherThanTheExpectedOne) {
    auto r = pem_decode(pem_encode(to_bytes("k"), "PRIVATE KEY"), "CERTIFICATE");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("PRIVATE KEY"), std::string::npos);
}

TEST(Pem, RejectsMoreThanOneBlockWhereOneIsExpected) {
    std::string two = pem_encode(to_bytes("a"), "X") + pem_encode(to_bytes("b"), "X");
    EXPECT_FALSE(pem_decode(two).ok());
}

TEST(Pem, RejectsAMissingEndLine) {
    EXPECT_FALSE(pem_decode("-----BEGIN X-----\nZm9v\n").ok());
    EXPECT_FALSE(pem_decode("-----BEGIN X-----").ok());
}

TEST(Pem, RejectsAnEndLineWithAnotherLabel) {
    EXPECT_FALSE(pem_decode("-----BEGIN X-----\nZm9v\n-----END Y-----\n").ok());
}

TEST(Pem, RejectsABeginLineWithoutClosingDashes) {
    EXPECT_FALSE(pem_decode("-----BEGIN X\nZm9v\n-----END X-----\n").ok());
}

TEST(Pem, RejectsABlockNestedBeforeItsEnd) {
    EXPECT_FALSE(pem_decode_all("-----BEGIN X-----\nZm9v\n-----BEGIN X-----\nZm9v\n-----END X-----\n").ok());
}

TEST(Pem, RejectsEncryptedLegacyPemHeaders) {
    std::string pem =
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nZm9v\n-----END RSA PRIVATE KEY-----\n";
    EXPECT_FALSE(pem_decode(pem).ok());
}

TEST(Pem, RejectsInvalidBase64InsideABlock) {
    EXPECT_FALSE(pem_decode("-----BEGIN X-----\nZm9v!\n-----END X-----\n").ok());
}

TEST(Pem, RejectsEmptyBlocksAndEmptyInput) {
    EXPECT_FALSE(pem_decode("-----BEGIN X-----\n-----END X-----\n").ok());
    EXPECT_FALSE(pem_decode("").ok());
    EXPECT_FALSE(pem_decode("  \n").ok());
}

TEST(Pem, RejectsNonBase64TextWithoutArmour) {
    EXPECT_FALSE(pem_decode("this is not a certificate").ok());
}

TEST(Pem, RejectsControlCharactersInTheLabel) {
    EXPECT_FALSE(pem_decode(std::string("-----BEGIN A\x01-----\nZm9v\n-----END A\x01-----\n")).ok());
}

}  // namespace
}  // namespace estgw
