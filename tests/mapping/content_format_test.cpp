// The Content-Format registry (RFC 9148 §8.1 Table 5, RFC 8710 §5, cBRSKI §15.3; digest §2).
#include "mapping/content_format.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace estgw::mapping {
namespace {

using CF = ContentFormat;

struct Row {
    unsigned number;
    CF format;
    std::string_view media_type;
    std::string_view content_type;
};

// RFC 9148 §8.1 Table 5 (280–287), RFC 8710 §5 (62), RFC 7252 §12.3 (40, 50, 60), cBRSKI §15.3 (836).
constexpr Row kExpected[] = {
    {280, CF::ServerGeneratedKey, "application/pkcs7-mime",
     "application/pkcs7-mime; smime-type=server-generated-key"},
    {281, CF::CertsOnly, "application/pkcs7-mime", "application/pkcs7-mime; smime-type=certs-only"},
    {284, CF::Pkcs8, "application/pkcs8", "application/pkcs8"},
    {285, CF::CsrAttrs, "application/csrattrs", "application/csrattrs"},
    {286, CF::Pkcs10, "application/pkcs10", "application/pkcs10"},
    {287, CF::PkixCert, "application/pkix-cert", "application/pkix-cert"},
    {62, CF::MultipartCore, "application/multipart-core", "application/multipart-core"},
    {60, CF::Cbor, "application/cbor", "application/cbor"},
    {50, CF::Json, "application/json", "application/json"},
    {40, CF::LinkFormat, "application/link-format", "application/link-format"},
    {836, CF::VoucherCose, "application/voucher+cose", "application/voucher+cose"},
};

// RFC 9148 §8.1: the registry has exactly the rows the RFCs define, one per Content-Format.
TEST(ContentFormatRegistry, HasOneRowPerContentFormat) {
    std::set<CF> seen;
    for (const auto& row : content_formats())
        seen.insert(row.format);
    EXPECT_EQ(seen.size(), content_formats().size());
    EXPECT_EQ(content_formats().size(), std::size(kExpected));
}

// RFC 9148 §8.1 Table 5: each number names the media type registered for it.
TEST(ContentFormatRegistry, EveryRowMatchesTheRegisteredMediaType) {
    for (const Row& row : kExpected) {
        SCOPED_TRACE(row.number);
        const auto& info = content_format_info(row.format);
        EXPECT_EQ(info.media_type, row.media_type);
        EXPECT_EQ(info.content_type, row.content_type);
        EXPECT_EQ(content_format_number(row.format), row.number);
    }
}

// Number → format → number for every row.
TEST(ContentFormatRegistry, NumberLooksUpEveryRow) {
    for (const Row& row : kExpected) {
        SCOPED_TRACE(row.number);
        auto format = content_format_from_number(row.number);
        ASSERT_TRUE(format.has_value());
        EXPECT_EQ(*format, row.format);
    }
}

// Numbers outside the registry (282/283 are unassigned in RFC 9148, 0 is text/plain) are unknown.
TEST(ContentFormatRegistry, UnknownNumberHasNoFormat) {
    for (unsigned n : {0u, 41u, 282u, 283u, 288u, 65535u, 1000000u}) {
        EXPECT_FALSE(content_format_from_number(n).has_value()) << n;
    }
}

// HTTP → CoAP: the Content-Type we send for each row maps back to the same Content-Format.
TEST(ContentFormatRegistry, EveryContentTypeMapsBackToItsFormat) {
    for (const Row& row : kExpected) {
        SCOPED_TRACE(row.number);
        EXPECT_EQ(content_format_from_media_type(row.content_type), row.format);
    }
}

// RFC 9110 §8.3.1: type, subtype and parameter names are case-insensitive.
TEST(ContentFormatFromMediaType, IgnoresCaseOfTypeAndParameterNames) {
    EXPECT_EQ(content_format_from_media_type("Application/PKCS10"), CF::Pkcs10);
    EXPECT_EQ(content_format_from_media_type("APPLICATION/PKCS7-MIME; SMIME-TYPE=CERTS-ONLY"), CF::CertsOnly);
    EXPECT_EQ(content_format_from_media_type("application/Voucher+COSE"), CF::VoucherCose);
}

// RFC 7030 §4.1.3 labels /cacerts as application/pkcs7-mime without smime-type: that is certs-only.
TEST(ContentFormatFromMediaType, Pkcs7MimeWithoutSmimeTypeIsCertsOnly) {
    EXPECT_EQ(content_format_from_media_type("application/pkcs7-mime"), CF::CertsOnly);
}

// RFC 7030 §4.4.2: the encrypted key part is smime-type=server-generated-key (CF 280).
TEST(ContentFormatFromMediaType, Pkcs7MimeServerGeneratedKeyIs280) {
    EXPECT_EQ(content_format_from_media_type("application/pkcs7-mime; smime-type=server-generated-key"),
              CF::ServerGeneratedKey);
}

// An smime-type EST never uses has no CoAP Content-Format.
TEST(ContentFormatFromMediaType, Pkcs7MimeWithOtherSmimeTypeIsUnknown) {
    EXPECT_FALSE(content_format_from_media_type("application/pkcs7-mime; smime-type=enveloped-data"));
}

// RFC 9110 §5.6.4: a parameter value may be a quoted-string.
TEST(ContentFormatFromMediaType, AcceptsQuotedParameterValue) {
    EXPECT_EQ(content_format_from_media_type("application/pkcs7-mime; smime-type=\"certs-only\""),
              CF::CertsOnly);
}

// RFC 9110 §5.6.3: optional white space around ';' (and we tolerate it around '=').
TEST(ContentFormatFromMediaType, ToleratesSpacesAroundParameters) {
    EXPECT_EQ(content_format_from_media_type("  application/pkcs7-mime ;  smime-type = certs-only ; "),
              CF::CertsOnly);
}

// Parameters other than smime-type (charset on JSON, for instance) do not change the format.
TEST(ContentFormatFromMediaType, IgnoresUnrelatedParameters) {
    EXPECT_EQ(content_format_from_media_type("application/json; charset=utf-8"), CF::Json);
    EXPECT_EQ(content_format_from_media_type("application/pkcs10; name=\"csr.p10\""), CF::Pkcs10);
}

// cBRSKI §15.2: the old name of the COSE voucher type still maps to 836.
TEST(ContentFormatFromMediaType, OldVoucherCoseNameIs836) {
    EXPECT_EQ(content_format_from_media_type("application/voucher-cose+cbor"), CF::VoucherCose);
}

// Types with no CoAP Content-Format, such as RFC 8995's CMS voucher, are unknown.
TEST(ContentFormatFromMediaType, UnregisteredTypeIsUnknown) {
    EXPECT_FALSE(content_format_from_media_type("text/plain"));
    EXPECT_FALSE(content_format_from_media_type("application/voucher-cms+json"));
}

// Malformed media types are rejected rather than guessed at.
TEST(ContentFormatFromMediaType, RejectsMalformedMediaTypes) {
    for (const char* bad :
         {"", "application", "/pkcs10", "application/", "appli cation/pkcs10",
          "application/pkcs10; smime-type", "application/pkcs10; =x",
          "application/pkcs7-mime; smime-type=\"certs-only", "application/pkcs10; a=\"b\" c",
          "application/pkcs10; a=b c", "application/pkcs10; a b=c"}) {
        EXPECT_FALSE(content_format_from_media_type(bad)) << bad;
    }
}

// RFC 9110 §5.6.4: quoted-pair escapes one character inside a quoted-string.
TEST(ParseMediaType, UnescapesQuotedPairs) {
    auto mt = parse_media_type(R"(application/x; a="x\"y\\z")");
    ASSERT_TRUE(mt);
    EXPECT_EQ(mt->param("a"), "x\"y\\z");
}

// Parameter names are lowercased and looked up without case; values keep their case.
TEST(ParseMediaType, ParameterLookupIgnoresNameCase) {
    auto mt = parse_media_type("Text/Plain; CharSet=UTF-8");
    ASSERT_TRUE(mt);
    EXPECT_EQ(mt->type, "text/plain");
    ASSERT_EQ(mt->params.size(), 1u);
    EXPECT_EQ(mt->params[0].first, "charset");
    EXPECT_EQ(mt->param("CHARSET"), "UTF-8");
    EXPECT_FALSE(mt->param("boundary"));
}

// RFC 9110 §5.6.6: empty list elements (";;") are allowed and skipped.
TEST(ParseMediaType, SkipsEmptyParameters) {
    auto mt = parse_media_type("application/json;; ;charset=utf-8");
    ASSERT_TRUE(mt);
    EXPECT_EQ(mt->param("charset"), "utf-8");
}

}  // namespace
}  // namespace estgw::mapping
