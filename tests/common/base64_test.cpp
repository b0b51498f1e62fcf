#include "common/base64.hpp"

#include <gtest/gtest.h>

#include "support/test_data.hpp"

namespace estgw {
namespace {

Bytes decode_ok(std::string_view text) {
    auto r = base64_decode(text);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : Bytes{};
}

// RFC 4648 §10 test vectors.
TEST(Base64, EncodesRfc4648TestVectors) {
    EXPECT_EQ(base64_encode(as_bytes("")), "");
    EXPECT_EQ(base64_encode(as_bytes("f")), "Zg==");
    EXPECT_EQ(base64_encode(as_bytes("fo")), "Zm8=");
    EXPECT_EQ(base64_encode(as_bytes("foo")), "Zm9v");
    EXPECT_EQ(base64_encode(as_bytes("foob")), "Zm9vYg==");
    EXPECT_EQ(base64_encode(as_bytes("fooba")), "Zm9vYmE=");
    EXPECT_EQ(base64_encode(as_bytes("foobar")), "Zm9vYmFy");
}

TEST(Base64, DecodesRfc4648TestVectors) {
    EXPECT_EQ(decode_ok(""), Bytes{});
    EXPECT_EQ(decode_ok("Zg=="), to_bytes("f"));
    EXPECT_EQ(decode_ok("Zm8="), to_bytes("fo"));
    EXPECT_EQ(decode_ok("Zm9v"), to_bytes("foo"));
    EXPECT_EQ(decode_ok("Zm9vYg=="), to_bytes("foob"));
    EXPECT_EQ(decode_ok("Zm9vYmE="), to_bytes("fooba"));
    EXPECT_EQ(decode_ok("Zm9vYmFy"), to_bytes("foobar"));
}

TEST(Base64, UsesTheStandardAlphabetNotUrlSafe) {
    EXPECT_EQ(base64_encode(Bytes{0xfb, 0xff}), "+/8=");
    EXPECT_EQ(decode_ok("+/8="), (Bytes{0xfb, 0xff}));
}

TEST(Base64, WrapsLinesWithCrLfWhenAskedTo) {
    Bytes data(90, 0xab);  // 120 characters: a line of 64 and one of 56
    std::string text = base64_encode(data, 64);
    ASSERT_EQ(text.find("\r\n"), 64u);
    EXPECT_EQ(text.find("\r\n", 66), 122u);
    EXPECT_EQ(text.size(), 124u);
    EXPECT_EQ(decode_ok(text), data);
}

// OpenSSL's BIO_f_base64 in its default mode (libest's decoder) refuses a last line without a break.
TEST(Base64, EndsTheLastLineWithCrLfToo) {
    std::string text = base64_encode(Bytes(10, 0x01), 64);
    EXPECT_EQ(text, "AQEBAQEBAQEBAQ==\r\n");
}

TEST(Base64, TextOfExactlyOneLineEndsWithOneBreak) {
    std::string text = base64_encode(Bytes(48, 0x00), 64);  // 64 characters
    EXPECT_EQ(text.size(), 66u);
    EXPECT_EQ(text.substr(64), "\r\n");
}

TEST(Base64, EmptyInputIsEmptyWithLinesToo) {
    EXPECT_EQ(base64_encode(Bytes{}, 64), "");
}

TEST(Base64, RoundTripsEveryLengthUpToThreeBlocks) {
    for (std::size_t n = 0; n < 40; ++n) {
        Bytes data(n);
        for (std::size_t i = 0; i < n; ++i)
            data[i] = static_cast<std::uint8_t>(i * 37 + n);
        EXPECT_EQ(decode_ok(base64_encode(data)), data) << n;
    }
}

// RFC 8951 §3.1: CR, LF, space and tab may appear anywhere in the base64 text.
TEST(Base64, SkipsCarriageReturnLineFeedSpaceAndTabAnywhere) {
    EXPECT_EQ(decode_ok(" Zm\r\n9v\tYm\nFy \r\n"), to_bytes("foobar"));
    EXPECT_EQ(decode_ok("Zg =\n="), to_bytes("f"));
}

// Some C servers count the string terminator in Content-Length.
TEST(Base64, IgnoresTrailingNulBytes) {
    using namespace std::string_literals;
    EXPECT_EQ(decode_ok("Zm9v\0"s), to_bytes("foo"));
    EXPECT_EQ(decode_ok("Zm9v\r\n\0\0"s), to_bytes("foo"));
}

TEST(Base64, RejectsNulBytesInsideTheText) {
    using namespace std::string_literals;
    EXPECT_FALSE(base64_decode("Zm\0"
                               "9v"s)
                     .ok());
}

TEST(Base64, RejectsCharacterOutsideAlphabet) {
    auto r = base64_decode("Zm9v*mFy");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status(), Status::BadRequest);
    EXPECT_NE(r.error().message.find("offset 4"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("'*'"), std::string::npos) << r.error().message;
}

TEST(Base64, RejectsUrlSafeCharacters) {
    EXPECT_FALSE(base64_decode("-_8=").ok());
}

TEST(Base64, RejectsOtherWhiteSpaceSuchAsVerticalTab) {
    EXPECT_FALSE(base64_decode("Zm9v\vYmFy").ok());
}

TEST(Base64, RejectsDataAfterPadding) {
    EXPECT_FALSE(base64_decode("Zg==Zm9v").ok());
    EXPECT_FALSE(base64_decode("Zm8=Z").ok());
}

TEST(Base64, RejectsMisplacedPadding) {
    EXPECT_FALSE(base64_decode("=Zm9").ok());
    EXPECT_FALSE(base64_decode("Z===").ok());
    EXPECT_FALSE(base64_decode("Zm9v=").ok());
    EXPECT_FALSE(base64_decode("Zg===").ok());
}

TEST(Base64, RejectsIncompletePadding) {
    EXPECT_FALSE(base64_decode("Zg=").ok());
}

TEST(Base64, RejectsALoneTrailingCharacter) {
    EXPECT_FALSE(base64_decode("Zm9vY").ok());
}

// RFC 4648 §3.2 allows specifications to drop padding; tolerated on input.
TEST(Base64, AcceptsMissingPadding) {
    EXPECT_EQ(decode_ok("Zg"), to_bytes("f"));
    EXPECT_EQ(decode_ok("Zm8"), to_bytes("fo"));
}

// RFC 4648 §3.5: decoders MAY reject non-zero pad bits; estgw accepts them for robustness.
TEST(Base64, IgnoresNonZeroPadBits) {
    EXPECT_EQ(decode_ok("Zh=="), to_bytes("f"));
    EXPECT_EQ(decode_ok("Zm9="), to_bytes("fo"));
}

// RFC 9148 App. A.2: the enroll answer is the DER an RFC 7030 server sends base64-encoded.
TEST(Base64, RoundTripsTheRfc9148EnrollResponse) {
    Bytes der = test::read_hex("rfc9148/a2-sen-response.hex");
    EXPECT_EQ(decode_ok(base64_encode(der, 76)), der);
}

}  // namespace
}  // namespace estgw
