// EstResponse → CoAP response: codes, Accept conversions, Max-Age, diagnostics (RFC 9148 §4.3, §4.5, §4.7,
// §4.8, App. A; RFC 7252 §5.5.2, §5.10.5; cBRSKI §6.5, §6.7.5, §6.8; digest §5, §6).
#include "mapping/coap_response.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <ostream>

#include "ca_fixtures.hpp"
#include "common/x509.hpp"
#include "mapping/multipart_core.hpp"
#include "mapping/resources.hpp"
#include "support/test_data.hpp"

namespace estgw::mapping {
namespace {

using CF = ContentFormat;
using estgw::test::read_hex;

EstRequest request_for(Operation op, std::optional<CF> accept = std::nullopt) {
    EstRequest r;
    r.op = op;
    r.accept = accept;
    return r;
}

EstResponse ok(CF format, Bytes body) {
    EstResponse r;
    r.format = format;
    r.body = std::move(body);
    return r;
}

EstResponse ok_parts(std::vector<BodyPart> parts) {
    EstResponse r;
    r.format = CF::MultipartCore;
    r.parts = std::move(parts);
    return r;
}

Bytes only_certificate(ByteView certs_only) {
    auto certs = certs_only_certificates_der(certs_only);
    EXPECT_TRUE(certs && certs->size() == 1);
    return certs ? certs->front() : Bytes{};
}

// ---- Status → code (RFC 9148 §4.5 Table 4, RFC 7252 §5.9, digest §5) ----

struct StatusRow {
    Status status;
    const char* code;
};

// Readable test names in ctest instead of a byte dump.
void PrintTo(const StatusRow& row, std::ostream* os) {
    *os << status_name(row.status) << " -> " << row.code;
}

class StatusToCode : public ::testing::TestWithParam<StatusRow> {};

TEST_P(StatusToCode, MapsToTheCodeOfDigestSection5) {
    EXPECT_EQ(coap_code_string(coap_code_for(GetParam().status)), GetParam().code);
}

INSTANTIATE_TEST_SUITE_P(
    EveryStatus, StatusToCode,
    ::testing::Values(StatusRow{Status::Ok, "2.05"}, StatusRow{Status::AcceptedRetryLater, "5.03"},
                      StatusRow{Status::BadRequest, "4.00"}, StatusRow{Status::Unauthorized, "4.01"},
                      StatusRow{Status::BadOption, "4.02"}, StatusRow{Status::Forbidden, "4.03"},
                      StatusRow{Status::NotFound, "4.04"}, StatusRow{Status::MethodNotAllowed, "4.05"},
                      StatusRow{Status::NotAcceptable, "4.06"}, StatusRow{Status::RequestIncomplete, "4.08"},
                      StatusRow{Status::PreconditionFailed, "4.12"},
                      StatusRow{Status::PayloadTooLarge, "4.13"},
                      StatusRow{Status::UnsupportedFormat, "4.15"}, StatusRow{Status::Internal, "5.00"},
                      StatusRow{Status::NotImplemented, "5.01"}, StatusRow{Status::UpstreamFailed, "5.02"},
                      StatusRow{Status::ServiceUnavailable, "5.03"},
                      StatusRow{Status::UpstreamTimeout, "5.04"}),
    [](const ::testing::TestParamInfo<StatusRow>& info) {
        std::string name(status_name(info.param.status));
        std::erase(name, '-');
        return name;
    });

// RFC 7252 §12.1: "c.dd" with two digits of detail.
TEST(CoapCodeString, WritesClassDotTwoDigitDetail) {
    EXPECT_EQ(coap_code_string(0x44), "2.04");
    EXPECT_EQ(coap_code_string(0x5F), "2.31");
    EXPECT_EQ(coap_code_string(0x8F), "4.15");
    EXPECT_EQ(coap_code_string(0x00), "0.00");
}

// ---- success codes and pass-through (RFC 9148 §4.5, App. A) ----

// RFC 9148 App. A.1: /crts answers 2.05, CF 281, the certs-only as is.
TEST(ToCoapResponse, CrtsAnswers205WithTheCertsOnlyAsIs) {
    Bytes body = read_hex("rfc9148/a1-crts-response.hex");
    auto r = to_coap_response(request_for(Operation::CaCerts), ok(CF::CertsOnly, body));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(coap_code_string(r->code), "2.05");
    EXPECT_EQ(r->content_format, 281u);
    EXPECT_EQ(r->payload, body);
    EXPECT_FALSE(r->max_age.has_value());
}

// RFC 9148 App. A.2: /sen answers 2.04 (not 2.01), CF 281.
TEST(ToCoapResponse, SenAnswers204WithTheCertsOnly) {
    Bytes body = read_hex("rfc9148/a2-sen-response.hex");
    auto r = to_coap_response(request_for(Operation::SimpleEnroll, CF::CertsOnly), ok(CF::CertsOnly, body));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(coap_code_string(r->code), "2.04");
    EXPECT_EQ(r->content_format, 281u);
    EXPECT_EQ(r->payload, body);
}

// RFC 9148 App. A.4: /att answers 2.05, CF 285.
TEST(ToCoapResponse, AttAnswers205WithCsrAttrs) {
    Bytes body = read_hex("rfc9148/a4-att-response.hex");
    auto r = to_coap_response(request_for(Operation::CsrAttrs), ok(CF::CsrAttrs, body));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(coap_code_string(r->code), "2.05");
    EXPECT_EQ(r->content_format, 285u);
    EXPECT_EQ(r->payload, body);
}

// ---- Accept conversions for the enroll answers ----

// RFC 9148 §4.3 (digest §6): Accept 287 on /sen extracts the issued certificate from the certs-only.
TEST(ToCoapResponse, SenWithAccept287AnswersTheIssuedCertificate) {
    Bytes certs_only = read_hex("rfc9148/a2-sen-response.hex");
    auto r =
        to_coap_response(request_for(Operation::SimpleEnroll, CF::PkixCert), ok(CF::CertsOnly, certs_only));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(coap_code_string(r->code), "2.04");
    EXPECT_EQ(r->content_format, 287u);
    EXPECT_EQ(r->payload, only_certificate(certs_only));
}

// cBRSKI §6.8: 287 MUST be available for /sren as well.
TEST(ToCoapResponse, SrenWithAccept287AnswersTheIssuedCertificate) {
    Bytes certs_only = read_hex("rfc9148/a2-sen-response.hex");
    auto r =
        to_coap_response(request_for(Operation::SimpleReenroll, CF::PkixCert), ok(CF::CertsOnly, certs_only));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->payload, only_certificate(certs_only));
}

// A backend that issued a bare certificate (287) still answers a client that wants the default 281.
TEST(ToCoapResponse, SenFromPkixCertBackendIsWrappedForAccept281) {
    Bytes cert = only_certificate(read_hex("rfc9148/a2-sen-response.hex"));
    auto r = to_coap_response(request_for(Operation::SimpleEnroll), ok(CF::PkixCert, cert));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->content_format, 281u);
    EXPECT_EQ(only_certificate(r->payload), cert);
}

// An enroll answer that is not certs-only cannot be converted: 5.02.
TEST(ToCoapResponse, UnparseableEnrollAnswerForAccept287IsUpstreamFailure) {
    auto r =
        to_coap_response(request_for(Operation::SimpleEnroll, CF::PkixCert), ok(CF::CertsOnly, {0x30, 0x00}));
    EXPECT_EQ(r.status(), Status::UpstreamFailed);
}

// A backend answering in a format that has no conversion (here csrattrs for /sen) is 5.02.
TEST(ToCoapResponse, BackendFormatWithoutConversionIsUpstreamFailure) {
    auto r = to_coap_response(request_for(Operation::SimpleEnroll), ok(CF::CsrAttrs, {0x30, 0x00}));
    EXPECT_EQ(r.status(), Status::UpstreamFailed);
    EXPECT_EQ(
        r.error().message,
        "cannot answer /sen: the backend answered in Content-Format 285, which cannot be converted to the "
        "requested 281");
}

// ---- /crts conversions (cBRSKI §6.7.5, §6.8) ----

// RFC 9148 App. A.1 has one root: Accept 287 answers it.
TEST(ToCoapResponse, CrtsWithAccept287AnswersTheOnlyCa) {
    Bytes certs_only = read_hex("rfc9148/a1-crts-response.hex");
    auto r = to_coap_response(request_for(Operation::CaCerts, CF::PkixCert), ok(CF::CertsOnly, certs_only));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(coap_code_string(r->code), "2.05");
    EXPECT_EQ(r->content_format, 287u);
    EXPECT_EQ(r->payload, only_certificate(certs_only));
}

// cBRSKI §6.7.5: Accept 62 is a multipart-core list of 287 certificates.
TEST(ToCoapResponse, CrtsWithAccept62AnswersAListOfPkixCerts) {
    Bytes certs_only = read_hex("rfc9148/a1-crts-response.hex");
    auto r =
        to_coap_response(request_for(Operation::CaCerts, CF::MultipartCore), ok(CF::CertsOnly, certs_only));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->content_format, 62u);
    auto parts = decode_multipart_core(r->payload);
    ASSERT_TRUE(parts) << parts.error().message;
    ASSERT_EQ(parts->size(), 1u);
    EXPECT_EQ((*parts)[0].format, CF::PkixCert);
    EXPECT_EQ((*parts)[0].body, only_certificate(certs_only));
}

// cBRSKI §6.8: the CA that issued the client's certificate, chosen among several.
TEST(ToCoapResponse, CrtsWithAccept287AnswersThePeersIssuer) {
    auto root = test::make_root_ca("CN=Root,O=T");
    auto sub = test::make_sub_ca("CN=Sub,O=T", root);
    auto other = test::make_root_ca("CN=Other,O=T");
    EstRequest request = request_for(Operation::CaCerts, CF::PkixCert);
    request.peer.chain = {test::make_leaf_der("CN=c,O=T", sub)};
    request.peer.certificate = share_certificate(parse_certificate_der(request.peer.chain.front()).value());
    auto r =
        to_coap_response(request, ok(CF::CertsOnly, test::certs_only_of({other.der, root.der, sub.der})));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->payload, sub.der);
}

// cBRSKI §6.8: several trust anchors and no way to choose is 4.06, which the caller sends.
TEST(ToCoapResponse, CrtsWithAccept287AndSeveralAnchorsIsNotAcceptable) {
    auto a = test::make_root_ca("CN=A,O=T");
    auto b = test::make_root_ca("CN=B,O=T");
    auto r = to_coap_response(request_for(Operation::CaCerts, CF::PkixCert),
                              ok(CF::CertsOnly, test::certs_only_of({a.der, b.der})));
    EXPECT_EQ(r.status(), Status::NotAcceptable);
}

// cBRSKI §6.7.5: the 62 list runs from the issuing CA up to the root.
TEST(ToCoapResponse, CrtsWithAccept62ListsIssuingCaFirst) {
    auto root = test::make_root_ca("CN=Root,O=T");
    auto sub = test::make_sub_ca("CN=Sub,O=T", root);
    auto r = to_coap_response(request_for(Operation::CaCerts, CF::MultipartCore),
                              ok(CF::CertsOnly, test::certs_only_of({root.der, sub.der})));
    ASSERT_TRUE(r) << r.error().message;
    auto parts = decode_multipart_core(r->payload);
    ASSERT_TRUE(parts);
    ASSERT_EQ(parts->size(), 2u);
    EXPECT_EQ((*parts)[0].body, sub.der);
    EXPECT_EQ((*parts)[1].body, root.der);
}

// A /crts answer that is not certs-only cannot give 287 or 62.
TEST(ToCoapResponse, UnparseableCaCertsForAccept62IsUpstreamFailure) {
    auto r = to_coap_response(request_for(Operation::CaCerts, CF::MultipartCore), ok(CF::CertsOnly, {0x01}));
    EXPECT_EQ(r.status(), Status::UpstreamFailed);
}

// ---- server-side key generation (RFC 9148 §4.8, App. A.3) ----

std::vector<BodyPart> a3_parts() {
    return {BodyPart{CF::Pkcs8, read_hex("rfc9148/a3-skg-response-key-284.hex")},
            BodyPart{CF::CertsOnly, read_hex("rfc9148/a3-skg-response-cert-281.hex")}};
}

// RFC 9148 App. A.3: the /skg answer is exactly the example's 617 bytes.
TEST(ToCoapResponse, SkgAnswerIsTheAppendixA3Payload) {
    auto r = to_coap_response(request_for(Operation::ServerKeyGen, CF::MultipartCore), ok_parts(a3_parts()));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(coap_code_string(r->code), "2.04");
    EXPECT_EQ(r->content_format, 62u);
    EXPECT_EQ(r->payload, read_hex("rfc9148/a3-skg-response.hex"));
}

// RFC 9148 §4.8 lets the parts come in either order; we answer key first, as App. A.3 does.
TEST(ToCoapResponse, SkgPutsTheKeyPartFirst) {
    auto parts = a3_parts();
    std::swap(parts[0], parts[1]);
    auto r = to_coap_response(request_for(Operation::ServerKeyGen), ok_parts(parts));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->payload, read_hex("rfc9148/a3-skg-response.hex"));
}

// /skg carries the certificate as certs-only even when the backend gave a bare certificate.
TEST(ToCoapResponse, SkgWrapsAPkixCertPartAsCertsOnly) {
    Bytes cert = only_certificate(read_hex("rfc9148/a3-skg-response-cert-281.hex"));
    auto r = to_coap_response(request_for(Operation::ServerKeyGen),
                              ok_parts({BodyPart{CF::Pkcs8, read_hex("rfc9148/a3-skg-response-key-284.hex")},
                                        BodyPart{CF::PkixCert, cert}}));
    ASSERT_TRUE(r) << r.error().message;
    auto parts = decode_multipart_core(r->payload);
    ASSERT_TRUE(parts);
    ASSERT_EQ(parts->size(), 2u);
    EXPECT_EQ((*parts)[1].format, CF::CertsOnly);
    EXPECT_EQ(only_certificate(*(*parts)[1].body), cert);
}

// RFC 9148 §4.8: /skc carries the certificate as pkix-cert (287).
TEST(ToCoapResponse, SkcConvertsTheCertificatePartTo287) {
    auto r =
        to_coap_response(request_for(Operation::ServerKeyGenCert, CF::MultipartCore), ok_parts(a3_parts()));
    ASSERT_TRUE(r) << r.error().message;
    auto parts = decode_multipart_core(r->payload);
    ASSERT_TRUE(parts) << parts.error().message;
    ASSERT_EQ(parts->size(), 2u);
    EXPECT_EQ((*parts)[0].format, CF::Pkcs8);
    EXPECT_EQ((*parts)[0].body, read_hex("rfc9148/a3-skg-response-key-284.hex"));
    EXPECT_EQ((*parts)[1].format, CF::PkixCert);
    EXPECT_EQ((*parts)[1].body, only_certificate(read_hex("rfc9148/a3-skg-response-cert-281.hex")));
}

// RFC 9148 §5: an encrypted key part (280) is passed through untouched.
TEST(ToCoapResponse, EncryptedKeyPartPassesThrough) {
    Bytes enveloped = {0x30, 0x03, 0x02, 0x01, 0x00};
    auto r = to_coap_response(
        request_for(Operation::ServerKeyGen),
        ok_parts({BodyPart{CF::ServerGeneratedKey, enveloped},
                  BodyPart{CF::CertsOnly, read_hex("rfc9148/a3-skg-response-cert-281.hex")}}));
    ASSERT_TRUE(r) << r.error().message;
    auto parts = decode_multipart_core(r->payload);
    ASSERT_TRUE(parts);
    EXPECT_EQ((*parts)[0].format, CF::ServerGeneratedKey);
    EXPECT_EQ((*parts)[0].body, enveloped);
}

// A key generation answer without its certificate part is 5.02.
TEST(ToCoapResponse, KeygenWithoutCertificatePartIsUpstreamFailure) {
    auto r =
        to_coap_response(request_for(Operation::ServerKeyGen),
                         ok_parts({BodyPart{CF::Pkcs8, read_hex("rfc9148/a3-skg-response-key-284.hex")}}));
    EXPECT_EQ(r.status(), Status::UpstreamFailed);
    EXPECT_NE(r.error().message.find("certificate"), std::string::npos);
}

// Two key parts, a null part, or a part of another kind: 5.02.
TEST(ToCoapResponse, KeygenWithUnexpectedPartsIsUpstreamFailure) {
    const std::vector<std::vector<BodyPart>> bad = {
        {BodyPart{CF::Pkcs8, Bytes{1}}, BodyPart{CF::Pkcs8, Bytes{2}}},
        {BodyPart{CF::Pkcs8, std::nullopt}, BodyPart{CF::CertsOnly, Bytes{2}}},
        {BodyPart{CF::Cbor, Bytes{1}}, BodyPart{CF::CertsOnly, Bytes{2}}},
        {},
    };
    for (const auto& parts : bad) {
        EXPECT_EQ(to_coap_response(request_for(Operation::ServerKeyGen), ok_parts(parts)).status(),
                  Status::UpstreamFailed);
    }
}

// /skc needs the one issued certificate out of the certs-only; garbage there is 5.02.
TEST(ToCoapResponse, SkcWithUnparseableCertificatePartIsUpstreamFailure) {
    auto r =
        to_coap_response(request_for(Operation::ServerKeyGenCert),
                         ok_parts({BodyPart{CF::Pkcs8, Bytes{1}}, BodyPart{CF::CertsOnly, Bytes{0x05}}}));
    EXPECT_EQ(r.status(), Status::UpstreamFailed);
}

// ---- BRSKI (cBRSKI §6.5) ----

// /rv answers 2.04 with the voucher as is, CF 836.
TEST(ToCoapResponse, RvAnswersTheVoucherWith836) {
    Bytes voucher = read_hex("brski/appC5-voucher.hex");
    auto r = to_coap_response(request_for(Operation::RequestVoucher, CF::VoucherCose),
                              ok(CF::VoucherCose, voucher));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(coap_code_string(r->code), "2.04");
    EXPECT_EQ(r->content_format, 836u);
    EXPECT_EQ(r->payload, voucher);
}

// /vs and /es answer 2.04 with neither payload nor Content-Format, whatever the backend returned.
TEST(ToCoapResponse, TelemetryAnswers204Empty) {
    for (Operation op : {Operation::VoucherStatus, Operation::EnrollStatus}) {
        auto r = to_coap_response(request_for(op), ok(CF::Json, to_bytes("{}")));
        ASSERT_TRUE(r) << r.error().message;
        EXPECT_EQ(coap_code_string(r->code), "2.04");
        EXPECT_FALSE(r->content_format.has_value());
        EXPECT_TRUE(r->payload.empty());
    }
}

// ---- delayed answers (RFC 9148 §4.7, RFC 7252 §5.10.5) ----

// A deferred enrollment is 5.03 with Max-Age = Retry-After.
TEST(ToCoapResponse, RetryLaterBecomes503WithMaxAge) {
    EstResponse response = EstResponse::error(Status::AcceptedRetryLater, "pending approval");
    response.retry_after = std::chrono::seconds(120);
    auto r = to_coap_response(request_for(Operation::SimpleEnroll), response);
    ASSERT_TRUE(r);
    EXPECT_EQ(coap_code_string(r->code), "5.03");
    EXPECT_EQ(r->max_age, 120u);
    EXPECT_FALSE(r->content_format.has_value());
    EXPECT_EQ(to_string(r->payload), "pending approval");
}

// Without Retry-After, Max-Age 60 (RFC 7252's default) is written out explicitly.
TEST(ToCoapResponse, RetryLaterWithoutRetryAfterSendsMaxAge60) {
    auto r = to_coap_response(request_for(Operation::SimpleEnroll),
                              EstResponse::error(Status::AcceptedRetryLater, ""));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->max_age, 60u);
}

// Max-Age is a uint32: a larger Retry-After is clamped, a negative one is 0.
TEST(CoapErrorResponse, MaxAgeIsClampedToUint32) {
    EXPECT_EQ(coap_error_response(Status::ServiceUnavailable, "x", std::chrono::seconds(1LL << 40)).max_age,
              std::numeric_limits<std::uint32_t>::max());
    EXPECT_EQ(coap_error_response(Status::ServiceUnavailable, "x", std::chrono::seconds(-5)).max_age, 0u);
}

// RFC 7252 §5.9.3.4: a plain 5.03 (backpressure) gets Max-Age too.
TEST(CoapErrorResponse, ServiceUnavailableCarriesMaxAge) {
    EXPECT_EQ(coap_error_response(Status::ServiceUnavailable, "busy").max_age, 60u);
}

// Only 5.03 carries Max-Age.
TEST(CoapErrorResponse, OtherErrorsCarryNoMaxAge) {
    EXPECT_FALSE(
        coap_error_response(Status::UpstreamTimeout, "slow", std::chrono::seconds(5)).max_age.has_value());
}

// ---- diagnostics (RFC 7252 §5.5.2, RFC 8951 §5) ----

// An upstream error becomes its code with the text as diagnostic payload and no Content-Format.
TEST(ToCoapResponse, ErrorCarriesItsDiagnostic) {
    auto r = to_coap_response(request_for(Operation::SimpleEnroll),
                              EstResponse::error(Status::Forbidden, "subject not allowed"));
    ASSERT_TRUE(r);
    EXPECT_EQ(coap_code_string(r->code), "4.03");
    EXPECT_FALSE(r->content_format.has_value());
    EXPECT_EQ(to_string(r->payload), "subject not allowed");
}

// An empty diagnostic is replaced by the status name, so the client always learns something.
TEST(CoapErrorResponse, EmptyDiagnosticBecomesTheStatusName) {
    EXPECT_EQ(to_string(coap_error_response(Status::NotFound, "").payload), "not-found");
}

// The diagnostic must be UTF-8: bytes that are not become '?'; valid multi-byte characters stay.
TEST(CoapErrorResponse, InvalidUtf8BecomesQuestionMarks) {
    const std::string text = "caf\xc3\xa9 \xff\xc0\xaf \xed\xa0\x80 \xf0\x9f\x94\x92";
    EXPECT_EQ(to_string(coap_error_response(Status::BadRequest, text).payload),
              "caf\xc3\xa9 ??? ??? \xf0\x9f\x94\x92");
}

// A long diagnostic (an HTML error page) is cut to 256 bytes, never inside a character.
TEST(CoapErrorResponse, LongDiagnosticIsCutOnACharacterBoundary) {
    std::string text(255, 'a');
    text += "\xc3\xa9tail";
    auto payload = coap_error_response(Status::UpstreamFailed, text).payload;
    EXPECT_EQ(payload.size(), 255u);
    EXPECT_EQ(to_string(payload), std::string(255, 'a'));
}

}  // namespace
}  // namespace estgw::mapping
