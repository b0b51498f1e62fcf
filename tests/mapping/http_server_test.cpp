#include "mapping/http_server.hpp"

#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/base64.hpp"
#include "common/pem.hpp"
#include "common/pkcs7.hpp"
#include "mapping/content_format.hpp"
#include "mapping/http_request.hpp"
#include "mapping/http_response.hpp"
#include "mapping/multipart_mixed.hpp"
#include "mapping/paths.hpp"
#include "support/libest_base64.hpp"
#include "support/test_data.hpp"

namespace estgw::mapping {
namespace {

using namespace std::chrono_literals;
using test::read_hex;

constexpr std::size_t kMaxBody = 16384;
constexpr std::string_view kBoundary = "estgw-9f2c41d7e0b3";

// The configuration the requests below are parsed with: the labels they name are served, any other is
// unknown (RFC 7030 §3.2.2 leaves the labels to the server).
RouteConfig routes(std::size_t max_body = kMaxBody) {
    RouteConfig c;
    c.max_body = max_body;
    c.labels = {"label", "ab-c", "arbitraryLabel1", std::string(kMaxLabelLength, 'a')};
    return c;
}

Bytes sen_csr() {
    return read_hex("rfc9148/a2-sen-request.hex");
}

// The Root CA certificate of RFC 9148 App. A.1, as one DER certificate.
Bytes root_certificate() {
    return certs_only_certificates_der(read_hex("rfc9148/a1-crts-response.hex")).value().front();
}

HttpRequest get(std::string path, std::vector<HttpHeader> headers = {}) {
    return HttpRequest{"GET", std::move(path), std::move(headers), {}};
}

HttpRequest post(std::string path, std::string body, std::vector<HttpHeader> headers = {}) {
    headers.insert(headers.begin(), HttpHeader{"Content-Type", "application/pkcs10"});
    return HttpRequest{"POST", std::move(path), std::move(headers), std::move(body)};
}

HttpRequest post_csr(std::string path, std::vector<HttpHeader> headers = {}) {
    return post(std::move(path), base64_encode(sen_csr()), std::move(headers));
}

EstRequest parsed(const HttpRequest& request) {
    auto result = from_http_request(request, routes());
    EXPECT_TRUE(result.ok()) << request.path << ": " << (result.ok() ? "" : result.error().message);
    return result.ok() ? *result : EstRequest{};
}

Status refusal(const HttpRequest& request, std::size_t max_body = kMaxBody) {
    auto result = from_http_request(request, routes(max_body));
    EXPECT_FALSE(result.ok()) << request.path;
    return result.status();
}

EstRequest request_for(Operation op) {
    EstRequest r;
    r.op = op;
    return r;
}

EstResponse ok(ContentFormat format, Bytes body) {
    EstResponse r;
    r.format = format;
    r.body = std::move(body);
    return r;
}

EstResponse keygen(std::vector<BodyPart> parts) {
    EstResponse r;
    r.format = ContentFormat::MultipartCore;
    r.parts = std::move(parts);
    return r;
}

std::vector<BodyPart> skg_parts() {
    return {{ContentFormat::Pkcs8, read_hex("rfc9148/a3-skg-response-key-284.hex")},
            {ContentFormat::CertsOnly, read_hex("rfc9148/a3-skg-response-cert-281.hex")}};
}

HttpResponse answer(Operation op, const EstResponse& response, std::string_view boundary = kBoundary) {
    return to_http_response(request_for(op), response, boundary);
}

void expect_internal_error(const HttpResponse& http, const std::string& phrase) {
    EXPECT_EQ(http.status, 500);
    EXPECT_EQ(http.header("Content-Type"), "text/plain; charset=utf-8");
    EXPECT_NE(http.body.find(phrase), std::string::npos) << http.body;
}

// ---- paths and operations (RFC 7030 §3.2.2) ----

struct OperationCase {
    const char* name;
    Operation op;
    bool get;  // GET, else POST with a CSR
};
constexpr OperationCase kOperations[] = {
    {"cacerts", Operation::CaCerts, true},
    {"simpleenroll", Operation::SimpleEnroll, false},
    {"simplereenroll", Operation::SimpleReenroll, false},
    {"csrattrs", Operation::CsrAttrs, true},
    {"serverkeygen", Operation::ServerKeyGen, false},  // §4.4.2: the certificate comes as certs-only
};

// A valid request for the operation called `name`, under `label` when not empty.
HttpRequest valid_request(std::string_view name, const std::string& label = "",
                          std::vector<HttpHeader> headers = {}) {
    std::string path = "/.well-known/est/" + (label.empty() ? "" : label + "/") + std::string(name);
    return name == "cacerts" || name == "csrattrs" ? get(path, std::move(headers))
                                                   : post_csr(path, std::move(headers));
}

TEST(HttpServerRequest, EveryOperationPathWithOrWithoutLabelNamesItsOperation) {
    for (const auto& c : kOperations) {
        for (const std::string label : {"", "arbitraryLabel1"}) {
            EstRequest r = parsed(valid_request(c.name, label));
            EXPECT_EQ(r.op, c.op) << c.name;
            EXPECT_EQ(r.label, label);
        }
    }
}

TEST(HttpServerRequest, GetsHaveNoContentFormatAndPostsArePkcs10AndAcceptStaysEmpty) {
    for (const auto& c : kOperations) {
        EstRequest r = parsed(valid_request(c.name));
        EXPECT_FALSE(r.accept.has_value());
        EXPECT_EQ(r.content_format, c.get ? std::nullopt : std::optional(ContentFormat::Pkcs10)) << c.name;
        EXPECT_EQ(r.body, c.get ? Bytes{} : sen_csr());
    }
}

// RFC 3986 §6.2.2.2: percent-encoded unreserved characters are the characters themselves.
TEST(HttpServerRequest, PercentEncodedSegmentsAreDecodedBeforeMatching) {
    EstRequest r = parsed(get("/.well-known/est/%61b%2Dc/%63acerts"));
    EXPECT_EQ(r.op, Operation::CaCerts);
    EXPECT_EQ(r.label, "ab-c");
}

TEST(HttpServerRequest, QueryStringIsIgnored) {
    EXPECT_EQ(parsed(get("/.well-known/est/csrattrs?x=1")).op, Operation::CsrAttrs);
}

// mapping/paths.hpp is_valid_label: unreserved characters, 1..64 of them, never an operation name.
TEST(HttpServerRequest, InvalidLabelsAreNotFound) {
    const std::vector<std::string> labels = {
        "cacerts", "SimpleEnroll", "crts",
        "fullcmc", "..",           ".",
        "a%2Fb",   "a%20b",        std::string(kMaxLabelLength + 1, 'a')};
    for (const std::string& label : labels) {
        EXPECT_EQ(refusal(get("/.well-known/est/" + label + "/cacerts")), Status::NotFound) << label;
    }
    EXPECT_EQ(parsed(get("/.well-known/est/" + std::string(kMaxLabelLength, 'a') + "/cacerts")).label.size(),
              kMaxLabelLength);
}

TEST(HttpServerRequest, UnknownPathsAreNotFound) {
    for (const char* path :
         {"", "/", "relative/cacerts", "/.well-known/est", "/.well-known/est/", "/.well-known/est/unknown",
          "/.well-known/est/cacerts/", "//.well-known/est/cacerts", "/.well-known//est/cacerts",
          "/.well-known/est/a/b/cacerts", "/est/cacerts", "/.well-known/EST/cacerts",
          "/.well-known/est/CACERTS", "/.well-known/est/crts", "/.well-known/brski/requestvoucher",
          "/.well-known/est/%zzcacerts", "/.well-known/est/cacerts%", "/.well-known/est/cacerts%4",
          "/.well-known/core"}) {
        auto result = from_http_request(get(path), routes());
        ASSERT_FALSE(result.ok()) << path;
        EXPECT_EQ(result.status(), Status::NotFound) << path;
        EXPECT_NE(result.error().message.find("no EST resource"), std::string::npos);
    }
}

// RFC 7030 §3.2.2: the server defines its labels. A well-formed label it was not configured with is 404 and
// named, as over CoAP (mapping/paths.hpp check_label), whatever the operation.
TEST(HttpServerRequest, LabelTheServerDoesNotServeIsNotFoundNamingIt) {
    for (const char* path : {"/.well-known/est/tenant-b/cacerts", "/.well-known/est/tenant-b/simpleenroll",
                             "/.well-known/est/tenant-b/fullcmc", "/.well-known/est/LABEL/cacerts"}) {
        auto result = from_http_request(get(path), routes());
        ASSERT_FALSE(result.ok()) << path;
        EXPECT_EQ(result.status(), Status::NotFound) << path;
        EXPECT_NE(result.error().message.find("unknown label"), std::string::npos) << result.error().message;
    }
    auto result = from_http_request(get("/.well-known/est/tenant-b/cacerts"), routes());
    HttpResponse http =
        http_error_response(get("/.well-known/est/tenant-b/cacerts"), result.error(), routes());
    EXPECT_EQ(http.status, 404);
    EXPECT_NE(http.body.find("\"tenant-b\""), std::string::npos) << http.body;
}

// RFC 7030 §3.2.2: a server without labels serves the unlabelled paths only.
TEST(HttpServerRequest, WithoutConfiguredLabelsOnlyUnlabelledPathsAreServed) {
    RouteConfig none;
    EXPECT_TRUE(from_http_request(get("/.well-known/est/cacerts"), none).ok());
    EXPECT_EQ(from_http_request(get("/.well-known/est/label/cacerts"), none).status(), Status::NotFound);
}

// The same configuration as the CoAP front: a function it does not offer is not offered here either.
TEST(HttpServerRequest, DisabledFunctionIsNotFound) {
    RouteConfig c = routes();
    c.disabled = {Operation::ServerKeyGen};
    auto result = from_http_request(post_csr("/.well-known/est/serverkeygen"), c);
    EXPECT_EQ(result.status(), Status::NotFound);
    EXPECT_NE(result.error().message.find("not offered"), std::string::npos) << result.error().message;
    EXPECT_TRUE(from_http_request(post_csr("/.well-known/est/simpleenroll"), c).ok());
}

// RFC 7030 §4.3 fullcmc is optional and not offered; §4.3.2 allows 501 for that.
TEST(HttpServerRequest, FullCmcIsNotImplemented) {
    EXPECT_EQ(refusal(post_csr("/.well-known/est/fullcmc")), Status::NotImplemented);
    EXPECT_EQ(refusal(post_csr("/.well-known/est/label/fullcmc")), Status::NotImplemented);
}

TEST(HttpServerRequest, WrongMethodIsMethodNotAllowed) {
    EXPECT_EQ(refusal(post_csr("/.well-known/est/cacerts")), Status::MethodNotAllowed);
    EXPECT_EQ(refusal(post_csr("/.well-known/est/csrattrs")), Status::MethodNotAllowed);
    EXPECT_EQ(refusal(get("/.well-known/est/simpleenroll")), Status::MethodNotAllowed);
    HttpRequest lower = get("/.well-known/est/cacerts");
    lower.method = "get";  // RFC 9110 §9.1: methods are case-sensitive
    EXPECT_EQ(refusal(lower), Status::MethodNotAllowed);
    HttpRequest put = post_csr("/.well-known/est/simplereenroll");
    put.method = "PUT";
    EXPECT_EQ(refusal(put), Status::MethodNotAllowed);
}

TEST(HttpServerRequest, BodyLongerThanTheLimitIsPayloadTooLarge) {
    const std::string body = base64_encode(sen_csr());
    EXPECT_EQ(refusal(post("/.well-known/est/simpleenroll", body), body.size() - 1), Status::PayloadTooLarge);
    EXPECT_TRUE(from_http_request(post("/.well-known/est/simpleenroll", body), routes(body.size())).ok());
}

// RFC 7030 §4.2.1: Content-Type application/pkcs10.
TEST(HttpServerRequest, MissingOrOtherContentTypeIsUnsupportedFormat) {
    HttpRequest none = post_csr("/.well-known/est/simpleenroll");
    none.headers.clear();
    EXPECT_EQ(refusal(none), Status::UnsupportedFormat);
    for (const char* type : {"application/pkcs7-mime", "text/plain", "application/pkcs10x", "garbage", ""}) {
        HttpRequest r = post_csr("/.well-known/est/serverkeygen");
        r.headers[0].value = type;
        EXPECT_EQ(refusal(r), Status::UnsupportedFormat) << type;
    }
}

TEST(HttpServerRequest, ContentTypeCaseAndParametersAreTolerated) {
    HttpRequest r = post_csr("/.well-known/est/simpleenroll");
    r.headers[0] = {"content-type", "Application/PKCS10; name=\"req.p10\""};
    EXPECT_EQ(parsed(r).body, sen_csr());
}

TEST(HttpServerRequest, GetIgnoresBodyAndContentType) {
    HttpRequest r = get("/.well-known/est/cacerts", {{"Content-Type", "text/plain"}});
    r.body = "anything";
    EXPECT_TRUE(parsed(r).body.empty());
}

// RFC 8951 §3.1: CR, LF, space and tab may appear anywhere in the base64.
TEST(HttpServerRequest, Base64WithCrlfLinesIsDecoded) {
    EXPECT_EQ(parsed(post("/.well-known/est/simpleenroll", base64_encode(sen_csr(), 64) + "\r\n")).body,
              sen_csr());
}

TEST(HttpServerRequest, Base64WithLfLinesSpacesAndTabsIsDecoded) {
    std::string text = base64_encode(sen_csr());
    std::string messy = "\n ";
    for (std::size_t i = 0; i < text.size(); ++i) {
        messy.push_back(text[i]);
        if (i % 76 == 75) messy += "\n";
        if (i % 10 == 9) messy += i % 20 == 19 ? "\t" : " ";
    }
    EXPECT_EQ(parsed(post("/.well-known/est/simplereenroll", messy + "\n")).body, sen_csr());
}

// RFC 8951 §3: Content-Transfer-Encoding MUST be ignored; the body is base64 whatever it says.
TEST(HttpServerRequest, ContentTransferEncodingIsIgnored) {
    for (const char* cte : {"base64", "binary", "7bit"}) {
        auto r = post_csr("/.well-known/est/simpleenroll", {{"Content-Transfer-Encoding", cte}});
        EXPECT_EQ(parsed(r).body, sen_csr()) << cte;
    }
}

// Not RFC 7030, but cheap robustness shared with our client side (decode_est_body).
TEST(HttpServerRequest, PemArmourAndRawDerAreTolerated) {
    EXPECT_EQ(
        parsed(post("/.well-known/est/simpleenroll", pem_encode(sen_csr(), "CERTIFICATE REQUEST"))).body,
        sen_csr());
    EXPECT_EQ(parsed(post("/.well-known/est/simpleenroll", to_string(sen_csr()))).body, sen_csr());
}

TEST(HttpServerRequest, BodyThatIsNotOneBase64CsrIsBadRequest) {
    const std::string csr64 = base64_encode(sen_csr());
    const std::pair<const char*, std::string> cases[] = {
        {"empty", ""},
        {"blank", " \r\n"},
        {"not base64", "MIIB*x=="},
        {"truncated", csr64.substr(0, csr64.size() - 8)},
        {"trailing DER", base64_encode(sen_csr()) + base64_encode(Bytes{0x05, 0x00})},
        {"a certificate", base64_encode(root_certificate())},
        {"an empty SEQUENCE", base64_encode(Bytes{0x30, 0x00})},
    };
    for (const auto& [what, body] : cases) {
        auto result = from_http_request(post("/.well-known/est/simpleenroll", body), routes());
        ASSERT_FALSE(result.ok()) << what;
        EXPECT_EQ(result.status(), Status::BadRequest) << what;
        EXPECT_TRUE(result.error().message.starts_with("request body")) << result.error().message;
    }
}

// ---- Accept (RFC 9110 §12.5.1; lenient by design, see http_server.hpp) ----

TEST(HttpServerRequest, AcceptCoveringTheAnswerIsAccepted) {
    const std::pair<const char*, const char*> cases[] = {
        {"cacerts", "application/pkcs7-mime"},
        {"cacerts", "APPLICATION/*"},
        {"cacerts", "*/*"},
        {"cacerts", "application/json, application/pkcs7-mime;q=0.5"},
        {"cacerts", "text/html, */*;q=0.1"},
        {"simpleenroll", "application/pkcs7-mime; smime-type=certs-only"},
        {"csrattrs", "application/csrattrs"},
        {"serverkeygen", "multipart/mixed"},
        {"serverkeygen", "multipart/*"},
        {"serverkeygen", "application/pkcs8"},
        {"serverkeygen", "application/pkcs7-mime"},
        {"cacerts", ""},            // no range at all
        {"cacerts", "???, ;;"},     // nothing well-formed: not clearly incompatible
        {"cacerts", "*/*;q=0.0x"},  // an odd q is not zero
    };
    for (const auto& [name, accept] : cases) {
        EXPECT_TRUE(from_http_request(valid_request(name, "", {{"Accept", accept}}), routes()).ok())
            << name << " Accept: " << accept;
    }
}

TEST(HttpServerRequest, AcceptExcludingTheAnswerIsNotAcceptable) {
    const std::pair<const char*, const char*> cases[] = {
        {"cacerts", "application/json"},
        {"cacerts", "application/pkcs7-mime;q=0, text/plain"},
        {"cacerts", "*/*;q=0.000"},
        {"cacerts", "application/pkcs7-mime;q=0."},
        {"csrattrs", "application/pkcs7-mime"},
        {"simpleenroll", "application/pkix-cert"},
        {"serverkeygen", "application/multipart-core"},
        {"serverkeygen", "application/pkcs8;q=0"},
    };
    for (const auto& [name, accept] : cases) {
        EXPECT_EQ(refusal(valid_request(name, "", {{"Accept", accept}})), Status::NotAcceptable)
            << name << " Accept: " << accept;
    }
}

// The first failing check decides (http_server.hpp): path, fullcmc, method, size, Content-Type, Accept, body.
TEST(HttpServerRequest, ChecksApplyInTheDocumentedOrder) {
    HttpRequest r{
        "PUT", "/.well-known/est/nothing", {{"Content-Type", "text/plain"}, {"Accept", "text/html"}}, "x"};
    EXPECT_EQ(refusal(r, 0), Status::NotFound);
    r.path = "/.well-known/est/simpleenroll";
    EXPECT_EQ(refusal(r, 0), Status::MethodNotAllowed);
    r.method = "POST";
    EXPECT_EQ(refusal(r, 0), Status::PayloadTooLarge);
    EXPECT_EQ(refusal(r), Status::UnsupportedFormat);
    r.headers[0].value = "application/pkcs10";
    EXPECT_EQ(refusal(r), Status::NotAcceptable);
    r.headers[1].value = "*/*";
    EXPECT_EQ(refusal(r), Status::BadRequest);
}

// RFC 9110 §15.5.6: a 405 names the allowed method.
TEST(HttpServerRequest, RefusalAnswerNamesTheAllowedMethodOn405) {
    HttpRequest r = get("/.well-known/est/label/simpleenroll");
    auto result = from_http_request(r, routes());
    ASSERT_FALSE(result.ok());
    HttpResponse http = http_error_response(r, result.error(), routes());
    EXPECT_EQ(http.status, 405);
    EXPECT_EQ(http.header("Allow"), "POST");
    EXPECT_EQ(http.header("Content-Type"), "text/plain; charset=utf-8");
    EXPECT_EQ(http.body, result.error().message);
    r = post_csr("/.well-known/est/cacerts");
    EXPECT_EQ(http_error_response(r, from_http_request(r, routes()).error(), routes()).header("Allow"),
              "GET");
}

TEST(HttpServerRequest, RefusalClaimingSuccessIsInternalError) {
    expect_internal_error(http_error_response(get("/"), Error{Status::Ok, "confused"}, routes()), "confused");
}

TEST(HttpServerRequest, RefusalAnswerForAnUnknownPathHasNoAllow) {
    HttpRequest r = get("/nowhere");
    HttpResponse http = http_error_response(r, from_http_request(r, routes()).error(), routes());
    EXPECT_EQ(http.status, 404);
    EXPECT_FALSE(http.header("Allow").has_value());
}

// ---- answers: status table (inverse of the client's, digest §5) ----

TEST(HttpServerResponse, EveryErrorStatusMapsToItsHttpStatusWithTheDiagnosticAsText) {
    const std::pair<Status, int> table[] = {
        {Status::BadRequest, 400},      {Status::BadOption, 400},          {Status::Unauthorized, 401},
        {Status::Forbidden, 403},       {Status::NotFound, 404},           {Status::MethodNotAllowed, 405},
        {Status::NotAcceptable, 406},   {Status::RequestIncomplete, 408},  {Status::PreconditionFailed, 412},
        {Status::PayloadTooLarge, 413}, {Status::UnsupportedFormat, 415},  {Status::Internal, 500},
        {Status::NotImplemented, 501},  {Status::UpstreamFailed, 502},     {Status::ServiceUnavailable, 503},
        {Status::UpstreamTimeout, 504}, {Status::AcceptedRetryLater, 202},
    };
    for (const auto& [status, http] : table) {
        HttpResponse out = answer(Operation::SimpleEnroll, EstResponse::error(status, "why it failed"));
        EXPECT_EQ(out.status, http) << status_name(status);
        EXPECT_EQ(out.header("Content-Type"), "text/plain; charset=utf-8");
        EXPECT_EQ(out.body, "why it failed");
        EXPECT_FALSE(out.header("Content-Transfer-Encoding").has_value());
    }
}

TEST(HttpServerResponse, ErrorWithoutDiagnosticCarriesTheReasonPhrase) {
    EXPECT_EQ(answer(Operation::CaCerts, EstResponse::error(Status::Forbidden, "")).body, "Forbidden");
    EXPECT_EQ(answer(Operation::CaCerts, EstResponse::error(Status::PayloadTooLarge, "")).body,
              "Content Too Large");
}

TEST(HttpServerResponse, DiagnosticIsMadeValidUtf8OnOneLineAndCut) {
    HttpResponse out = answer(Operation::CaCerts, EstResponse::error(Status::BadRequest, "bad\r\n\xff csr"));
    EXPECT_EQ(out.body, "bad \xEF\xBF\xBD csr");
    out = answer(Operation::CaCerts, EstResponse::error(Status::BadRequest, std::string(5000, 'x')));
    EXPECT_EQ(out.body.size(), kMaxHttpDiagnosticLength);
}

// RFC 7030 §4.2.3: 202 MUST carry Retry-After.
TEST(HttpServerResponse, AcceptedRetryLaterIs202WithRetryAfter) {
    EstResponse r = EstResponse::error(Status::AcceptedRetryLater, "pending approval");
    r.retry_after = 3600s;
    EXPECT_EQ(answer(Operation::SimpleEnroll, r).header("Retry-After"), "3600");
    r.retry_after.reset();
    EXPECT_EQ(answer(Operation::SimpleEnroll, r).header("Retry-After"), "60");
    r.retry_after = -5s;
    EXPECT_EQ(answer(Operation::SimpleEnroll, r).header("Retry-After"), "0");
}

TEST(HttpServerResponse, ServiceUnavailableCarriesRetryAfterOnlyWhenSetAndOtherErrorsNever) {
    EstResponse r = EstResponse::error(Status::ServiceUnavailable, "busy");
    EXPECT_FALSE(answer(Operation::CaCerts, r).header("Retry-After").has_value());
    r.retry_after = 30s;
    EXPECT_EQ(answer(Operation::CaCerts, r).header("Retry-After"), "30");
    r.status = Status::Internal;
    EXPECT_FALSE(answer(Operation::CaCerts, r).header("Retry-After").has_value());
}

TEST(HttpServerResponse, MethodNotAllowedNamesTheOperationsMethod) {
    EstResponse r = EstResponse::error(Status::MethodNotAllowed, "");
    EXPECT_EQ(answer(Operation::CsrAttrs, r).header("Allow"), "GET");
    EXPECT_EQ(answer(Operation::ServerKeyGen, r).header("Allow"), "POST");
}

// ---- answers: 200 representations ----

// Every line but the last holds 64 characters; every line, the last included, ends in CRLF; the whole decodes
// to `der`, with our decoder and with libest's (OpenSSL's BIO_f_base64 in its default mode).
void expect_base64_lines_of(const std::string& body, const Bytes& der) {
    ASSERT_GE(body.size(), 2u);
    EXPECT_EQ(body.substr(body.size() - 2), "\r\n");
    std::size_t start = 0;
    while (start < body.size()) {
        std::size_t crlf = body.find("\r\n", start);
        ASSERT_NE(crlf, std::string::npos);
        std::string line = body.substr(start, crlf - start);
        EXPECT_FALSE(line.empty());
        if (crlf + 2 < body.size()) {
            EXPECT_EQ(line.size(), 64u);
        } else {
            EXPECT_LE(line.size(), 64u);
        }
        start = crlf + 2;
    }
    EXPECT_EQ(base64_decode(body).value(), der);
    EXPECT_EQ(test::libest_base64_decode(body), der);
}

// RFC 7030 §4.1.3 (/cacerts without smime-type), §4.2.3 (enroll answers with it), §4.5.2 (csrattrs).
TEST(HttpServerResponse, EachOperationAnswersBase64WithItsRfc7030ContentType) {
    const std::tuple<Operation, ContentFormat, const char*, const char*> cases[] = {
        {Operation::CaCerts, ContentFormat::CertsOnly, "a1-crts-response", "application/pkcs7-mime"},
        {Operation::SimpleEnroll, ContentFormat::CertsOnly, "a2-sen-response",
         "application/pkcs7-mime; smime-type=certs-only"},
        {Operation::SimpleReenroll, ContentFormat::CertsOnly, "a2-sen-response",
         "application/pkcs7-mime; smime-type=certs-only"},
        {Operation::CsrAttrs, ContentFormat::CsrAttrs, "a4-att-response", "application/csrattrs"},
    };
    for (const auto& [op, format, file, content_type] : cases) {
        const Bytes der = read_hex("rfc9148/" + std::string(file) + ".hex");
        HttpResponse out = answer(op, ok(format, der));
        EXPECT_EQ(out.status, 200);
        EXPECT_EQ(out.header("Content-Type"), content_type);
        EXPECT_EQ(out.header("Content-Transfer-Encoding"), "base64");
        expect_base64_lines_of(out.body, der);
    }
    EXPECT_EQ(content_format_info(ContentFormat::CertsOnly).content_type,
              "application/pkcs7-mime; smime-type=certs-only");
}

TEST(HttpServerResponse, SingleCertificateIsWrappedAsCertsOnly) {
    HttpResponse out = answer(Operation::SimpleEnroll, ok(ContentFormat::PkixCert, root_certificate()));
    ASSERT_EQ(out.status, 200) << out.body;
    auto certs = certs_only_certificates_der(base64_decode(out.body).value());
    ASSERT_TRUE(certs.ok());
    EXPECT_EQ(*certs, std::vector<Bytes>{root_certificate()});
}

// RFC 7030 §4.5.2: 204 means "no attributes wanted"; an empty success to a POST reads back as one.
TEST(HttpServerResponse, OkWithoutRepresentationIsNoContent) {
    for (Operation op : {Operation::CsrAttrs, Operation::SimpleEnroll, Operation::SimpleReenroll,
                         Operation::ServerKeyGen, Operation::ServerKeyGenCert}) {
        HttpResponse out = answer(op, EstResponse{});
        EXPECT_EQ(out.status, 204);
        EXPECT_TRUE(out.headers.empty());
        EXPECT_TRUE(out.body.empty());
    }
}

// RFC 7030 §4.1.3: cacerts MUST carry the CA certificates.
TEST(HttpServerResponse, CaCertsWithoutCertificatesIsInternalError) {
    expect_internal_error(answer(Operation::CaCerts, EstResponse{}), "cacerts");
}

TEST(HttpServerResponse, RepresentationThatDoesNotFitTheOperationIsInternalError) {
    expect_internal_error(answer(Operation::CsrAttrs, ok(ContentFormat::CertsOnly, Bytes{0x30, 0x00})),
                          "Content-Format 281");
    expect_internal_error(answer(Operation::SimpleEnroll, ok(ContentFormat::CsrAttrs, Bytes{0x30, 0x00})),
                          "not certs-only or pkix-cert");
    expect_internal_error(answer(Operation::SimpleEnroll, ok(ContentFormat::PkixCert, Bytes{0x30, 0x00})),
                          "cannot answer simpleenroll");
    expect_internal_error(answer(Operation::ServerKeyGen, ok(ContentFormat::CertsOnly, Bytes{0x30, 0x00})),
                          "not multipart");
}

TEST(HttpServerResponse, BrskiOperationsHaveNoRfc7030Representation) {
    for (Operation op : {Operation::RequestVoucher, Operation::VoucherStatus, Operation::EnrollStatus}) {
        expect_internal_error(answer(op, ok(ContentFormat::VoucherCose, Bytes{0xd2})),
                              "no RFC 7030 representation");
        EXPECT_EQ(answer(op, EstResponse::error(Status::Forbidden, "no")).status, 403);
    }
}

// ---- answers: serverkeygen multipart/mixed (RFC 7030 §4.4.2) ----

std::vector<MimePart> multipart_parts(const HttpResponse& out) {
    auto parts = parse_multipart_mixed(out.header("Content-Type").value_or(""), out.body);
    EXPECT_TRUE(parts.ok()) << (parts.ok() ? "" : parts.error().message);
    return parts.ok() ? *parts : std::vector<MimePart>{};
}

TEST(HttpServerResponse, ServerKeyGenIsMultipartWithKeyThenCertsOnlyCertificate) {
    HttpResponse out = answer(Operation::ServerKeyGen, keygen(skg_parts()));
    EXPECT_EQ(out.status, 200);
    EXPECT_EQ(out.header("Content-Type"), "multipart/mixed; boundary=" + std::string(kBoundary));
    EXPECT_FALSE(out.header("Content-Transfer-Encoding").has_value());
    auto parts = multipart_parts(out);
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].header("Content-Type"), "application/pkcs8");
    EXPECT_EQ(parts[1].header("Content-Type"), "application/pkcs7-mime; smime-type=certs-only");
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(parts[i].header("Content-Transfer-Encoding"), "base64");
        EXPECT_EQ(decode_est_body(parts[i].body).value(), *skg_parts()[i].body);
        expect_base64_lines_of(parts[i].body, *skg_parts()[i].body);
    }
}

TEST(HttpServerResponse, CertificatePartFirstIsStillAnsweredKeyFirst) {
    auto parts = skg_parts();
    std::swap(parts[0], parts[1]);
    auto mime = multipart_parts(answer(Operation::ServerKeyGen, keygen(parts)));
    ASSERT_EQ(mime.size(), 2u);
    EXPECT_EQ(mime[0].header("Content-Type"), "application/pkcs8");
}

// RFC 7030 §4.4.2: a key CMS-encrypted for the client is labelled server-generated-key, passed untouched.
TEST(HttpServerResponse, EncryptedKeyPartIsLabelledServerGeneratedKey) {
    const Bytes enveloped{0x30, 0x03, 0x02, 0x01, 0x00};
    auto mime = multipart_parts(answer(
        Operation::ServerKeyGen, keygen({{ContentFormat::ServerGeneratedKey, enveloped}, skg_parts()[1]})));
    ASSERT_EQ(mime.size(), 2u);
    EXPECT_EQ(mime[0].header("Content-Type"), "application/pkcs7-mime; smime-type=server-generated-key");
    EXPECT_EQ(decode_est_body(mime[0].body).value(), enveloped);
}

// skc (a CoAP-only variant with a pkix-cert) is answered as RFC 7030's one serverkeygen: certs-only.
TEST(HttpServerResponse, PkixCertificatePartIsWrappedAsCertsOnly) {
    auto mime =
        multipart_parts(answer(Operation::ServerKeyGenCert,
                               keygen({skg_parts()[0], {ContentFormat::PkixCert, root_certificate()}})));
    ASSERT_EQ(mime.size(), 2u);
    EXPECT_EQ(mime[1].header("Content-Type"), "application/pkcs7-mime; smime-type=certs-only");
    auto certs = certs_only_certificates_der(decode_est_body(mime[1].body).value());
    ASSERT_TRUE(certs.ok());
    EXPECT_EQ(*certs, std::vector<Bytes>{root_certificate()});
}

TEST(HttpServerResponse, MalformedKeyGenerationAnswersAreInternalErrors) {
    const auto key = skg_parts()[0];
    const auto cert = skg_parts()[1];
    const std::pair<const char*, std::vector<BodyPart>> cases[] = {
        {"lacks its certificate part", {key}},
        {"lacks its key part", {cert}},
        {"is extra", {key, key, cert}},
        {"is extra", {key, cert, cert}},
        {"unexpected", {key, {ContentFormat::CsrAttrs, Bytes{0x30, 0x00}}}},
        {"empty", {key, {ContentFormat::CertsOnly, std::nullopt}}},
        {"empty", {{ContentFormat::Pkcs8, Bytes{}}, cert}},
        {"certificate part", {key, {ContentFormat::PkixCert, Bytes{0x30, 0x00}}}},
    };
    for (const auto& [phrase, parts] : cases) {
        expect_internal_error(answer(Operation::ServerKeyGen, keygen(parts)), phrase);
    }
}

TEST(HttpServerResponse, BoundaryThatIsNoTokenIsQuoted) {
    const std::string boundary = "gc0p4Jq0M2Yt08j34c0p:(x)=?";
    HttpResponse out = answer(Operation::ServerKeyGen, keygen(skg_parts()), boundary);
    EXPECT_EQ(out.header("Content-Type"), "multipart/mixed; boundary=\"" + boundary + "\"");
    EXPECT_EQ(multipart_parts(out).size(), 2u);
}

// RFC 2046 §5.1.1: 1..70 characters from bchars, not ending in a space.
TEST(HttpServerResponse, UnusableBoundaryIsInternalError) {
    for (std::string boundary :
         {std::string(), std::string(71, 'b'), std::string("ends in space "), std::string("quote\"inside"),
          std::string("line\r\nbreak"), std::string("semi;colon")}) {
        expect_internal_error(answer(Operation::ServerKeyGen, keygen(skg_parts()), boundary), "boundary");
    }
    EXPECT_EQ(answer(Operation::ServerKeyGen, keygen(skg_parts()), std::string(70, 'b')).status, 200);
}

// ---- round trips: our server reads what our client writes, and the other way round ----

void expect_same_request(const EstRequest& got, const EstRequest& want) {
    EXPECT_EQ(got.op, want.op);
    EXPECT_EQ(got.label, want.label);
    EXPECT_EQ(got.accept, want.accept);
    EXPECT_EQ(got.content_format, want.content_format);
    EXPECT_EQ(got.body, want.body);
}

TEST(HttpServerRoundTrip, UpstreamEncoderOutputParsesBackToTheSameRequest) {
    for (const auto& c : kOperations) {
        for (const char* label : {"", "arbitraryLabel1"}) {
            EstRequest x = request_for(c.op);
            x.label = label;
            if (!c.get) {
                x.content_format = ContentFormat::Pkcs10;
                x.body = c.op == Operation::ServerKeyGen ? read_hex("rfc9148/a3-skg-request.hex") : sen_csr();
            }
            auto http = to_http_request(x, UpstreamConfig{});
            ASSERT_TRUE(http.ok()) << c.name;
            expect_same_request(parsed(*http), x);
        }
    }
}

TEST(HttpServerRoundTrip, ServerKeyGenCertComesBackAsTheOneRfc7030ServerKeyGen) {
    EstRequest x = request_for(Operation::ServerKeyGenCert);
    x.content_format = ContentFormat::Pkcs10;
    x.body = sen_csr();
    EXPECT_EQ(parsed(to_http_request(x, UpstreamConfig{}).value()).op, Operation::ServerKeyGen);
}

EstResponse read_back(Operation op, const EstResponse& x) {
    return from_http_response(request_for(op), to_http_response(request_for(op), x, kBoundary),
                              std::chrono::system_clock::now());
}

TEST(HttpServerRoundTrip, ClientReadsBackEveryRepresentationUnchanged) {
    const std::pair<Operation, EstResponse> cases[] = {
        {Operation::CaCerts, ok(ContentFormat::CertsOnly, read_hex("rfc9148/a1-crts-response.hex"))},
        {Operation::SimpleEnroll, ok(ContentFormat::CertsOnly, read_hex("rfc9148/a2-sen-response.hex"))},
        {Operation::SimpleReenroll, ok(ContentFormat::CertsOnly, read_hex("rfc9148/a2-sen-response.hex"))},
        {Operation::CsrAttrs, ok(ContentFormat::CsrAttrs, read_hex("rfc9148/a4-att-response.hex"))},
    };
    for (const auto& [op, x] : cases) {
        EstResponse back = read_back(op, x);
        EXPECT_EQ(back.status, Status::Ok) << back.diagnostic;
        EXPECT_EQ(back.upstream_status, 200);
        EXPECT_EQ(back.format, x.format);
        EXPECT_EQ(back.body, x.body);
    }
}

TEST(HttpServerRoundTrip, ClientReadsBackTheServerKeyGenParts) {
    EstResponse back = read_back(Operation::ServerKeyGen, keygen(skg_parts()));
    ASSERT_EQ(back.status, Status::Ok) << back.diagnostic;
    EXPECT_EQ(back.format, ContentFormat::MultipartCore);
    ASSERT_EQ(back.parts.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(back.parts[i].format, skg_parts()[i].format);
        EXPECT_EQ(back.parts[i].body, skg_parts()[i].body);
    }
}

TEST(HttpServerRoundTrip, ClientReadsBackErrorsAndRetryAfter) {
    EstResponse x = EstResponse::error(Status::AcceptedRetryLater, "manual approval");
    x.retry_after = 120s;
    EstResponse back = read_back(Operation::SimpleEnroll, x);
    EXPECT_EQ(back.status, Status::AcceptedRetryLater);
    EXPECT_EQ(back.retry_after, 120s);
    EXPECT_EQ(back.diagnostic, "upstream 202: manual approval");
    for (Status s : {Status::BadRequest, Status::Forbidden, Status::NotAcceptable, Status::ServiceUnavailable,
                     Status::UpstreamTimeout}) {
        EXPECT_EQ(read_back(Operation::CaCerts, EstResponse::error(s, "x")).status, s) << status_name(s);
    }
    EXPECT_EQ(read_back(Operation::SimpleEnroll, EstResponse{}).status, Status::Ok);  // 204 to a POST
}

}  // namespace
}  // namespace estgw::mapping
