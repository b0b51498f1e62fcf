#include "mapping/multipart_core.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/test_data.hpp"

namespace estgw::mapping {
namespace {

using test::hex;

std::vector<BodyPart> decoded(const Bytes& input) {
    auto result = decode_multipart_core(input);
    EXPECT_TRUE(result.ok()) << to_hex(input) << ": " << (result.ok() ? "" : result.error().message);
    return result.ok() ? *result : std::vector<BodyPart>{};
}

void expect_rejected_with(const std::string& hex_text, const std::string& phrase) {
    auto result = decode_multipart_core(hex(hex_text));
    ASSERT_FALSE(result.ok()) << hex_text;
    EXPECT_EQ(result.status(), Status::BadRequest) << hex_text;
    EXPECT_NE(result.error().message.find(phrase), std::string::npos)
        << hex_text << ": " << result.error().message;
}

// RFC 9148 §4.3: [284, h'0123456789abcdef', 281, h'fedcba9876543210'].
TEST(MultipartCore, Rfc9148Section43ExampleDecodesToKeyAndCertificateParts) {
    const auto parts = decoded(test::read_hex("rfc9148/sec4.3-multipart-example.hex"));
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].format, ContentFormat::Pkcs8);
    EXPECT_EQ(parts[0].body, hex("0123456789abcdef"));
    EXPECT_EQ(parts[1].format, ContentFormat::CertsOnly);
    EXPECT_EQ(parts[1].body, hex("fedcba9876543210"));
}

TEST(MultipartCore, Rfc9148Section43ExampleIsWhatTheEncoderWrites) {
    const std::vector<BodyPart> parts{{ContentFormat::Pkcs8, hex("0123456789abcdef")},
                                      {ContentFormat::CertsOnly, hex("fedcba9876543210")}};
    EXPECT_EQ(encode_multipart_core(parts), test::read_hex("rfc9148/sec4.3-multipart-example.hex"));
}

// RFC 9148 App. A.3: the /skg answer, 284 key part first, then the 281 certificate part.
TEST(MultipartCore, Rfc9148AppendixA3ResponseDecodesToTheKeyAndCertificateFiles) {
    const auto parts = decoded(test::read_hex("rfc9148/a3-skg-response.hex"));
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].format, ContentFormat::Pkcs8);
    EXPECT_EQ(parts[0].body, test::read_hex("rfc9148/a3-skg-response-key-284.hex"));
    EXPECT_EQ(parts[1].format, ContentFormat::CertsOnly);
    EXPECT_EQ(parts[1].body, test::read_hex("rfc9148/a3-skg-response-cert-281.hex"));
}

TEST(MultipartCore, Rfc9148AppendixA3ResponseIsWhatTheEncoderWrites) {
    const std::vector<BodyPart> parts{
        {ContentFormat::Pkcs8, test::read_hex("rfc9148/a3-skg-response-key-284.hex")},
        {ContentFormat::CertsOnly, test::read_hex("rfc9148/a3-skg-response-cert-281.hex")}};
    EXPECT_EQ(encode_multipart_core(parts), test::read_hex("rfc9148/a3-skg-response.hex"));
}

// RFC 9148 §4.8: the certificate part may come first; the order is kept.
TEST(MultipartCore, PartOrderIsKept) {
    const std::vector<BodyPart> parts{{ContentFormat::PkixCert, hex("3000")},
                                      {ContentFormat::ServerGeneratedKey, hex("3001")}};
    const Bytes encoded = encode_multipart_core(parts);
    EXPECT_EQ(encoded, hex("84 19011f 42 3000 190118 42 3001"));
    const auto back = decoded(encoded);
    ASSERT_EQ(back.size(), 2u);
    EXPECT_EQ(back[0].format, ContentFormat::PkixCert);
    EXPECT_EQ(back[1].format, ContentFormat::ServerGeneratedKey);
    EXPECT_EQ(back[1].body, hex("3001"));
}

// RFC 8710 §2: a representation may be null ("bstr / null").
TEST(MultipartCore, AbsentBodyIsEncodedAsNull) {
    EXPECT_EQ(encode_multipart_core({{ContentFormat::CertsOnly, std::nullopt}}), hex("82 190119 f6"));
}

TEST(MultipartCore, NullRepresentationDecodesToAnAbsentBody) {
    const auto parts = decoded(hex("84 19011c f6 190119 40"));
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].format, ContentFormat::Pkcs8);
    EXPECT_FALSE(parts[0].body.has_value());
    EXPECT_EQ(parts[1].body, Bytes{});  // an empty byte string is a present, empty body
}

TEST(MultipartCore, NoPartsIsAnEmptyArray) {
    EXPECT_EQ(encode_multipart_core({}), hex("80"));
    EXPECT_TRUE(decoded(hex("80")).empty());
}

TEST(MultipartCore, EveryKnownContentFormatRoundTrips) {
    for (ContentFormat format :
         {ContentFormat::LinkFormat, ContentFormat::Json, ContentFormat::Cbor, ContentFormat::MultipartCore,
          ContentFormat::ServerGeneratedKey, ContentFormat::CertsOnly, ContentFormat::Pkcs8,
          ContentFormat::CsrAttrs, ContentFormat::Pkcs10, ContentFormat::PkixCert,
          ContentFormat::VoucherCose}) {
        const auto parts = decoded(encode_multipart_core({{format, hex("01")}}));
        ASSERT_EQ(parts.size(), 1u);
        EXPECT_EQ(parts[0].format, format);
    }
}

TEST(MultipartCore, NonShortestContentFormatIsAccepted) {
    const auto parts = decoded(hex("82 1a0000011c 41 00"));
    ASSERT_EQ(parts.size(), 1u);
    EXPECT_EQ(parts[0].format, ContentFormat::Pkcs8);
}

// ---------------------------------------------------------------------------------------------------------
// Rejections (RFC 8710 §2: multipart-core = [* multipart-part], multipart-part = (type: uint .size 2,
// part: bytes / null)).

TEST(MultipartCoreReject, MalformedCbor) {
    expect_rejected_with("84 19011c", "multipart-core: CBOR: array declares 4");
}

TEST(MultipartCoreReject, TrailingBytes) {
    expect_rejected_with("82 19011c 40 00",
                         "multipart-core: CBOR: 1 trailing byte(s) after the data item at offset 5");
}

TEST(MultipartCoreReject, NotAnArray) {
    expect_rejected_with("a0", "multipart-core: not a CBOR array");
    expect_rejected_with("48 0123456789abcdef", "not a CBOR array");
    expect_rejected_with("d9 0119 80", "not a CBOR array");
}

TEST(MultipartCoreReject, OddLength) {
    expect_rejected_with("81 19011c", "array has odd length 1");
    expect_rejected_with("83 19011c 40 190119", "array has odd length 3");
}

TEST(MultipartCoreReject, ContentFormatNotAnUnsignedInteger) {
    expect_rejected_with("82 20 40", "part 0: content-format is not an unsigned integer");
    expect_rejected_with("82 63323834 40", "content-format is not an unsigned integer");
    expect_rejected_with("84 19011c 40 f6 40", "part 1: content-format is not an unsigned integer");
}

TEST(MultipartCoreReject, ContentFormatAboveTwoBytes) {
    expect_rejected_with("82 1a00010000 40", "part 0: content-format 65536 exceeds 65535");
}

// Not an RFC 8710 rule: estgw only handles the formats in ContentFormat, and an unknown part could not be
// labelled on the HTTP side.
TEST(MultipartCoreReject, ContentFormatUnknownToEstgw) {
    expect_rejected_with("82 00 40", "part 0: content-format 0 is unknown");
    expect_rejected_with("82 19ffff 40", "content-format 65535 is unknown");
}

TEST(MultipartCoreReject, RepresentationNeitherByteStringNorNull) {
    expect_rejected_with("82 19011c 60", "part 0: representation is neither a byte string nor null");
    expect_rejected_with("82 19011c f5", "representation is neither a byte string nor null");
    expect_rejected_with("82 19011c 80", "representation is neither a byte string nor null");
    expect_rejected_with("82 19011c d8 18 40", "representation is neither a byte string nor null");
}

}  // namespace
}  // namespace estgw::mapping
