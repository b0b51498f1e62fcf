#include "mapping/http_server.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/base64.hpp"
#include "common/der.hpp"
#include "mapping/cert_formats.hpp"
#include "mapping/coap_response.hpp"
#include "mapping/content_format.hpp"
#include "mapping/http_request.hpp"
#include "mapping/http_response.hpp"
#include "mapping/multipart_mixed.hpp"
#include "mapping/paths.hpp"
#include "mapping/resources.hpp"

namespace estgw::mapping {

namespace {

using CF = ContentFormat;
using std::chrono::seconds;

// RFC 7030 §3.2.2 Figure 5 lists it; it is optional (§4.3) and estgw does not offer it.
constexpr std::string_view kFullCmc = "fullcmc";

constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";

// ---- status table: the inverse of http_response.cpp's (digest §5, RFC 8075 Table 2 read backwards) ----

struct HttpStatus {
    Status status;
    int http;
    std::string_view reason;  // RFC 9110 §15 reason phrase, the body when there is no diagnostic
    bool retry_after;         // Retry-After from EstResponse::retry_after
};

// clang-format off
constexpr std::array kHttpStatuses = {
    //         Status                          HTTP  reason phrase              Retry-After
    HttpStatus{Status::AcceptedRetryLater,     202,  "Accepted",                true},   // RFC 7030 §4.2.3
    HttpStatus{Status::BadRequest,             400,  "Bad Request",             false},
    HttpStatus{Status::BadOption,              400,  "Bad Request",             false},  // a CoAP-only notion
    HttpStatus{Status::Unauthorized,           401,  "Unauthorized",            false},
    HttpStatus{Status::Forbidden,              403,  "Forbidden",               false},
    HttpStatus{Status::NotFound,               404,  "Not Found",               false},
    HttpStatus{Status::MethodNotAllowed,       405,  "Method Not Allowed",      false},  // + Allow
    HttpStatus{Status::NotAcceptable,          406,  "Not Acceptable",          false},
    HttpStatus{Status::RequestIncomplete,      408,  "Request Timeout",         false},
    HttpStatus{Status::PreconditionFailed,     412,  "Precondition Failed",     false},
    HttpStatus{Status::PayloadTooLarge,        413,  "Content Too Large",       false},
    HttpStatus{Status::UnsupportedFormat,      415,  "Unsupported Media Type",  false},
    HttpStatus{Status::Internal,               500,  "Internal Server Error",   false},
    HttpStatus{Status::NotImplemented,         501,  "Not Implemented",         false},  // RFC 7030 §4.3.2
    HttpStatus{Status::UpstreamFailed,         502,  "Bad Gateway",             false},
    HttpStatus{Status::ServiceUnavailable,     503,  "Service Unavailable",     true},   // RFC 9110 §10.2.3
    HttpStatus{Status::UpstreamTimeout,        504,  "Gateway Timeout",         false},
};
// clang-format on

const HttpStatus& http_status_for(Status status) {
    for (const auto& row : kHttpStatuses) {
        if (row.status == status) return row;
    }
    // Only Status::Ok has no row (every other Status has one, tested): an "error" claiming success is a bug.
    return http_status_for(Status::Internal);
}

Error internal(std::string message) {
    return make_error(Status::Internal, std::move(message));
}

// ---- 200 answers, per operation ----

std::string format_name(CF f) {
    return std::to_string(content_format_number(f));
}

// RFC 7030 answers every certificate body as certs-only; a backend's single pkix-cert is wrapped.
Result<Bytes> as_certs_only(CF format, const Bytes& der, std::string_view what) {
    if (format == CF::CertsOnly) return der;
    if (format != CF::PkixCert) {
        return internal(std::string(what) + " in Content-Format " + format_name(format) +
                        ", not certs-only or pkix-cert");
    }
    auto wrapped = certs_only_from_certificate(der);
    if (!wrapped) return internal(std::string(what) + ": " + wrapped.error().message);
    return std::move(wrapped).value();
}

HttpResponse base64_answer(std::string_view content_type, ByteView der) {
    HttpResponse out;
    out.status = 200;
    // RFC 8951 §3 tells clients to ignore it; RFC 7030 §4 clients look for it.
    out.headers = {{"Content-Type", std::string(content_type)}, {"Content-Transfer-Encoding", "base64"}};
    out.body = base64_encode(der, kBase64LineLength);
    return out;
}

struct Answer;
using Encode = Result<HttpResponse> (*)(const Answer&, const EstResponse&, std::string_view boundary);

struct Answer {
    Operation op;
    std::string_view content_type;  // of the 200 answer (serverkeygen: without its boundary)
    std::span<const std::string_view> also_accepted;  // media types an Accept may name besides that one
    Encode encode;
    bool may_be_empty;  // an Ok without representation is 204; otherwise it is a backend fault (500)
};

Result<HttpResponse> certificates(const Answer& answer, const EstResponse& response, std::string_view) {
    ESTGW_TRY(der, as_certs_only(response.format, response.body, "certificates"));
    return base64_answer(answer.content_type, der);
}

Result<HttpResponse> csr_attributes(const Answer& answer, const EstResponse& response, std::string_view) {
    if (response.format != CF::CsrAttrs) {
        return internal("CSR attributes in Content-Format " + format_name(response.format));
    }
    return base64_answer(answer.content_type, response.body);
}

// The boundary is quoted only when it is not an RFC 9110 token: RFC 7030 App. A.4 sends it bare, and some
// clients do not unquote. Checked by reading it back with the parser our own client uses. Base64 never holds
// "--", so no delimiter line "--<boundary>" can occur inside a part and any valid boundary is safe.
Result<std::string> multipart_content_type(std::string_view answer_type, std::string_view boundary) {
    const bool token = !boundary.empty() && std::all_of(boundary.begin(), boundary.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               std::string_view("'+-._").find(c) != std::string_view::npos;
    });
    std::string value = token ? std::string(boundary) : "\"" + std::string(boundary) + "\"";
    std::string content_type = std::string(answer_type) + "; boundary=" + value;
    auto parsed = multipart_boundary(content_type);
    if (!parsed || *parsed != boundary) {
        return internal("unusable multipart boundary (RFC 2046 §5.1.1: 1..70 characters, no trailing space)");
    }
    return content_type;
}

MimePart base64_part(CF format, ByteView der) {
    return MimePart{{{"Content-Type", std::string(content_format_info(format).content_type)},
                     {"Content-Transfer-Encoding", "base64"}},
                    base64_encode(der, kBase64LineLength)};
}

// RFC 7030 §4.4.2: a key part (application/pkcs8, or server-generated-key when CMS-encrypted for the
// client) and the certificate as certs-only, in that order (App. A.4). The key is passed on untouched.
Result<HttpResponse> generated_key(const Answer& answer, const EstResponse& response,
                                   std::string_view boundary) {
    if (response.format != CF::MultipartCore) {
        return internal("key generation answer in Content-Format " + format_name(response.format) +
                        ", not multipart");
    }
    const BodyPart* key = nullptr;
    const BodyPart* cert = nullptr;
    for (const BodyPart& part : response.parts) {
        const bool is_key = part.format == CF::Pkcs8 || part.format == CF::ServerGeneratedKey;
        const bool is_cert = part.format == CF::CertsOnly || part.format == CF::PkixCert;
        const BodyPart** slot = is_key ? &key : is_cert ? &cert : nullptr;
        if (slot == nullptr || *slot != nullptr || !part.body || part.body->empty()) {
            return internal(
                "the key generation answer must hold one key and one certificate part; part of "
                "Content-Format " +
                format_name(part.format) + " is extra, empty or unexpected");
        }
        *slot = &part;
    }
    if (key == nullptr || cert == nullptr) {
        return internal("the key generation answer lacks its " + std::string(key ? "certificate" : "key") +
                        " part");
    }
    ESTGW_TRY(content_type, multipart_content_type(answer.content_type, boundary));
    ESTGW_TRY(certs_only, as_certs_only(cert->format, *cert->body, "certificate part"));
    HttpResponse out;
    out.status = 200;
    out.headers = {{"Content-Type", std::move(content_type)}};
    out.body = encode_multipart_mixed(
        {base64_part(key->format, *key->body), base64_part(CF::CertsOnly, certs_only)}, boundary);
    return out;
}

// A client asking for what is inside the multipart answer is not asking for something else.
constexpr std::string_view kKeyGenPartTypes[] = {"application/pkcs8", "application/pkcs7-mime"};

// RFC 7030 §4.1.3, §4.2.3, §4.5.2, §4.4.2. skc (certificate as pkix-cert) is a CoAP-only variant: over
// HTTP it is answered like skg, since RFC 7030 has one serverkeygen.
// clang-format off
constexpr std::array kAnswers = {
    //     operation                    200 Content-Type                                  Accept also takes  encoder         204 when empty
    Answer{Operation::CaCerts,          "application/pkcs7-mime",                        {},                certificates,   false},
    Answer{Operation::SimpleEnroll,     "application/pkcs7-mime; smime-type=certs-only",  {},                certificates,   true},
    Answer{Operation::SimpleReenroll,   "application/pkcs7-mime; smime-type=certs-only",  {},                certificates,   true},
    Answer{Operation::CsrAttrs,         "application/csrattrs",                           {},                csr_attributes, true},
    Answer{Operation::ServerKeyGen,     "multipart/mixed",                                kKeyGenPartTypes,  generated_key,  true},
    Answer{Operation::ServerKeyGenCert, "multipart/mixed",                                kKeyGenPartTypes,  generated_key,  true},
};
// clang-format on

const Answer* find_answer(Operation op) {
    for (const auto& row : kAnswers) {
        if (row.op == op) return &row;
    }
    return nullptr;  // BRSKI
}

// ---- errors ----

std::string_view http_method(const Resource& resource) {
    return resource.method == CoapMethod::Get ? "GET" : "POST";
}

HttpResponse error_answer(Status status, std::string_view diagnostic, std::optional<seconds> retry_after,
                          std::optional<Operation> op) {
    const HttpStatus& row = http_status_for(status);
    HttpResponse out;
    out.status = row.http;
    out.headers = {{"Content-Type", std::string(kTextPlain)}};
    out.body = diagnostic_text(diagnostic, kMaxHttpDiagnosticLength);
    if (out.body.empty()) out.body = row.reason;
    // RFC 7030 §4.2.3: a 202 MUST say when to come back; the CoAP side's default Max-Age serves here too.
    if (status == Status::AcceptedRetryLater && !retry_after) retry_after = seconds(kDefaultMaxAge);
    if (row.retry_after && retry_after) {
        out.headers.push_back(
            {"Retry-After", std::to_string(std::max<seconds::rep>(retry_after->count(), 0))});
    }
    if (status == Status::MethodNotAllowed && op) {
        out.headers.push_back({"Allow", std::string(http_method(resource_for(*op)))});
    }
    return out;
}

// ---- request paths (RFC 7030 §3.2.2) ----

Error not_found(std::string_view path, std::string_view why) {
    return make_error(Status::NotFound, "no EST resource at " + std::string(path.substr(0, 200)) + " (" +
                                            std::string(why) + ")");
}

Result<std::vector<std::string>> path_segments(std::string_view path) {
    if (!path.starts_with('/')) return not_found(path, "not an absolute path");
    std::vector<std::string> segments;
    std::string_view rest = path.substr(1);
    while (true) {
        std::size_t slash = rest.find('/');
        std::string_view raw = rest.substr(0, slash);
        if (raw.empty()) return not_found(path, "empty path segment");
        auto segment = percent_decode(raw);
        if (!segment) return not_found(path, "malformed percent-encoding");
        segments.push_back(std::move(*segment));
        if (slash == std::string_view::npos) return segments;
        rest.remove_prefix(slash + 1);
    }
}

struct Target {
    const Resource* resource;  // never null
    std::string label;
};

Result<Target> resolve(std::string_view target, const RouteConfig& config) {
    const std::string_view path = target.substr(0, target.find('?'));  // RFC 7030 defines no query
    ESTGW_TRY(segments, path_segments(path));
    const std::vector<std::string> root = split_root(kWellKnownEstRoot).value();
    const bool under_root =
        segments.size() > root.size() && std::equal(root.begin(), root.end(), segments.begin());
    const std::size_t rest = under_root ? segments.size() - root.size() : 0;
    if (rest == 0 || rest > 2) {
        return not_found(path, "RFC 7030 §3.2.2 paths are /.well-known/est[/<label>]/<operation>");
    }
    Target out{nullptr, rest == 2 ? segments[root.size()] : std::string()};
    if (rest == 2 && !is_valid_label(out.label)) return not_found(path, "invalid label");
    if (auto served = check_label(out.label, config); !served) return served.error();
    const std::string& name = segments.back();
    if (name == kFullCmc) return make_error(Status::NotImplemented, "fullcmc is not offered (RFC 7030 §4.3)");
    for (const Resource& r : resources()) {
        if (r.family == Family::Est && r.op != Operation::ServerKeyGenCert && r.http_name == name) {
            if (std::find(config.disabled.begin(), config.disabled.end(), r.op) != config.disabled.end()) {
                return not_found(path, "not offered by this server");
            }
            out.resource = &r;
            return out;
        }
    }
    return not_found(path, "unknown operation");
}

// ---- Accept (RFC 9110 §12.5.1) ----

// q=0 (also "0.", "0.0", ... "0.000") means "not acceptable".
bool is_zero_quality(const std::optional<std::string>& q) {
    if (!q || q->empty() || (*q)[0] != '0') return false;
    if (q->size() == 1) return true;
    return (*q)[1] == '.' && q->size() <= 5 && q->find_first_not_of('0', 2) == std::string::npos;
}

bool range_covers(std::string_view range, std::string_view type) {
    if (range == "*/*" || range == type) return true;
    return range.ends_with("/*") && type.starts_with(range.substr(0, range.size() - 1));
}

// Lenient on purpose: only a header with well-formed ranges that all exclude the answer is refused, since
// RFC 7030 fixes the answer's format and a 406 to a client with a sloppy Accept helps nobody.
bool accepts(std::string_view accept, const Answer& answer) {
    const std::string type = parse_media_type(answer.content_type)->type;
    bool any_range = false;
    while (true) {
        std::size_t comma = accept.find(',');
        auto range = parse_media_type(accept.substr(0, comma));
        if (range) {
            any_range = true;
            bool named = range_covers(range->type, type) ||
                         std::find(answer.also_accepted.begin(), answer.also_accepted.end(), range->type) !=
                             answer.also_accepted.end();
            if (named && !is_zero_quality(range->param("q"))) return true;
        }
        if (comma == std::string_view::npos) return !any_range;
        accept.remove_prefix(comma + 1);
    }
}

}  // namespace

Result<EstRequest> from_http_request(const HttpRequest& request, const RouteConfig& config) {
    ESTGW_TRY(target, resolve(request.path, config));
    const Resource& resource = *target.resource;
    const std::string name = std::string(resource.http_name);
    if (request.method != http_method(resource)) {
        return make_error(Status::MethodNotAllowed, "/" + name + " takes " +
                                                        std::string(http_method(resource)) + "; got " +
                                                        request.method.substr(0, 20));
    }
    if (request.body.size() > config.max_body) {
        return make_error(Status::PayloadTooLarge, "request body of " + std::to_string(request.body.size()) +
                                                       " bytes exceeds the limit of " +
                                                       std::to_string(config.max_body));
    }
    EstRequest est;
    est.op = resource.op;
    est.label = std::move(target.label);
    if (!resource.request_formats.empty()) {
        auto content_type = request.header("Content-Type");
        auto format = content_type ? content_format_from_media_type(*content_type) : std::nullopt;
        if (!format || std::find(resource.request_formats.begin(), resource.request_formats.end(), *format) ==
                           resource.request_formats.end()) {
            return make_error(
                Status::UnsupportedFormat,
                "/" + name + " takes Content-Type " +
                    std::string(content_format_info(resource.request_formats.front()).content_type) +
                    "; got " + (content_type ? "\"" + content_type->substr(0, 100) + "\"" : "none"));
        }
        est.content_format = format;
    }
    const Answer& answer = *find_answer(resource.op);
    if (auto accept = request.header("Accept"); accept && !accepts(*accept, answer)) {
        return make_error(Status::NotAcceptable, "/" + name + " answers " + std::string(answer.content_type) +
                                                     "; Accept \"" + accept->substr(0, 100) +
                                                     "\" excludes it");
    }
    if (est.content_format) {
        auto der = decode_est_body(request.body);
        if (!der) return make_error(Status::BadRequest, "request body: " + der.error().message);
        // The outline only, as for CoAP (mapping/coap_request.cpp): the signer parses it completely.
        if (auto shape = check_pkcs10_structure(*der); !shape) {
            return make_error(Status::BadRequest,
                              "request body is not a PKCS#10 CSR: " + shape.error().message);
        }
        est.body = std::move(der).value();
    }
    return est;
}

HttpResponse to_http_response(const EstRequest& request, const EstResponse& response,
                              std::string_view boundary) {
    if (response.status != Status::Ok) {
        return error_answer(response.status, response.diagnostic, response.retry_after, request.op);
    }
    const std::string name(resource_for(request.op).http_name);
    const Answer* answer = find_answer(request.op);
    if (answer == nullptr) {
        return error_answer(Status::Internal, name + " has no RFC 7030 representation", std::nullopt,
                            request.op);
    }
    if (response.body.empty() && response.parts.empty()) {
        if (answer->may_be_empty) return HttpResponse{204, {}, {}};
        return error_answer(Status::Internal, "the " + name + " answer holds no certificate", std::nullopt,
                            request.op);
    }
    auto encoded = answer->encode(*answer, response, boundary);
    if (!encoded) {
        return error_answer(encoded.error().status, "cannot answer " + name + ": " + encoded.error().message,
                            std::nullopt, request.op);
    }
    return std::move(encoded).value();
}

HttpResponse http_error_response(const HttpRequest& request, const Error& error, const RouteConfig& config) {
    std::optional<Operation> op;
    if (auto target = resolve(request.path, config)) op = target->resource->op;
    return error_answer(error.status, error.message, std::nullopt, op);
}

}  // namespace estgw::mapping
