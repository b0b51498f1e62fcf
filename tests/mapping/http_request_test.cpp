#include "mapping/http_request.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/base64.hpp"
#include "common/pem.hpp"
#include "support/libest_base64.hpp"
#include "support/test_data.hpp"

namespace estgw::mapping {
namespace {

using test::hex;

EstRequest est_request(Operation op, std::string label = {}) {
    EstRequest r;
    r.op = op;
    r.label = std::move(label);
    return r;
}

EstRequest post(Operation op, ContentFormat format, Bytes body, std::string label = {}) {
    EstRequest r = est_request(op, std::move(label));
    r.content_format = format;
    r.body = std::move(body);
    return r;
}

HttpRequest mapped(const EstRequest& request, const UpstreamConfig& config = {}) {
    auto result = to_http_request(request, config);
    EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
    return result.ok() ? *result : HttpRequest{};
}

std::string percent_decode(const std::string& s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
            i += 2;
        } else {
            out.push_back(s[i]);
        }
    }
    return out;
}

struct PathCase {
    Operation op;
    const char* method;
    const char* path;
    const char* labelled_path;  // with label "arbitraryLabel1"; BRSKI has none (RFC 8995 §5)
};

// RFC 9148 §5 / digest §6: sen → simpleenroll etc. under /.well-known/est[/label] (RFC 7030 §3.2.2);
// RFC 8995 §5 for /.well-known/brski.
constexpr PathCase kPaths[] = {
    {Operation::CaCerts, "GET", "/.well-known/est/cacerts", "/.well-known/est/arbitraryLabel1/cacerts"},
    {Operation::SimpleEnroll, "POST", "/.well-known/est/simpleenroll",
     "/.well-known/est/arbitraryLabel1/simpleenroll"},
    {Operation::SimpleReenroll, "POST", "/.well-known/est/simplereenroll",
     "/.well-known/est/arbitraryLabel1/simplereenroll"},
    {Operation::CsrAttrs, "GET", "/.well-known/est/csrattrs", "/.well-known/est/arbitraryLabel1/csrattrs"},
    {Operation::ServerKeyGen, "POST", "/.well-known/est/serverkeygen",
     "/.well-known/est/arbitraryLabel1/serverkeygen"},
    {Operation::ServerKeyGenCert, "POST", "/.well-known/est/serverkeygen",
     "/.well-known/est/arbitraryLabel1/serverkeygen"},
    {Operation::RequestVoucher, "POST", "/.well-known/brski/requestvoucher",
     "/.well-known/brski/requestvoucher"},
    {Operation::VoucherStatus, "POST", "/.well-known/brski/voucher_status",
     "/.well-known/brski/voucher_status"},
    {Operation::EnrollStatus, "POST", "/.well-known/brski/enrollstatus", "/.well-known/brski/enrollstatus"},
};

EstRequest valid_request(Operation op, std::string label) {
    switch (op) {
        case Operation::CaCerts:
        case Operation::CsrAttrs:
            return est_request(op, std::move(label));
        case Operation::RequestVoucher: {
            EstRequest r = post(op, ContentFormat::VoucherCose, hex("d2845001"), std::move(label));
            r.peer.chain.push_back(test::read_hex("brski/appC2-pledge-idevid-cert.hex"));
            return r;
        }
        case Operation::VoucherStatus:
        case Operation::EnrollStatus:
            return post(op, ContentFormat::Cbor, hex("A26776657273696F6E0166737461747573F5"),
                        std::move(label));
        default:
            return post(op, ContentFormat::Pkcs10, test::read_hex("rfc9148/a2-sen-request.hex"),
                        std::move(label));
    }
}

UpstreamConfig forwarding_config() {
    UpstreamConfig config;
    config.forward_client_cert_header = "X-Client-Cert";
    return config;
}

TEST(HttpRequest, EveryOperationMapsToItsRfc7030OrRfc8995PathAndMethod) {
    for (const auto& c : kPaths) {
        auto http = mapped(valid_request(c.op, ""), forwarding_config());
        EXPECT_EQ(http.method, c.method) << c.path;
        EXPECT_EQ(http.path, c.path);
    }
}

// RFC 7030 §3.2.2: /.well-known/est/<label>/<operation>; BRSKI resources have no label.
TEST(HttpRequest, LabelIsInsertedBeforeTheOperationForEstOnly) {
    for (const auto& c : kPaths) {
        auto http = mapped(valid_request(c.op, "arbitraryLabel1"), forwarding_config());
        EXPECT_EQ(http.path, c.labelled_path);
    }
}

TEST(HttpRequest, LabelIsPercentEncodedAsOnePathSegment) {
    auto http = mapped(est_request(Operation::CaCerts, "a/b c%"));
    EXPECT_EQ(http.path, "/.well-known/est/a%2Fb%20c%25/cacerts");
}

TEST(HttpRequest, ConfiguredPrefixesAreUsedAndTrailingSlashesDropped) {
    UpstreamConfig config;
    config.est_prefix = "/est/";
    config.brski_prefix = "/b";
    EXPECT_EQ(mapped(est_request(Operation::CaCerts), config).path, "/est/cacerts");
    EXPECT_EQ(mapped(valid_request(Operation::EnrollStatus, ""), config).path, "/b/enrollstatus");
}

// RFC 7030 §4.2.1: "Content-Type: application/pkcs10", base64 body; RFC 8951 §3 for the CTE header.
TEST(HttpRequest, EnrollBodyIsBase64OfTheCsrWithPkcs10ContentType) {
    const Bytes csr = test::read_hex("rfc9148/a2-sen-request.hex");
    auto http = mapped(post(Operation::SimpleEnroll, ContentFormat::Pkcs10, csr));
    EXPECT_EQ(http.header("Content-Type"), "application/pkcs10");
    EXPECT_EQ(http.header("Content-Transfer-Encoding"), "base64");
    auto back = base64_decode(http.body);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, csr);
}

// libest decodes with OpenSSL's BIO_f_base64 in its default mode, which refuses base64 whose last line has no
// line break: lines of at most 64 characters, each ending with CRLF, the last one included.
TEST(HttpRequest, Base64BodyComesInLinesOfSixtyFourEachEndingWithALineBreak) {
    const Bytes csr = test::read_hex("rfc9148/a2-sen-request.hex");
    const std::string body = mapped(post(Operation::SimpleEnroll, ContentFormat::Pkcs10, csr)).body;
    ASSERT_GT(body.size(), 130u);  // several lines
    ASSERT_EQ(body.substr(body.size() - 2), "\r\n");
    std::size_t start = 0;
    while (start < body.size()) {
        std::size_t end = body.find("\r\n", start);
        ASSERT_NE(end, std::string::npos);
        EXPECT_LE(end - start, 64u);
        EXPECT_GT(end - start, 0u);
        if (end + 2 < body.size()) {
            EXPECT_EQ(end - start, 64u);  // only the last line is shorter
        }
        start = end + 2;
    }
}

TEST(HttpRequest, Base64BodyDecodesWithLibestsDecoder) {
    const Bytes csr = test::read_hex("rfc9148/a2-sen-request.hex");
    for (Operation op : {Operation::SimpleEnroll, Operation::SimpleReenroll, Operation::ServerKeyGen,
                         Operation::ServerKeyGenCert}) {
        EXPECT_EQ(test::libest_base64_decode(mapped(post(op, ContentFormat::Pkcs10, csr)).body), csr);
    }
}

// The reason for the line breaks, kept as a check that the test decoder is as strict as libest's.
TEST(HttpRequest, LibestsDecoderRefusesOneUnbrokenLine) {
    const Bytes csr = test::read_hex("rfc9148/a2-sen-request.hex");
    EXPECT_FALSE(test::libest_base64_decode(base64_encode(csr)).has_value());
    EXPECT_EQ(test::libest_base64_decode(base64_encode(csr) + "\n"), csr);
}

// RFC 9148 §5: a missing Content-Format on a POST means the resource's own request format.
TEST(HttpRequest, AbsentContentFormatDefaultsToTheResourceRequestFormat) {
    EstRequest r = post(Operation::SimpleReenroll, ContentFormat::Pkcs10, hex("3000"));
    r.content_format.reset();
    EXPECT_EQ(mapped(r).header("Content-Type"), "application/pkcs10");
}

TEST(HttpRequest, ContentFormatTheResourceDoesNotTakeIsUnsupportedFormat) {
    auto result = to_http_request(post(Operation::SimpleEnroll, ContentFormat::Cbor, hex("a0")), {});
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status(), Status::UnsupportedFormat);
}

TEST(HttpRequest, EmptyPostBodyIsBadRequest) {
    auto result = to_http_request(post(Operation::ServerKeyGen, ContentFormat::Pkcs10, {}), {});
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status(), Status::BadRequest);
}

TEST(HttpRequest, GetRequestsCarryNoBodyNorContentType) {
    for (Operation op : {Operation::CaCerts, Operation::CsrAttrs}) {
        auto http = mapped(est_request(op));
        EXPECT_TRUE(http.body.empty());
        EXPECT_FALSE(http.header("Content-Type").has_value());
        EXPECT_FALSE(http.header("Content-Transfer-Encoding").has_value());
    }
}

// RFC 7030 §4.1.3, §4.2.3, §4.4.2, §4.5.2 response types; RFC 8995 §5.2 / cBRSKI §7.1 for vouchers.
TEST(HttpRequest, AcceptHeaderNamesTheResponseTypeOfEachOperation) {
    const std::pair<Operation, const char*> cases[] = {
        {Operation::CaCerts, "application/pkcs7-mime"},
        {Operation::SimpleEnroll, "application/pkcs7-mime"},
        {Operation::SimpleReenroll, "application/pkcs7-mime"},
        {Operation::ServerKeyGen, "multipart/mixed"},
        {Operation::ServerKeyGenCert, "multipart/mixed"},
        {Operation::CsrAttrs, "application/csrattrs"},
        {Operation::RequestVoucher, "application/voucher+cose"},
    };
    for (const auto& [op, accept] : cases) {
        EXPECT_EQ(mapped(valid_request(op, ""), forwarding_config()).header("Accept"), accept);
    }
    EXPECT_FALSE(mapped(valid_request(Operation::EnrollStatus, "")).header("Accept").has_value());
}

// RFC 8995 §6: the voucher request is binary, not base64.
TEST(HttpRequest, VoucherRequestBodyIsBinaryCose) {
    auto http = mapped(valid_request(Operation::RequestVoucher, ""), forwarding_config());
    EXPECT_EQ(http.body, to_string(hex("d2845001")));
    EXPECT_EQ(http.header("Content-Type"), "application/voucher+cose");
    EXPECT_FALSE(http.header("Content-Transfer-Encoding").has_value());
}

// DESIGN.md: rv is relayed only with pledge-certificate forwarding (the PVR pins the DTLS terminator).
TEST(HttpRequest, VoucherRequestWithoutCertificateForwardingIsNotImplemented) {
    auto result = to_http_request(valid_request(Operation::RequestVoucher, ""), {});
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status(), Status::NotImplemented);
}

TEST(HttpRequest, VoucherRequestFromAPledgeWithoutCertificateIsUnauthorized) {
    EstRequest r = valid_request(Operation::RequestVoucher, "");
    r.peer.chain.clear();
    auto result = to_http_request(r, forwarding_config());
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status(), Status::Unauthorized);
}

// cBRSKI App. B.1 / RFC 8995 §5.9.4: CBOR telemetry is relayed as JSON.
TEST(HttpRequest, CborEnrollStatusIsRelayedAsJson) {
    auto http = mapped(valid_request(Operation::EnrollStatus, ""));
    EXPECT_EQ(http.header("Content-Type"), "application/json");
    EXPECT_EQ(http.body, R"({"version":1,"status":true})");
    EXPECT_FALSE(http.header("Content-Transfer-Encoding").has_value());
}

TEST(HttpRequest, CborVoucherStatusIsRelayedAsJson) {
    auto http = mapped(post(Operation::VoucherStatus, ContentFormat::Cbor,
                            test::read_hex("brski/appB2-voucher-status.hex")));
    EXPECT_EQ(http.path, "/.well-known/brski/voucher_status");
    EXPECT_EQ(http.body, R"({"version":1,"status":false,"reason":"Informative human-readable error message",)"
                         R"("reason-context":{"0":"Additional information"}})");
}

// cBRSKI §6.5.1: JSON (CF 50) MAY be used; it is passed on untouched.
TEST(HttpRequest, JsonTelemetryIsPassedThroughUnchanged) {
    const std::string json = R"({ "version": 1, "status": false })";
    auto http = mapped(post(Operation::EnrollStatus, ContentFormat::Json, to_bytes(json)));
    EXPECT_EQ(http.header("Content-Type"), "application/json");
    EXPECT_EQ(http.body, json);
}

TEST(HttpRequest, TelemetryCborWithATagIsBadRequest) {
    auto result = to_http_request(post(Operation::VoucherStatus, ContentFormat::Cbor, hex("A16174C100")), {});
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status(), Status::BadRequest);
}

// RFC 7617 §2: "Basic " + base64(user-id ":" password).
TEST(HttpRequest, BasicCredentialsAreSentWhenConfigured) {
    UpstreamConfig config;
    config.basic_user = "Aladdin";
    config.basic_password = "open sesame";
    EXPECT_EQ(mapped(est_request(Operation::CaCerts), config).header("Authorization"),
              "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

TEST(HttpRequest, BasicUserWithoutPasswordUsesAnEmptyPassword) {
    UpstreamConfig config;
    config.basic_user = "ra";
    EXPECT_EQ(mapped(est_request(Operation::CaCerts), config).header("Authorization"), "Basic cmE6");
}

TEST(HttpRequest, NoAuthorizationHeaderWithoutConfiguredCredentials) {
    EXPECT_FALSE(mapped(est_request(Operation::CaCerts)).header("Authorization").has_value());
}

TEST(HttpRequest, BasicUserContainingAColonIsRefused) {
    UpstreamConfig config;
    config.basic_user = "a:b";
    EXPECT_EQ(to_http_request(est_request(Operation::CaCerts), config).status(), Status::Internal);
}

TEST(HttpRequest, ForwardedClientCertificateIsThePercentEncodedPemOfTheLeaf) {
    EstRequest r = post(Operation::SimpleEnroll, ContentFormat::Pkcs10, hex("3000"));
    const Bytes leaf = test::read_hex("brski/appC2-pledge-idevid-cert.hex");
    r.peer.chain = {leaf, test::read_hex("brski/appC2-masa-ca-cert.hex")};
    auto http = mapped(r, forwarding_config());
    auto value = http.header("x-client-cert");
    ASSERT_TRUE(value.has_value());
    EXPECT_TRUE(value->starts_with("-----BEGIN%20CERTIFICATE-----%0A")) << *value;
    EXPECT_EQ(value->find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%"),
              std::string::npos);
    const std::string pem = percent_decode(*value);
    EXPECT_EQ(pem, pem_encode(leaf, "CERTIFICATE"));
    auto der = pem_decode(pem, "CERTIFICATE");
    ASSERT_TRUE(der.ok());
    EXPECT_EQ(*der, leaf);
}

TEST(HttpRequest, ForwardedCertificateHeaderIsOmittedWithoutAPeerChain) {
    auto http =
        mapped(post(Operation::SimpleEnroll, ContentFormat::Pkcs10, hex("3000")), forwarding_config());
    EXPECT_FALSE(http.header("X-Client-Cert").has_value());
}

TEST(HttpRequest, NoCertificateIsForwardedUnlessConfigured) {
    EstRequest r = post(Operation::SimpleEnroll, ContentFormat::Pkcs10, hex("3000"));
    r.peer.chain = {test::read_hex("brski/appC2-pledge-idevid-cert.hex")};
    for (const auto& h : mapped(r).headers) {
        EXPECT_TRUE(h.name == "Content-Type" || h.name == "Content-Transfer-Encoding" || h.name == "Accept")
            << h.name;
    }
}

// RFC 3986 §2.3: only ALPHA / DIGIT / "-" / "." / "_" / "~" stay as they are.
TEST(HttpRequest, PercentEncodingKeepsOnlyUnreservedCharacters) {
    EXPECT_EQ(percent_encode("AZaz09-._~"), "AZaz09-._~");
    EXPECT_EQ(percent_encode("+/= \n:%\xff"), "%2B%2F%3D%20%0A%3A%25%FF");
    EXPECT_EQ(percent_encode(""), "");
}

TEST(HttpRequest, PercentDecodingUndoesPercentEncoding) {
    const std::string all = "AZaz09-._~+/= \n:%\xff";
    EXPECT_EQ(mapping::percent_decode(percent_encode(all)), all);
    EXPECT_EQ(mapping::percent_decode("%2b%2B"), "++");  // hex digits of either case
}

// Not form decoding: base64 in a forwarded certificate holds '+', which must not turn into a space.
TEST(HttpRequest, PercentDecodingLeavesPlusAndOtherCharactersAsTheyAre) {
    EXPECT_EQ(mapping::percent_decode("a+b c"), "a+b c");
}

TEST(HttpRequest, PercentDecodingRefusesAPercentWithoutTwoHexDigits) {
    for (const char* bad : {"%", "%4", "a%4", "%G1", "%1G", "%%41"})
        EXPECT_EQ(mapping::percent_decode(bad), std::nullopt) << bad;
}

}  // namespace
}  // namespace estgw::mapping
