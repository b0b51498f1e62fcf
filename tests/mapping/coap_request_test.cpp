// CoAP request → EstRequest: each error code, in the order the checks run, each resource and path form
// (RFC 9148 §4.1–4.5, RFC 7252 §5.4.1 and §5.10, RFC 7959 §2.9.3, cBRSKI §6.5; digest §3, §5).
#include "mapping/coap_request.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mapping/content_format.hpp"
#include "support/test_data.hpp"

namespace estgw::mapping {
namespace {

using CF = ContentFormat;
using estgw::test::read_hex;

constexpr std::uint8_t kGet = 1;
constexpr std::uint8_t kPost = 2;
constexpr std::uint8_t kPut = 3;

// A request under construction; the view points at `body` only while parse() runs, so copies stay safe.
struct Request {
    CoapRequestView view;
    Bytes body;

    Request(std::uint8_t method, std::vector<std::string> path) {
        view.method = method;
        view.uri_path = std::move(path);
    }
    Request& content_format(unsigned cf) {
        view.content_format = cf;
        return *this;
    }
    Request& accept(unsigned cf) {
        view.accept = cf;
        return *this;
    }
    Request& block2(unsigned num) {
        view.block2_num = num;
        return *this;
    }
    Request& payload(Bytes b) {
        body = std::move(b);
        return *this;
    }
    Result<EstRequest> parse(const RouteConfig& config = RouteConfig{}) const {
        CoapRequestView v = view;
        v.payload = body;
        return parse_coap_request(v, config);
    }
};

std::vector<std::string> est(std::string short_name) {
    return {".well-known", "est", std::move(short_name)};
}
std::vector<std::string> brski(std::string short_name) {
    return {".well-known", "brski", std::move(short_name)};
}

Request sen_request() {
    Request r(kPost, est("sen"));
    r.content_format(286).payload(read_hex("rfc9148/a2-sen-request.hex"));
    return r;
}

// ---- the order of the checks: the first failing one decides ----

// RFC 7252 §5.4.1: an unrecognized critical option is 4.02 before anything else is looked at.
TEST(ParseCoapRequest, UnknownCriticalOptionIsBadOptionBeforeThePath) {
    Request r(kPost, {"nowhere"});
    r.view.unknown_critical_options = {2049};
    auto result = r.parse();
    EXPECT_EQ(result.status(), Status::BadOption);
    EXPECT_NE(result.error().message.find("2049"), std::string::npos);
}

// An unknown path is 4.04 even when the method would also be wrong.
TEST(ParseCoapRequest, UnknownPathIsNotFoundBeforeTheMethod) {
    EXPECT_EQ(Request(kPut, est("nope")).parse().status(), Status::NotFound);
}

// RFC 9148 §4.5 / RFC 7252 §5.9.2.6: wrong method is 4.05, checked before the payload size.
TEST(ParseCoapRequest, WrongMethodIsMethodNotAllowedBeforeThePayloadSize) {
    RouteConfig c;
    c.max_body = 4;
    auto result = Request(kPost, est("crts")).payload(Bytes(100, 0)).parse(c);
    EXPECT_EQ(result.status(), Status::MethodNotAllowed);
    EXPECT_EQ(result.error().message, "/crts takes GET; got POST");
}

// RFC 7959 §2.7: a POST asking for Block2 block NUM > 0 fetches the rest of an earlier answer. When it
// reaches the mapping, that answer is gone: 4.08, before anything else, and never a new enrollment.
TEST(ParseCoapRequest, PostForALaterBlock2BlockIsRequestIncompleteBeforeThePayloadSize) {
    RouteConfig c;
    c.max_body = 4;
    auto result = sen_request().block2(3).parse(c);
    EXPECT_EQ(result.status(), Status::RequestIncomplete);
    EXPECT_EQ(
        result.error().message,
        "/sen: Block2 block 3 of an answer that is no longer kept; send the request again from block 0");
}

// Block 0 starts an exchange (libcoap asks for it early with the block size it wants).
TEST(ParseCoapRequest, PostAskingForBlock2BlockZeroIsANewRequest) {
    auto result = sen_request().block2(0).parse();
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(result->op, Operation::SimpleEnroll);
}

// A GET's later block is answered from a fresh representation: nothing is created twice.
TEST(ParseCoapRequest, GetForALaterBlock2BlockIsServed) {
    auto result = Request(kGet, est("crts")).block2(5).parse();
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(result->op, Operation::CaCerts);
}

// RFC 7959 §2.9.3: a payload over the limit is 4.13, before its Content-Format is looked at.
TEST(ParseCoapRequest, OversizedPayloadIsPayloadTooLargeBeforeTheContentFormat) {
    RouteConfig c;
    c.max_body = 10;
    auto result = Request(kPost, est("sen")).content_format(60).payload(Bytes(11, 0x30)).parse(c);
    EXPECT_EQ(result.status(), Status::PayloadTooLarge);
    EXPECT_EQ(result.error().message, "request payload of 11 bytes exceeds the limit of 10");
}

// RFC 9148 §4.3: a wrong Content-Format is 4.15, before Accept is looked at.
TEST(ParseCoapRequest, WrongContentFormatIsUnsupportedBeforeTheAccept) {
    auto result = Request(kPost, est("sen")).content_format(60).accept(62).payload({0xa0}).parse();
    EXPECT_EQ(result.status(), Status::UnsupportedFormat);
    EXPECT_EQ(result.error().message,
              "Content-Format 286 (application/pkcs10) required for /sen; got 60 (application/cbor)");
}

// RFC 7252 §5.10.4: an Accept the resource cannot produce is 4.06, before the body is parsed.
TEST(ParseCoapRequest, UnsupportedAcceptIsNotAcceptableBeforeTheBody) {
    auto result = Request(kPost, est("sen")).content_format(286).accept(62).payload({0x01}).parse();
    EXPECT_EQ(result.status(), Status::NotAcceptable);
}

// RFC 9148 §4.3 (digest §5): a body that is not a DER CSR is 4.00.
TEST(ParseCoapRequest, MalformedCsrIsBadRequest) {
    auto result = Request(kPost, est("sen")).content_format(286).payload({0x01, 0x02}).parse();
    EXPECT_EQ(result.status(), Status::BadRequest);
}

// ---- each resource, success ----

// RFC 9148 App. A.1: GET /crts with no Accept asks for the default (281).
TEST(ParseCoapRequest, CrtsGetBecomesCaCerts) {
    auto result = Request(kGet, est("crts")).parse();
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->op, Operation::CaCerts);
    EXPECT_FALSE(result->accept.has_value());
    EXPECT_FALSE(result->content_format.has_value());
    EXPECT_TRUE(result->body.empty());
    EXPECT_EQ(result->label, "");
}

// RFC 9148 App. A.4: GET /att.
TEST(ParseCoapRequest, AttGetBecomesCsrAttrs) {
    auto result = Request(kGet, est("att")).accept(285).parse();
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->op, Operation::CsrAttrs);
    EXPECT_EQ(result->accept, CF::CsrAttrs);
}

// RFC 9148 App. A.2: POST /sen with the example CSR; the body is carried as DER.
TEST(ParseCoapRequest, SenPostWithCsrBecomesSimpleEnroll) {
    Request r = sen_request();
    auto result = r.accept(281).parse();
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->op, Operation::SimpleEnroll);
    EXPECT_EQ(result->content_format, CF::Pkcs10);
    EXPECT_EQ(result->accept, CF::CertsOnly);
    EXPECT_EQ(result->body, r.body);
}

// RFC 9148 Table 1: POST /sren.
TEST(ParseCoapRequest, SrenPostBecomesSimpleReenroll) {
    auto result = Request(kPost, est("sren"))
                      .content_format(286)
                      .accept(287)
                      .payload(read_hex("rfc9148/a2-sen-request.hex"))
                      .parse();
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->op, Operation::SimpleReenroll);
    EXPECT_EQ(result->accept, CF::PkixCert);
}

// RFC 9148 App. A.3: POST /skg with Accept 62.
TEST(ParseCoapRequest, SkgPostBecomesServerKeyGen) {
    auto result = Request(kPost, est("skg"))
                      .content_format(286)
                      .accept(62)
                      .payload(read_hex("rfc9148/a3-skg-request.hex"))
                      .parse();
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->op, Operation::ServerKeyGen);
    EXPECT_EQ(result->accept, CF::MultipartCore);
}

// RFC 9148 Table 1: POST /skc.
TEST(ParseCoapRequest, SkcPostBecomesServerKeyGenCert) {
    auto result = Request(kPost, est("skc"))
                      .content_format(286)
                      .payload(read_hex("rfc9148/a3-skg-request.hex"))
                      .parse();
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->op, Operation::ServerKeyGenCert);
    EXPECT_FALSE(result->accept.has_value());
}

// cBRSKI App. C.3: POST /rv with the COSE-signed voucher request; without Accept the answer uses 836.
TEST(ParseCoapRequest, RvWithoutAcceptAnswersInTheRequestFormat) {
    auto result =
        Request(kPost, brski("rv")).content_format(836).payload(read_hex("brski/appC3-pvr.hex")).parse();
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->op, Operation::RequestVoucher);
    EXPECT_EQ(result->accept, CF::VoucherCose);
    EXPECT_EQ(result->content_format, CF::VoucherCose);
}

// cBRSKI App. B.2: POST /vs with the CBOR voucher status.
TEST(ParseCoapRequest, VsWithCborBecomesVoucherStatus) {
    auto result = Request(kPost, brski("vs"))
                      .content_format(60)
                      .payload(read_hex("brski/appB2-voucher-status.hex"))
                      .parse();
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->op, Operation::VoucherStatus);
    EXPECT_EQ(result->content_format, CF::Cbor);
}

// cBRSKI App. B.1: POST /es with the CBOR enroll status.
TEST(ParseCoapRequest, EsWithCborBecomesEnrollStatus) {
    auto result = Request(kPost, brski("es"))
                      .content_format(60)
                      .payload(read_hex("brski/appB1-enrollstatus-success.hex"))
                      .parse();
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->op, Operation::EnrollStatus);
}

// cBRSKI §6.5: JSON (50) is the optional telemetry format; white space before the object is fine.
TEST(ParseCoapRequest, EsWithJsonObjectIsAccepted) {
    auto result = Request(kPost, brski("es"))
                      .content_format(50)
                      .payload(to_bytes(" \n{\"version\":1,\"status\":true}"))
                      .parse();
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->content_format, CF::Json);
}

// vs and es answer without payload, so any Accept is ignored.
TEST(ParseCoapRequest, TelemetryIgnoresAccept) {
    auto result = Request(kPost, brski("vs")).content_format(50).accept(62).payload(to_bytes("{}")).parse();
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_FALSE(result->accept.has_value());
}

// ---- path forms ----

// RFC 9148 App. A: the examples use the discovered root /est.
TEST(ParseCoapRequest, ConfiguredRootWithLabelCarriesTheLabel) {
    RouteConfig c;
    c.est_roots = {"/est"};
    c.labels = {"ca2"};
    auto result = Request(kGet, {"est", "ca2", "crts"}).parse(c);
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->label, "ca2");
}

// digest §3: Uri-Path-Abbrev 302 stands for /.well-known/est/sen.
TEST(ParseCoapRequest, UriPathAbbrevNamesTheResource) {
    Request r = sen_request();
    r.view.uri_path.clear();
    r.view.uri_path_abbrev = 302;
    auto result = r.parse();
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->op, Operation::SimpleEnroll);
}

// digest §3: Uri-Path-Abbrev must not come with Uri-Path: 4.02.
TEST(ParseCoapRequest, UriPathAbbrevWithUriPathIsBadOption) {
    Request r(kGet, est("crts"));
    r.view.uri_path_abbrev = 301;
    auto result = r.parse();
    EXPECT_EQ(result.status(), Status::BadOption);
    EXPECT_EQ(result.error().message, "Uri-Path-Abbrev must not be combined with Uri-Path");
}

// digest §3: an unknown Uri-Path-Abbrev value is 4.02, not 4.04.
TEST(ParseCoapRequest, UnknownUriPathAbbrevIsBadOption) {
    Request r(kGet, {});
    r.view.uri_path_abbrev = 399;
    EXPECT_EQ(r.parse().status(), Status::BadOption);
}

// Uri-Path-Abbrev of a function that is switched off is 4.04 like its path.
TEST(ParseCoapRequest, UriPathAbbrevOfDisabledFunctionIsNotFound) {
    RouteConfig c;
    c.disabled = {Operation::CsrAttrs};
    Request r(kGet, {});
    r.view.uri_path_abbrev = 306;
    EXPECT_EQ(r.parse(c).status(), Status::NotFound);
}

// RFC 7030 §3.2.2: a label equal to an operation name is 4.04.
TEST(ParseCoapRequest, LabelEqualToAnOperationNameIsNotFound) {
    EXPECT_EQ(Request(kGet, {".well-known", "est", "sen", "crts"}).parse().status(), Status::NotFound);
}

// ---- method ----

// RFC 7252 §5.8: a request code with no method name still gets 4.05, named by its code.
TEST(ParseCoapRequest, UnassignedMethodCodeIsMethodNotAllowed) {
    auto result = Request(0x08, est("crts")).parse();
    EXPECT_EQ(result.status(), Status::MethodNotAllowed);
    EXPECT_EQ(result.error().message, "/crts takes GET; got 0.08");
}

// ---- payload size ----

// A payload of exactly max_body bytes is accepted.
TEST(ParseCoapRequest, PayloadOfExactlyMaxBodyIsAccepted) {
    Request r = sen_request();
    RouteConfig c;
    c.max_body = r.body.size();
    EXPECT_TRUE(r.parse(c));
}

// ---- Content-Format ----

// RFC 9148 §4.3: a POST without Content-Format is 4.15.
TEST(ParseCoapRequest, PostWithoutContentFormatIsUnsupportedFormat) {
    auto result = Request(kPost, est("sen")).payload({0x30, 0x00}).parse();
    EXPECT_EQ(result.status(), Status::UnsupportedFormat);
    EXPECT_EQ(result.error().message, "Content-Format 286 (application/pkcs10) required for /sen; got none");
}

// BRSKI.md D1 (cBRSKI §10.1, RFC 8995 §5.3): a voucher-request in another format is 4.06, not EST's 4.15.
TEST(ParseCoapRequest, VoucherRequestInAnotherFormatIsNotAcceptable) {
    auto result = Request(kPost, brski("rv")).content_format(60).payload({0xa0}).parse();
    EXPECT_EQ(result.status(), Status::NotAcceptable);
}

// The diagnostic names every format the resource takes, and shows an unknown number bare.
TEST(ParseCoapRequest, UnsupportedFormatDiagnosticListsTheAcceptedFormats) {
    auto result = Request(kPost, brski("vs")).content_format(9999).payload({0xa0}).parse();
    EXPECT_EQ(result.status(), Status::UnsupportedFormat);
    EXPECT_EQ(result.error().message,
              "Content-Format 50 (application/json) or 60 (application/cbor) required for /vs; got 9999");
}

// A GET's Content-Format and payload mean nothing to crts/att: both are ignored.
TEST(ParseCoapRequest, GetIgnoresContentFormatAndPayload) {
    auto result = Request(kGet, est("crts")).content_format(60).payload({1, 2, 3}).parse();
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_FALSE(result->content_format.has_value());
    EXPECT_TRUE(result->body.empty());
}

// ---- Accept ----

// RFC 9148 §4.3, cBRSKI §6.7.5: /crts serves 281, 287 and 62.
TEST(ParseCoapRequest, CrtsAcceptsEachOfItsFormats) {
    for (unsigned cf : {281u, 287u, 62u}) {
        auto result = Request(kGet, est("crts")).accept(cf).parse();
        ASSERT_TRUE(result) << cf;
        EXPECT_EQ(content_format_number(*result->accept), cf);
    }
}

// RFC 7252 §5.10.4: Accept for a format the resource never produces is 4.06, with a diagnostic.
TEST(ParseCoapRequest, CrtsWithAcceptOfAnotherResourcesFormatIsNotAcceptable) {
    auto result = Request(kGet, est("crts")).accept(285).parse();
    EXPECT_EQ(result.status(), Status::NotAcceptable);
    EXPECT_EQ(result.error().message,
              "/crts answers in Content-Format 281 (application/pkcs7-mime; smime-type=certs-only), 287 "
              "(application/pkix-cert) or 62 (application/multipart-core); Accept 285 (application/csrattrs) "
              "cannot be served");
}

// An Accept number estgw has never heard of is 4.06 as well.
TEST(ParseCoapRequest, UnknownAcceptNumberIsNotAcceptable) {
    EXPECT_EQ(Request(kGet, est("att")).accept(4242).parse().status(), Status::NotAcceptable);
}

// ---- bodies ----

// RFC 9148 §4.3: a CSR followed by trailing bytes is not one DER object.
TEST(ParseCoapRequest, CsrWithTrailingBytesIsBadRequest) {
    Bytes body = read_hex("rfc9148/a2-sen-request.hex");
    body.push_back(0x00);
    auto result = Request(kPost, est("sen")).content_format(286).payload(body).parse();
    EXPECT_EQ(result.status(), Status::BadRequest);
}

// A well-formed DER SEQUENCE that is not a PKCS#10 request (here a certificate) is 4.00.
TEST(ParseCoapRequest, CertificateSentAsCsrIsBadRequest) {
    auto result = Request(kPost, est("sen"))
                      .content_format(286)
                      .payload(read_hex("brski/appC2-pledge-idevid-cert.hex"))
                      .parse();
    EXPECT_EQ(result.status(), Status::BadRequest);
    EXPECT_NE(result.error().message.find("PKCS#10"), std::string::npos);
}

// An empty POST body is not a CSR.
TEST(ParseCoapRequest, EmptyCsrIsBadRequest) {
    EXPECT_EQ(Request(kPost, est("sen")).content_format(286).parse().status(), Status::BadRequest);
}

// cBRSKI §6.5: a CBOR telemetry body that is not well-formed CBOR is 4.00.
TEST(ParseCoapRequest, MalformedCborTelemetryIsBadRequest) {
    auto result = Request(kPost, brski("es")).content_format(60).payload({0xa2, 0x01}).parse();
    EXPECT_EQ(result.status(), Status::BadRequest);
    EXPECT_NE(result.error().message.find("CBOR"), std::string::npos);
}

// A COSE voucher request is CBOR: trailing garbage after it is 4.00.
TEST(ParseCoapRequest, MalformedVoucherRequestIsBadRequest) {
    Bytes body = read_hex("brski/appC3-pvr.hex");
    body.push_back(0xff);
    EXPECT_EQ(Request(kPost, brski("rv")).content_format(836).payload(body).parse().status(),
              Status::BadRequest);
}

// RFC 8995 §5.9.4: JSON telemetry is an object; anything else is 4.00.
TEST(ParseCoapRequest, JsonTelemetryThatIsNotAnObjectIsBadRequest) {
    for (const char* body : {"", "   ", "[1]", "true"}) {
        auto result = Request(kPost, brski("vs")).content_format(50).payload(to_bytes(body)).parse();
        EXPECT_EQ(result.status(), Status::BadRequest) << body;
    }
}

// ---- error_response ----

// RFC 7959 §2.9.3: 4.13 carries Size1 = the largest body the server accepts.
TEST(ErrorResponse, PayloadTooLargeCarriesSize1) {
    RouteConfig c;
    c.max_body = 1024;
    auto response = error_response(make_error(Status::PayloadTooLarge, "too big"), c);
    EXPECT_EQ(response.code, coap_code(4, 13));
    EXPECT_EQ(response.size1, 1024u);
}

// Size1 is a uint32 option: a larger limit is sent as the largest value it can hold.
TEST(ErrorResponse, Size1IsClampedToUint32) {
    RouteConfig c;
    c.max_body = std::size_t{1} << 40;
    auto response = error_response(make_error(Status::PayloadTooLarge, "too big"), c);
    EXPECT_EQ(response.size1, 0xFFFFFFFFu);
}

// RFC 7252 §5.5.2: other errors are a code and a UTF-8 diagnostic, no Content-Format, no Size1.
TEST(ErrorResponse, OtherErrorsCarryTheDiagnosticOnly) {
    auto response = error_response(make_error(Status::UnsupportedFormat, "need 286"), RouteConfig{});
    EXPECT_EQ(response.code, coap_code(4, 15));
    EXPECT_EQ(to_string(response.payload), "need 286");
    EXPECT_FALSE(response.content_format.has_value());
    EXPECT_FALSE(response.size1.has_value());
    EXPECT_FALSE(response.max_age.has_value());
}

// ---- the target alone, for each Block1 block (RFC 7959 §2.3: any block may be refused) ----

TEST(CheckCoapRequestTarget, AcceptsABlockOfABodyWithoutLookingAtThePayload) {
    CoapRequestView view;
    view.method = kPost;
    view.uri_path = est("sen");
    view.content_format = 60;  // wrong, but a matter for the whole body
    EXPECT_TRUE(check_coap_request_target(view, RouteConfig{}).ok());
}

TEST(CheckCoapRequestTarget, RefusesAnUnknownPathAsParseCoapRequestDoes) {
    CoapRequestView view;
    view.method = kPost;
    view.uri_path = est("nope");
    EXPECT_EQ(check_coap_request_target(view, RouteConfig{}).status(), Status::NotFound);
}

TEST(CheckCoapRequestTarget, RefusesTheWrongMethodAsParseCoapRequestDoes) {
    CoapRequestView view;
    view.method = kPost;
    view.uri_path = est("crts");
    auto checked = check_coap_request_target(view, RouteConfig{});
    EXPECT_EQ(checked.status(), Status::MethodNotAllowed);
    EXPECT_EQ(checked.error().message, "/crts takes GET; got POST");
}

// Every failure of parse_coap_request becomes the code of its status.
TEST(ErrorResponse, ParseFailureBecomesItsCode) {
    auto result = Request(kGet, est("nope")).parse();
    ASSERT_FALSE(result);
    EXPECT_EQ(error_response(result.error(), RouteConfig{}).code, coap_code(4, 4));
}

}  // namespace
}  // namespace estgw::mapping
