#include "mapping/http_response.hpp"

#include <gtest/gtest.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

#include "common/base64.hpp"
#include "common/pem.hpp"
#include "common/pkcs7.hpp"
#include "mapping/multipart_mixed.hpp"
#include "support/test_data.hpp"
#include "support/test_pki.hpp"

namespace estgw::mapping {
namespace {

using namespace std::chrono_literals;
using std::chrono::seconds;
using test::hex;

// 1994-11-06 08:49:30 UTC: seven seconds before the RFC 9110 §5.6.7 example date.
const auto kNow = std::chrono::sys_days{std::chrono::year{1994} / 11 / 6} + 8h + 49min + 30s;

EstResponse answer(Operation op, int status, std::string body, std::vector<HttpHeader> headers = {}) {
    EstRequest request;
    request.op = op;
    return from_http_response(request, HttpResponse{status, std::move(headers), std::move(body)}, kNow);
}

Bytes sen_response() {
    return test::read_hex("rfc9148/a2-sen-response.hex");
}

void expect_ok_certs_only(const EstResponse& r, const Bytes& expected) {
    EXPECT_EQ(r.status, Status::Ok) << r.diagnostic;
    EXPECT_EQ(r.format, ContentFormat::CertsOnly);
    EXPECT_EQ(r.body, expected);
}

void expect_upstream_failed(const EstResponse& r, const std::string& phrase) {
    EXPECT_EQ(r.status, Status::UpstreamFailed);
    EXPECT_NE(r.diagnostic.find(phrase), std::string::npos) << r.diagnostic;
}

// ---- status table (digest §5; RFC 9148 §4.5, §5; RFC 8075 §7) ----

TEST(HttpResponse, EveryErrorStatusOfTheTableMapsToItsEstStatus) {
    const std::pair<int, Status> table[] = {
        {400, Status::BadRequest},        {401, Status::Unauthorized},       {403, Status::Forbidden},
        {404, Status::NotFound},          {405, Status::MethodNotAllowed},   {406, Status::NotAcceptable},
        {408, Status::RequestIncomplete}, {412, Status::PreconditionFailed}, {413, Status::PayloadTooLarge},
        {415, Status::UnsupportedFormat}, {500, Status::Internal},           {501, Status::NotImplemented},
        {502, Status::UpstreamFailed},    {503, Status::ServiceUnavailable}, {504, Status::UpstreamTimeout},
    };
    for (const auto& [http, status] : table) {
        auto r = answer(Operation::SimpleEnroll, http, "");
        EXPECT_EQ(r.status, status) << http;
        EXPECT_EQ(r.diagnostic, "upstream " + std::to_string(http));
        EXPECT_EQ(r.upstream_status, http);
        EXPECT_FALSE(r.retry_after.has_value());
    }
}

// RFC 7252 §5.5.2 / RFC 8951 §5: the HTTP error text becomes the diagnostic payload.
TEST(HttpResponse, ErrorBodyTextIsCopiedIntoTheDiagnostic) {
    auto r = answer(Operation::SimpleEnroll, 400, "  CSR subject not allowed\r\n");
    EXPECT_EQ(r.status, Status::BadRequest);
    EXPECT_EQ(r.diagnostic, "upstream 400: CSR subject not allowed");
}

// RFC 7030 §3.2.1: the I/O layer follows same-origin redirects; one that reaches the mapping was not.
TEST(HttpResponse, RedirectIsUpstreamFailed) {
    for (int status : {301, 302, 303, 307, 308}) {
        auto r =
            answer(Operation::CaCerts, status, "<html>moved</html>", {{"Location", "https://elsewhere/"}});
        EXPECT_EQ(r.status, Status::UpstreamFailed) << status;
        EXPECT_EQ(r.diagnostic, "upstream " + std::to_string(status) + ": redirect not followed");
    }
}

TEST(HttpResponse, StatusOutsideTheTableIsUpstreamFailed) {
    for (int status : {0, 100, 201, 206, 299, 402, 409, 418, 505, 599, 600, 999}) {
        auto r = answer(Operation::SimpleEnroll, status, "odd");
        EXPECT_EQ(r.status, Status::UpstreamFailed) << status;
        EXPECT_EQ(r.diagnostic, "upstream " + std::to_string(status) + ": odd");
    }
}

// ---- 202 / 503 and Retry-After (RFC 9110 §10.2.3; RFC 9148 §4.7) ----

TEST(HttpResponse, AcceptedWithRetryAfterSecondsBecomesRetryLater) {
    auto r = answer(Operation::SimpleEnroll, 202, "", {{"Retry-After", "120"}});
    EXPECT_EQ(r.status, Status::AcceptedRetryLater);
    EXPECT_EQ(r.retry_after, seconds(120));
    EXPECT_EQ(r.diagnostic, "upstream 202");
}

TEST(HttpResponse, AcceptedWithImfFixdateCountsSecondsFromNow) {
    auto r = answer(Operation::SimpleEnroll, 202, "", {{"retry-after", "Sun, 06 Nov 1994 08:49:37 GMT"}});
    EXPECT_EQ(r.status, Status::AcceptedRetryLater);
    EXPECT_EQ(r.retry_after, seconds(7));
}

TEST(HttpResponse, AcceptedWithoutRetryAfterHasNoRetryAfter) {
    auto r = answer(Operation::SimpleEnroll, 202, "pending approval");
    EXPECT_EQ(r.status, Status::AcceptedRetryLater);
    EXPECT_FALSE(r.retry_after.has_value());
    EXPECT_EQ(r.diagnostic, "upstream 202: pending approval");
}

// RFC 7252 §5.9.3.4: 5.03 carries Max-Age from Retry-After.
TEST(HttpResponse, ServiceUnavailableKeepsRetryAfter) {
    auto r = answer(Operation::CaCerts, 503, "busy", {{"Retry-After", "30"}});
    EXPECT_EQ(r.status, Status::ServiceUnavailable);
    EXPECT_EQ(r.retry_after, seconds(30));
    EXPECT_EQ(r.diagnostic, "upstream 503: busy");
}

TEST(HttpResponse, UnparseableRetryAfterIsDroppedAndSaidSoInTheDiagnostic) {
    auto r = answer(Operation::SimpleEnroll, 503, "", {{"Retry-After", "soon"}});
    EXPECT_EQ(r.status, Status::ServiceUnavailable);
    EXPECT_FALSE(r.retry_after.has_value());
    EXPECT_EQ(r.diagnostic, "upstream 503 (unparseable Retry-After ignored)");
}

TEST(HttpResponse, RetryAfterOnOtherStatusesIsIgnored) {
    auto r = answer(Operation::SimpleEnroll, 429, "", {{"Retry-After", "5"}});
    EXPECT_FALSE(r.retry_after.has_value());
    r = answer(Operation::SimpleEnroll, 500, "", {{"Retry-After", "5"}});
    EXPECT_FALSE(r.retry_after.has_value());
}

TEST(RetryAfter, DeltaSecondsAreReadWithSurroundingWhiteSpace) {
    EXPECT_EQ(parse_retry_after("0", kNow), seconds(0));
    EXPECT_EQ(parse_retry_after(" 3600\t", kNow), seconds(3600));
}

// RFC 7252 §5.10.5: Max-Age is at most 2^32-1 seconds.
TEST(RetryAfter, HugeDeltaSecondsSaturateAtTheLargestMaxAge) {
    EXPECT_EQ(parse_retry_after("4294967296", kNow), seconds(4294967295));
    EXPECT_EQ(parse_retry_after("99999999999999999999999999", kNow), seconds(4294967295));
    EXPECT_EQ(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", kNow), seconds(4294967295));
}

// RFC 9110 §5.6.7: the preferred format.
TEST(RetryAfter, ImfFixdateIsSecondsUntilThatTime) {
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", kNow), seconds(7));
    EXPECT_EQ(parse_retry_after("Mon, 07 Nov 1994 08:49:30 GMT", kNow), seconds(86400));
}

// RFC 9110 §5.6.7: obsolete RFC 850 format, two-digit year.
TEST(RetryAfter, Rfc850DateIsAccepted) {
    EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", kNow), seconds(7));
}

// RFC 9110 §5.6.7: a two-digit year more than 50 years ahead is the most recent past such year.
TEST(RetryAfter, Rfc850TwoDigitYearIsResolvedAgainstNow) {
    const auto now2024 = std::chrono::sys_days{std::chrono::year{2024} / 1 / 1};
    auto y2030 = parse_http_date("Tuesday, 01-Jan-30 00:00:00 GMT", now2024);
    ASSERT_TRUE(y2030.has_value());
    EXPECT_EQ(*y2030, std::chrono::sys_days{std::chrono::year{2030} / 1 / 1});
    auto y1994 = parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", now2024);
    ASSERT_TRUE(y1994.has_value());
    EXPECT_EQ(std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(*y1994)).year(),
              std::chrono::year{1994});
}

// RFC 9110 §5.6.7: ANSI C asctime() format, day padded with a space.
TEST(RetryAfter, AsctimeDateIsAccepted) {
    EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:37 1994", kNow), seconds(7));
    EXPECT_EQ(parse_retry_after("Sun Nov 16 08:49:30 1994", kNow), seconds(10 * 86400));
}

TEST(RetryAfter, DateInThePastIsZero) {
    EXPECT_EQ(parse_retry_after("Sat, 05 Nov 1994 08:49:37 GMT", kNow), seconds(0));
    EXPECT_EQ(parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", kNow), seconds(0));
}

TEST(RetryAfter, GarbageIsUnparseable) {
    for (const char* text : {"",
                             "  ",
                             "soon",
                             "-5",
                             "1.5",
                             "12 s",
                             "Sun, 06 Nov 1994 08:49:37 UTC",
                             "sun, 06 Nov 1994 08:49:37 GMT",
                             "Sun, 6 Nov 1994 08:49:37 GMT",
                             "Sun, 31 Feb 1994 08:49:37 GMT",
                             "Sun, 06 Nov 1994 24:00:00 GMT",
                             "Sun, 06 Nov 1994 08:60:00 GMT",
                             "Sun, 06 Nov 1994 08:49:61 GMT",
                             "Sun, 06 Nov 1994 08:49:37 GMT trailing",
                             "Sunday, 06-Nov-1994 08:49:37 GMT",
                             "Sun Nov 6 08:49:37 1994",
                             "Sun Nov  6 08:49:37 94",
                             "Sun, 06 Xyz 1994 08:49:37 GMT",
                             "Sun, 06 Nov 1994 08:49 GMT",
                             "Sun, 06 Nov 1994 08-49-37 GMT",
                             "Sun 06 Nov 1994"}) {
        EXPECT_FALSE(parse_retry_after(text, kNow).has_value()) << text;
    }
}

// ---- 204 (digest §5, §14 item 4) ----

// RFC 9148 §4.5: "4.04 is used when the resource is not available for the client".
TEST(HttpResponse, NoContentToCsrattrsIsNotFound) {
    auto r = answer(Operation::CsrAttrs, 204, "");
    EXPECT_EQ(r.status, Status::NotFound);
    EXPECT_EQ(r.diagnostic, "upstream 204 to csrattrs");
}

// RFC 9148 §4.5: POSTs answer 2.04, which needs no payload.
TEST(HttpResponse, NoContentToAPostIsOkWithEmptyBody) {
    for (Operation op : {Operation::SimpleEnroll, Operation::SimpleReenroll, Operation::ServerKeyGen,
                         Operation::ServerKeyGenCert, Operation::VoucherStatus, Operation::EnrollStatus}) {
        auto r = answer(op, 204, "");
        EXPECT_EQ(r.status, Status::Ok);
        EXPECT_TRUE(r.body.empty());
        EXPECT_TRUE(r.parts.empty());
        EXPECT_EQ(r.upstream_status, 204);
    }
}

TEST(HttpResponse, NoContentWhereContentIsRequiredIsUpstreamFailed) {
    EXPECT_EQ(answer(Operation::CaCerts, 204, "").status, Status::UpstreamFailed);
    EXPECT_EQ(answer(Operation::RequestVoucher, 204, "").status, Status::UpstreamFailed);
}

// ---- 200 bodies (RFC 7030 §4; RFC 8951 §3; digest §6) ----

// RFC 9148 App. A.2 sent the way RFC 7030 §4.2.3 says: base64 of the certs-only.
TEST(HttpResponse, EnrollBase64OnOneLineDecodesToTheRfc9148Response) {
    auto r = answer(Operation::SimpleEnroll, 200, base64_encode(sen_response()),
                    {{"Content-Type", "application/pkcs7-mime; smime-type=certs-only"},
                     {"Content-Transfer-Encoding", "base64"}});
    expect_ok_certs_only(r, sen_response());
    EXPECT_EQ(r.upstream_status, 200);
}

TEST(HttpResponse, CacertsBase64In64ColumnCrlfLinesDecodes) {
    const Bytes crts = test::read_hex("rfc9148/a1-crts-response.hex");
    expect_ok_certs_only(answer(Operation::CaCerts, 200, base64_encode(crts, 64) + "\r\n"), crts);
}

TEST(HttpResponse, ReenrollBase64WithLfLinesAndNoContentTransferEncodingDecodes) {
    std::string text = base64_encode(sen_response(), 76);
    for (std::size_t at; (at = text.find("\r\n")) != std::string::npos;)
        text.erase(at, 1);
    expect_ok_certs_only(answer(Operation::SimpleReenroll, 200, text + "\n"), sen_response());
}

// RFC 8951 §3.1: white space inside the base64 is tolerated.
TEST(HttpResponse, Base64WithSpacesAndTabsDecodes) {
    std::string text = base64_encode(sen_response());
    text.insert(100, " \t ");
    text.insert(10, "\t");
    expect_ok_certs_only(answer(Operation::SimpleEnroll, 200, "  " + text + " \t"), sen_response());
}

TEST(HttpResponse, Base64WithTrailingNulsDecodes) {
    expect_ok_certs_only(
        answer(Operation::SimpleEnroll, 200, base64_encode(sen_response()) + std::string(2, '\0')),
        sen_response());
}

// RFC 8951 §3: Content-Transfer-Encoding is ignored, even when it says something else.
TEST(HttpResponse, ContentTransferEncodingIsNotConsulted) {
    expect_ok_certs_only(answer(Operation::SimpleEnroll, 200, base64_encode(sen_response()),
                                {{"Content-Transfer-Encoding", "binary"}}),
                         sen_response());
    expect_ok_certs_only(answer(Operation::SimpleEnroll, 200, to_string(sen_response()),
                                {{"Content-Transfer-Encoding", "base64"}}),
                         sen_response());
}

TEST(HttpResponse, PemArmouredCertsOnlyIsStripped) {
    expect_ok_certs_only(answer(Operation::SimpleEnroll, 200, "\r\n" + pem_encode(sen_response(), "PKCS7")),
                         sen_response());
}

TEST(HttpResponse, RawDerBodyIsAccepted) {
    expect_ok_certs_only(answer(Operation::SimpleEnroll, 200, to_string(sen_response())), sen_response());
}

TEST(HttpResponse, GarbageBodyIsUpstreamFailed) {
    auto r = answer(Operation::SimpleEnroll, 200, "<html>Internal error</html>");
    expect_upstream_failed(r, "upstream 200 to simpleenroll: body is neither base64 nor DER");
    expect_upstream_failed(answer(Operation::SimpleEnroll, 200, ""), "empty body");
    expect_upstream_failed(answer(Operation::SimpleEnroll, 200, "\r\n"), "empty body");
}

TEST(HttpResponse, Base64OfTruncatedDerIsUpstreamFailed) {
    Bytes cut = sen_response();
    cut.pop_back();
    expect_upstream_failed(answer(Operation::SimpleEnroll, 200, base64_encode(cut)), "not decode to one DER");
}

TEST(HttpResponse, PemBundleOfSeveralBlocksIsUpstreamFailed) {
    std::string two = pem_encode(sen_response(), "PKCS7") + pem_encode(sen_response(), "PKCS7");
    expect_upstream_failed(answer(Operation::SimpleEnroll, 200, two), "PEM body");
}

// Some servers answer enroll with the certificate itself: it is wrapped so the CoAP side sees CF 281.
TEST(HttpResponse, BareCertificateIsWrappedAsCertsOnly) {
    auto certs = certs_only_certificates_der(sen_response());
    ASSERT_TRUE(certs.ok());
    ASSERT_EQ(certs->size(), 1u);
    auto r = answer(Operation::SimpleEnroll, 200, base64_encode(certs->front()),
                    {{"Content-Type", "application/pkix-cert"}});
    EXPECT_EQ(r.status, Status::Ok) << r.diagnostic;
    EXPECT_EQ(r.format, ContentFormat::CertsOnly);
    auto inside = certs_only_certificates_der(r.body);
    ASSERT_TRUE(inside.ok());
    ASSERT_EQ(inside->size(), 1u);
    EXPECT_EQ(inside->front(), certs->front());
}

// RFC 7030 §4.1.3: the body is base64 DER; a BER certs-only (an indefinite outer length) is refused.
TEST(HttpResponse, BerCertsOnlyIsUpstreamFailed) {
    const Bytes der = sen_response();
    ASSERT_EQ(der[1], 0x82);  // 30 82 LL LL: a two-octet definite length
    Bytes ber = {0x30, 0x80};
    ber.insert(ber.end(), der.begin() + 4, der.end());
    ber.insert(ber.end(), {0x00, 0x00});  // end-of-contents
    expect_upstream_failed(answer(Operation::SimpleEnroll, 200, base64_encode(ber)), "one DER object");
}

TEST(HttpResponse, DerThatIsNeitherCertificateNorCertsOnlyIsUpstreamFailed) {
    expect_upstream_failed(answer(Operation::CaCerts, 200, base64_encode(hex("3003020101"))),
                           "not a certificate nor certs-only");
}

TEST(HttpResponse, CertsOnlyWithoutCertificatesIsUpstreamFailed) {
    auto empty = make_certs_only({});
    ASSERT_TRUE(empty.ok());
    expect_upstream_failed(answer(Operation::CaCerts, 200, base64_encode(*empty)), "holds no certificate");
}

// RFC 9148 App. A.4: CsrAttrs is a DER SEQUENCE, CF 285.
TEST(HttpResponse, CsrattrsBase64BecomesTheDerSequence) {
    const Bytes att = test::read_hex("rfc9148/a4-att-response.hex");
    auto r =
        answer(Operation::CsrAttrs, 200, base64_encode(att, 64), {{"Content-Type", "application/csrattrs"}});
    EXPECT_EQ(r.status, Status::Ok) << r.diagnostic;
    EXPECT_EQ(r.format, ContentFormat::CsrAttrs);
    EXPECT_EQ(r.body, att);
}

TEST(HttpResponse, CsrattrsThatIsNotASequenceIsUpstreamFailed) {
    expect_upstream_failed(answer(Operation::CsrAttrs, 200, base64_encode(hex("0500"))), "csrattrs body");
}

// Treated like 204 (see NoContentToCsrattrsIsNotFound).
TEST(HttpResponse, CsrattrsWithEmptyOkBodyIsNotFound) {
    auto r = answer(Operation::CsrAttrs, 200, " \r\n");
    EXPECT_EQ(r.status, Status::NotFound);
    EXPECT_EQ(r.upstream_status, 200);
}

// RFC 8995 §6: the voucher is binary, CF 836.
TEST(HttpResponse, VoucherIsPassedOnAsBinaryCose) {
    const Bytes voucher = test::read_hex("brski/appC5-voucher.hex");
    auto r = answer(Operation::RequestVoucher, 200, to_string(voucher),
                    {{"Content-Type", "application/voucher+cose"}});
    EXPECT_EQ(r.status, Status::Ok) << r.diagnostic;
    EXPECT_EQ(r.format, ContentFormat::VoucherCose);
    EXPECT_EQ(r.body, voucher);
}

// cBRSKI §15.2: the temporary registration's old name.
TEST(HttpResponse, VoucherUnderTheOldMediaTypeNameIsAccepted) {
    auto r = answer(Operation::RequestVoucher, 200, "\xd2\x84",
                    {{"Content-Type", "application/voucher-cose+cbor"}});
    EXPECT_EQ(r.status, Status::Ok) << r.diagnostic;
}

TEST(HttpResponse, VoucherWithOtherOrMissingContentTypeIsUpstreamFailed) {
    expect_upstream_failed(answer(Operation::RequestVoucher, 200, "\xd2\x84",
                                  {{"Content-Type", "application/voucher-cms+json"}}),
                           "not application/voucher+cose");
    expect_upstream_failed(answer(Operation::RequestVoucher, 200, "\xd2\x84"),
                           "not application/voucher+cose");
}

TEST(HttpResponse, EmptyVoucherIsUpstreamFailed) {
    expect_upstream_failed(
        answer(Operation::RequestVoucher, 200, "", {{"Content-Type", "application/voucher+cose"}}), "empty");
}

// RFC 8995 §5.7, §5.9.4: the registrar only acknowledges telemetry.
TEST(HttpResponse, TelemetryAcknowledgementIsOkWithoutBody) {
    for (Operation op : {Operation::VoucherStatus, Operation::EnrollStatus}) {
        auto r = answer(op, 200, "thanks", {{"Content-Type", "text/plain"}});
        EXPECT_EQ(r.status, Status::Ok);
        EXPECT_TRUE(r.body.empty());
    }
}

// ---- serverkeygen: multipart/mixed → multipart-core parts (RFC 7030 §4.4.2; RFC 9148 §4.8, App. A.3) ----

const std::string kSkgType = "multipart/mixed; boundary=est-boundary";
const std::string kPkcs8Type = "application/pkcs8";
const std::string kCertsOnlyType = "application/pkcs7-mime; smime-type=certs-only";
const std::string kEncryptedKeyType = "application/pkcs7-mime; smime-type=server-generated-key";

MimePart part(const std::string& content_type, const Bytes& der) {
    return MimePart{{{"Content-Type", content_type}, {"Content-Transfer-Encoding", "base64"}},
                    base64_encode(der, 64)};
}

EstResponse skg_answer(const std::vector<MimePart>& parts, Operation op = Operation::ServerKeyGen) {
    return answer(op, 200, encode_multipart_mixed(parts, "est-boundary"), {{"Content-Type", kSkgType}});
}

Bytes skg_key() {
    return test::read_hex("rfc9148/a3-skg-response-key-284.hex");
}
Bytes skg_cert() {
    return test::read_hex("rfc9148/a3-skg-response-cert-281.hex");
}

void expect_key_then_certificate(const EstResponse& r, ContentFormat key_format, const Bytes& key,
                                 const Bytes& cert) {
    ASSERT_EQ(r.status, Status::Ok) << r.diagnostic;
    EXPECT_EQ(r.format, ContentFormat::MultipartCore);
    ASSERT_EQ(r.parts.size(), 2u);
    EXPECT_EQ(r.parts[0].format, key_format);
    EXPECT_EQ(r.parts[0].body, key);
    EXPECT_EQ(r.parts[1].format, ContentFormat::CertsOnly);
    EXPECT_EQ(r.parts[1].body, cert);
}

// RFC 9148 App. A.3: [284, key, 281, cert]; /skc gets the same parts (the CoAP side makes the 287).
TEST(HttpResponse, ServerKeyGenPartsBecomeTheRfc9148KeyAndCertificateParts) {
    for (Operation op : {Operation::ServerKeyGen, Operation::ServerKeyGenCert}) {
        expect_key_then_certificate(
            skg_answer({part(kPkcs8Type, skg_key()), part(kCertsOnlyType, skg_cert())}, op),
            ContentFormat::Pkcs8, skg_key(), skg_cert());
    }
}

// RFC 9148 §4.8 allows either order; App. A.3 puts the key first, and so does the gateway.
TEST(HttpResponse, CertificatePartFirstStillGivesTheKeyPartFirst) {
    expect_key_then_certificate(skg_answer({part(kCertsOnlyType, skg_cert()), part(kPkcs8Type, skg_key())}),
                                ContentFormat::Pkcs8, skg_key(), skg_cert());
}

TEST(HttpResponse, QuotedBoundaryPreambleEpilogueAndBareLineFeedsAreTolerated) {
    std::string body = "preamble\n--b x\nContent-Type: application/pkcs8\n\n" + base64_encode(skg_key()) +
                       "\n--b x\ncontent-type: application/pkcs7-mime\n\n" + base64_encode(skg_cert()) +
                       "\n--b x--\nepilogue\n";
    auto r =
        answer(Operation::ServerKeyGen, 200, body, {{"Content-Type", "Multipart/Mixed; Boundary=\"b x\""}});
    expect_key_then_certificate(r, ContentFormat::Pkcs8, skg_key(), skg_cert());
}

// RFC 7030 §4.4.2 says PKCS#8; a PKCS#1 RSAPrivateKey under that label is converted (RFC 9148 CF 284 is
// PKCS#8).
TEST(HttpResponse, Pkcs1RsaKeyLabelledPkcs8BecomesAPkcs8Part) {
    EvpPkeyPtr key = test::make_key(test::KeyKind::Rsa2048);
    unsigned char* buffer = nullptr;
    int length = i2d_PrivateKey(key.get(), &buffer);  // RSA's "traditional" form is PKCS#1
    ASSERT_GT(length, 0);
    Bytes pkcs1(buffer, buffer + length);
    OPENSSL_free(buffer);
    auto r = skg_answer({part(kPkcs8Type, pkcs1), part(kCertsOnlyType, skg_cert())});
    ASSERT_EQ(r.status, Status::Ok) << r.diagnostic;
    ASSERT_EQ(r.parts.size(), 2u);
    EXPECT_EQ(r.parts[0].format, ContentFormat::Pkcs8);
    ASSERT_TRUE(r.parts[0].body.has_value());
    EXPECT_NE(*r.parts[0].body, pkcs1);
    const unsigned char* p = r.parts[0].body->data();
    Pkcs8InfoPtr info(d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(r.parts[0].body->size())));
    ASSERT_TRUE(info);
    EXPECT_EQ(p, r.parts[0].body->data() + r.parts[0].body->size());
    EvpPkeyPtr back(EVP_PKCS82PKEY(info.get()));
    ASSERT_TRUE(back);
    EXPECT_EQ(EVP_PKEY_eq(back.get(), key.get()), 1);
}

// RFC 9148 §5: CMS EnvelopedData is passed through without decrypting it; CF 280.
TEST(HttpResponse, EncryptedKeyPartIsPassedThroughUntouched) {
    const Bytes enveloped = hex("3011060b2a864886f70d0109100117a0020500");
    auto r = skg_answer({part(kEncryptedKeyType, enveloped), part(kCertsOnlyType, skg_cert())});
    expect_key_then_certificate(r, ContentFormat::ServerGeneratedKey, enveloped, skg_cert());
}

TEST(HttpResponse, BareCertificatePartIsWrappedAsCertsOnly) {
    auto certs = certs_only_certificates_der(skg_cert());
    ASSERT_TRUE(certs.ok());
    auto r = skg_answer({part(kPkcs8Type, skg_key()), part("application/pkix-cert", certs->front())});
    ASSERT_EQ(r.status, Status::Ok) << r.diagnostic;
    ASSERT_EQ(r.parts.size(), 2u);
    EXPECT_EQ(r.parts[1].format, ContentFormat::CertsOnly);
    auto inside = certs_only_certificates_der(*r.parts[1].body);
    ASSERT_TRUE(inside.ok());
    EXPECT_EQ(*inside, *certs);
}

TEST(HttpResponse, ServerKeyGenWithOneOrThreePartsIsUpstreamFailed) {
    expect_upstream_failed(skg_answer({part(kPkcs8Type, skg_key())}), "1 parts, not 2");
    expect_upstream_failed(skg_answer({part(kPkcs8Type, skg_key()), part(kCertsOnlyType, skg_cert()),
                                       part(kCertsOnlyType, skg_cert())}),
                           "3 parts, not 2");
}

TEST(HttpResponse, ServerKeyGenPartOfUnknownTypeIsUpstreamFailed) {
    expect_upstream_failed(skg_answer({part(kPkcs8Type, skg_key()), part("text/plain", skg_cert())}),
                           "part 1: unexpected Content-Type \"text/plain\"");
}

TEST(HttpResponse, ServerKeyGenPartWithoutContentTypeIsUpstreamFailed) {
    expect_upstream_failed(
        skg_answer({MimePart{{}, base64_encode(skg_key())}, part(kCertsOnlyType, skg_cert())}),
        "part 0: no Content-Type");
}

TEST(HttpResponse, TwoKeyPartsOrTwoCertificatePartsAreUpstreamFailed) {
    expect_upstream_failed(skg_answer({part(kPkcs8Type, skg_key()), part(kPkcs8Type, skg_key())}),
                           "a second key part");
    expect_upstream_failed(skg_answer({part(kCertsOnlyType, skg_cert()), part(kCertsOnlyType, skg_cert())}),
                           "a second certificate part");
}

TEST(HttpResponse, ServerKeyGenWithoutMultipartContentTypeIsUpstreamFailed) {
    const std::string body = encode_multipart_mixed(
        {part(kPkcs8Type, skg_key()), part(kCertsOnlyType, skg_cert())}, "est-boundary");
    expect_upstream_failed(answer(Operation::ServerKeyGen, 200, body), "no Content-Type");
    expect_upstream_failed(answer(Operation::ServerKeyGen, 200, body, {{"Content-Type", kCertsOnlyType}}),
                           "not multipart/mixed");
}

TEST(HttpResponse, ServerKeyGenWithoutCloseDelimiterIsUpstreamFailed) {
    std::string body = encode_multipart_mixed({part(kPkcs8Type, skg_key()), part(kCertsOnlyType, skg_cert())},
                                              "est-boundary");
    body.resize(body.size() - std::string("--est-boundary--\r\n").size());
    expect_upstream_failed(answer(Operation::ServerKeyGen, 200, body, {{"Content-Type", kSkgType}}),
                           "missing close delimiter");
}

TEST(HttpResponse, KeyPartThatIsNoKeyOrNoBase64IsUpstreamFailed) {
    expect_upstream_failed(
        skg_answer({part(kPkcs8Type, hex("3003020101")), part(kCertsOnlyType, skg_cert())}),
        "part 0: key part is not a private key");
    expect_upstream_failed(skg_answer({MimePart{{{"Content-Type", kPkcs8Type}}, "not base64!"},
                                       part(kCertsOnlyType, skg_cert())}),
                           "part 0: body is neither base64 nor DER");
}

TEST(HttpResponse, CertificatePartThatIsNotCertsOnlyIsUpstreamFailed) {
    expect_upstream_failed(skg_answer({part(kPkcs8Type, skg_key()), part(kCertsOnlyType, hex("3003020101"))}),
                           "part 1: not a certificate nor certs-only");
}

// ---- decode_est_body on its own ----

TEST(DecodeEstBody, AcceptsEachFormAnUpstreamSends) {
    const Bytes der = sen_response();
    for (const std::string& body : {base64_encode(der), base64_encode(der, 64), pem_encode(der, "PKCS7"),
                                    to_string(der), base64_encode(der) + '\0'}) {
        auto decoded = decode_est_body(body);
        ASSERT_TRUE(decoded.ok()) << decoded.error().message;
        EXPECT_EQ(*decoded, der);
    }
}

TEST(DecodeEstBody, PemWithBrokenBase64IsUpstreamFailed) {
    auto r = decode_est_body("-----BEGIN PKCS7-----\n!!!!\n-----END PKCS7-----\n");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status(), Status::UpstreamFailed);
}

TEST(DecodeEstBody, PemHoldingSomethingOtherThanOneDerObjectIsUpstreamFailed) {
    auto r = decode_est_body(pem_encode(hex("30030201010000"), "PKCS7"));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("not one DER object"), std::string::npos);
}

// ---- diagnostics (RFC 7252 §5.5.2: UTF-8) ----

TEST(DiagnosticText, WhiteSpaceAndControlCharactersCollapseToOneSpace) {
    EXPECT_EQ(diagnostic_text("\r\n  <h1>Bad</h1>\n\n\t<p>CSR\x01rejected</p>  \r\n"),
              "<h1>Bad</h1> <p>CSR rejected</p>");
}

TEST(DiagnosticText, InvalidUtf8IsReplacedByTheReplacementCharacter) {
    EXPECT_EQ(diagnostic_text("a\xff"
                              "b\xc3"
                              "c"),
              "a\xEF\xBF\xBD"
              "b\xEF\xBF\xBD"
              "c");
    EXPECT_EQ(diagnostic_text("\xed\xa0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
    EXPECT_EQ(diagnostic_text("\xe0\x80\xaf"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong
    EXPECT_EQ(diagnostic_text("\xf4\x90\x80\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    EXPECT_EQ(diagnostic_text("\xe2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // truncated
}

TEST(DiagnosticText, ValidMultiByteCharactersAreKept) {
    EXPECT_EQ(diagnostic_text("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92"),
              "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92");
}

TEST(DiagnosticText, LongTextIsCutAtACharacterBoundary) {
    EXPECT_EQ(diagnostic_text(std::string(300, 'x')), std::string(256, 'x'));
    EXPECT_EQ(diagnostic_text(std::string(255, 'x') + "\xc3\xa9"), std::string(255, 'x'));
    EXPECT_EQ(diagnostic_text("ab cd", 3), "ab");
}

TEST(HttpResponse, LongErrorBodyIsCappedInTheDiagnostic) {
    auto r = answer(Operation::SimpleEnroll, 500, std::string(10000, 'e'));
    EXPECT_EQ(r.diagnostic, "upstream 500: " + std::string(256, 'e'));
}

}  // namespace
}  // namespace estgw::mapping
