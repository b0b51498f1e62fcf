#include "mapping/multipart_mixed.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace estgw::mapping {
namespace {

std::vector<MimePart> parsed(const std::string& content_type, const std::string& body) {
    auto result = parse_multipart_mixed(content_type, body);
    EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
    return result.ok() ? *result : std::vector<MimePart>{};
}

void expect_rejected(const std::string& content_type, const std::string& body, const std::string& phrase) {
    auto result = parse_multipart_mixed(content_type, body);
    ASSERT_FALSE(result.ok()) << body;
    EXPECT_EQ(result.status(), Status::UpstreamFailed);
    EXPECT_NE(result.error().message.find(phrase), std::string::npos) << result.error().message;
}

// RFC 7030 §4.4.2 shape: two parts, each with Content-Type and Content-Transfer-Encoding.
const std::string kTwoParts =
    "--est\r\n"
    "Content-Type: application/pkcs8\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "S0VZ\r\n"
    "--est\r\n"
    "Content-Type: application/pkcs7-mime; smime-type=certs-only\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "Q0VSVA==\r\n"
    "--est--\r\n";

// RFC 2046 §5.1.1: the boundary comes from the Content-Type parameter.
TEST(MultipartMixed, UnquotedBoundaryParameterSplitsTwoParts) {
    auto parts = parsed("multipart/mixed; boundary=est", kTwoParts);
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].header("Content-Type"), "application/pkcs8");
    EXPECT_EQ(parts[0].body, "S0VZ");
    EXPECT_EQ(parts[1].header("Content-Type"), "application/pkcs7-mime; smime-type=certs-only");
    EXPECT_EQ(parts[1].body, "Q0VSVA==");
}

// RFC 2046 §5.1.1: boundaries with characters outside tokens must be quoted.
TEST(MultipartMixed, QuotedBoundaryWithSpaceAndColonIsUnquoted) {
    auto boundary = multipart_boundary("multipart/mixed; boundary=\"a b:c\"");
    ASSERT_TRUE(boundary.ok());
    EXPECT_EQ(*boundary, "a b:c");
    auto parts = parsed("multipart/mixed; boundary=\"a b:c\"", "--a b:c\r\n\r\nx\r\n--a b:c--");
    ASSERT_EQ(parts.size(), 1u);
    EXPECT_EQ(parts[0].body, "x");
}

// RFC 2045 §5.1: parameter names are case-insensitive, and so is the media type.
TEST(MultipartMixed, BoundaryParameterNameAndMediaTypeAreCaseInsensitive) {
    auto boundary = multipart_boundary("Multipart/Mixed; BOUNDARY=est");
    ASSERT_TRUE(boundary.ok());
    EXPECT_EQ(*boundary, "est");
}

TEST(MultipartMixed, ContentTypeThatIsNotMultipartMixedIsRejected) {
    expect_rejected("multipart/related; boundary=est", kTwoParts, "not multipart/mixed");
    expect_rejected("text/plain", kTwoParts, "not multipart/mixed");
    expect_rejected("", kTwoParts, "not multipart/mixed");
}

TEST(MultipartMixed, MissingBoundaryParameterIsRejected) {
    expect_rejected("multipart/mixed", kTwoParts, "no boundary");
}

// RFC 2046 §5.1.1: boundary := 0*69<bchars> bcharsnospace, so 1..70 characters not ending in a space.
TEST(MultipartMixed, BoundaryOfSeventyCharactersIsAcceptedAndSeventyOneIsNot) {
    EXPECT_TRUE(multipart_boundary("multipart/mixed; boundary=" + std::string(70, 'b')).ok());
    EXPECT_FALSE(multipart_boundary("multipart/mixed; boundary=" + std::string(71, 'b')).ok());
}

TEST(MultipartMixed, EmptyBoundaryOrOneEndingInSpaceOrWithForbiddenCharacterIsRejected) {
    EXPECT_FALSE(multipart_boundary("multipart/mixed; boundary=\"\"").ok());
    EXPECT_FALSE(multipart_boundary("multipart/mixed; boundary=\"ab \"").ok());
    EXPECT_FALSE(multipart_boundary("multipart/mixed; boundary=\"a*b\"").ok());
}

// RFC 2046 §5.1.1: "the preamble and epilogue ... are to be ignored".
TEST(MultipartMixed, PreambleAndEpilogueAreIgnored) {
    auto parts = parsed("multipart/mixed; boundary=est",
                        "This is a preamble.\r\n--est is not a delimiter here\r\n" + kTwoParts +
                            "This is the epilogue.\r\n--est\r\nnot a part\r\n");
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].body, "S0VZ");
    EXPECT_EQ(parts[1].body, "Q0VSVA==");
}

// Some servers end lines with LF only; the LF before a delimiter belongs to it just like CRLF.
TEST(MultipartMixed, BareLineFeedsAreAcceptedAsLineEnds) {
    auto parts = parsed("multipart/mixed; boundary=est",
                        "--est\nContent-Type: application/pkcs8\n\nS0VZ\n--est\n"
                        "Content-Type: application/pkix-cert\n\nQ0VSVA==\n--est--\n");
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].header("content-type"), "application/pkcs8");
    EXPECT_EQ(parts[0].body, "S0VZ");
    EXPECT_EQ(parts[1].body, "Q0VSVA==");
}

// RFC 2046 §5.1.1: transport-padding (LWSP) may follow a boundary before the line break.
TEST(MultipartMixed, TransportPaddingAfterDelimiterIsSkipped) {
    auto parts =
        parsed("multipart/mixed; boundary=est", "--est \t\r\n\r\nA\r\n--est  \r\n\r\nB\r\n--est--  \r\n");
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].body, "A");
    EXPECT_EQ(parts[1].body, "B");
}

// RFC 2045 §5.1 / RFC 5322 §1.2.2: header field names are case-insensitive; values keep their text.
TEST(MultipartMixed, PartHeadersAreFoundCaseInsensitivelyWithValuesTrimmed) {
    auto parts = parsed("multipart/mixed; boundary=est",
                        "--est\r\nCONTENT-TYPE:   application/pkcs8  \r\nX-Other:v:w\r\n\r\nbody\r\n--est--");
    ASSERT_EQ(parts.size(), 1u);
    ASSERT_EQ(parts[0].headers.size(), 2u);
    EXPECT_EQ(parts[0].header("content-type"), "application/pkcs8");
    EXPECT_EQ(parts[0].header("x-other"), "v:w");
    EXPECT_FALSE(parts[0].header("Content-Transfer-Encoding").has_value());
}

// RFC 5322 §2.2.3: a folded header continues on lines starting with white space.
TEST(MultipartMixed, FoldedHeaderLinesAreJoinedWithOneSpace) {
    auto parts = parsed("multipart/mixed; boundary=est",
                        "--est\r\nContent-Type: application/pkcs7-mime;\r\n\tsmime-type=certs-only\r\n \r\n"
                        "\r\nx\r\n--est--");
    ASSERT_EQ(parts.size(), 1u);
    EXPECT_EQ(parts[0].header("Content-Type"), "application/pkcs7-mime; smime-type=certs-only");
}

TEST(MultipartMixed, FoldedLineBeforeAnyHeaderIsRejected) {
    expect_rejected("multipart/mixed; boundary=est", "--est\r\n continued\r\n\r\nx\r\n--est--", "folded");
}

TEST(MultipartMixed, HeaderLineWithoutColonIsRejected) {
    expect_rejected("multipart/mixed; boundary=est", "--est\r\nno colon here\r\n\r\nx\r\n--est--", "header");
    expect_rejected("multipart/mixed; boundary=est", "--est\r\n: empty name\r\n\r\nx\r\n--est--", "header");
}

// RFC 2046 §5.1.1: body-part := MIME-part-headers [CRLF *OCTET]; a part may have no headers.
TEST(MultipartMixed, PartWithoutHeadersStartsWithAnEmptyLine) {
    auto parts = parsed("multipart/mixed; boundary=est", "--est\r\n\r\nonly body\r\n--est--");
    ASSERT_EQ(parts.size(), 1u);
    EXPECT_TRUE(parts[0].headers.empty());
    EXPECT_EQ(parts[0].body, "only body");
}

TEST(MultipartMixed, PartWithHeadersButNoEmptyLineHasAnEmptyBody) {
    auto parts = parsed("multipart/mixed; boundary=est", "--est\r\nContent-Type: a/b\r\n--est--");
    ASSERT_EQ(parts.size(), 1u);
    EXPECT_EQ(parts[0].header("Content-Type"), "a/b");
    EXPECT_EQ(parts[0].body, "");
}

TEST(MultipartMixed, EmptyPartBetweenAdjacentDelimitersIsKept) {
    auto parts = parsed("multipart/mixed; boundary=est", "--est\r\n--est\r\n\r\nx\r\n--est--");
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_TRUE(parts[0].headers.empty());
    EXPECT_EQ(parts[0].body, "");
    EXPECT_EQ(parts[1].body, "x");
}

// The CRLF before a delimiter is part of it (RFC 2046 §5.1.1), so line breaks inside the body stay.
TEST(MultipartMixed, BodyKeepsItsInnerLineBreaksAndLinesThatOnlyStartLikeTheBoundary) {
    auto parts =
        parsed("multipart/mixed; boundary=est", "--est\r\n\r\nline1\r\n--estX\r\nline3\r\n\r\n--est--");
    ASSERT_EQ(parts.size(), 1u);
    EXPECT_EQ(parts[0].body, "line1\r\n--estX\r\nline3\r\n");
}

TEST(MultipartMixed, MissingCloseDelimiterIsRejected) {
    std::string truncated = kTwoParts.substr(0, kTwoParts.size() - std::string("--est--\r\n").size());
    expect_rejected("multipart/mixed; boundary=est", truncated, "missing close delimiter");
    expect_rejected("multipart/mixed; boundary=est", "--est\r\n\r\nx\r\n--est", "missing close delimiter");
}

TEST(MultipartMixed, BodyWithoutAnyDelimiterIsRejected) {
    expect_rejected("multipart/mixed; boundary=est", "S0VZ", "no delimiter");
    expect_rejected("multipart/mixed; boundary=est", "", "no delimiter");
}

// RFC 2046 §5.1.1: multipart-body needs at least one body-part.
TEST(MultipartMixed, CloseDelimiterWithoutPartsIsRejected) {
    expect_rejected("multipart/mixed; boundary=est", "--est--\r\n", "no body parts");
}

TEST(MultipartMixed, EncoderWritesCrlfDelimitedPartsAndCloseDelimiter) {
    std::vector<MimePart> parts{{{{"Content-Type", "application/pkcs8"}}, "S0VZ"}, {{}, "Q0VSVA=="}};
    EXPECT_EQ(encode_multipart_mixed(parts, "b1"),
              "--b1\r\nContent-Type: application/pkcs8\r\n\r\nS0VZ\r\n--b1\r\n\r\nQ0VSVA==\r\n--b1--\r\n");
}

TEST(MultipartMixed, EncodedPartsParseBackIdentically) {
    std::vector<MimePart> parts{
        {{{"Content-Type", "application/pkcs8"}, {"Content-Transfer-Encoding", "base64"}}, "S0VZ\r\nS0VZ"},
        {{{"Content-Type", "application/pkcs7-mime; smime-type=certs-only"}}, "ends with CR\r"},
        {{}, ""},
    };
    auto back = parse_multipart_body(encode_multipart_mixed(parts, "=_boundary"), "=_boundary");
    ASSERT_TRUE(back.ok()) << back.error().message;
    ASSERT_EQ(back->size(), parts.size());
    for (std::size_t i = 0; i < parts.size(); ++i) {
        EXPECT_EQ((*back)[i].body, parts[i].body) << i;
        ASSERT_EQ((*back)[i].headers.size(), parts[i].headers.size()) << i;
        for (std::size_t h = 0; h < parts[i].headers.size(); ++h) {
            EXPECT_EQ((*back)[i].headers[h].name, parts[i].headers[h].name);
            EXPECT_EQ((*back)[i].headers[h].value, parts[i].headers[h].value);
        }
    }
}

}  // namespace
}  // namespace estgw::mapping
