#include "mapping/http_response.hpp"

#include <algorithm>
#include <array>
#include <span>

#include "common/base64.hpp"
#include "common/der.hpp"
#include "common/pem.hpp"
#include "common/x509.hpp"
#include "mapping/content_format.hpp"
#include "mapping/multipart_mixed.hpp"
#include "mapping/resources.hpp"

namespace estgw::mapping {

namespace {

using std::chrono::seconds;

constexpr std::uint64_t kMaxRetryAfter = 0xFFFFFFFF;  // CoAP Max-Age is a uint of up to 4 bytes

Error fail(std::string message) {
    return make_error(Status::UpstreamFailed, std::move(message));
}

bool is_one_der_object(ByteView der) {
    auto header = read_der_header(der);
    return header && header->total_length() == der.size();
}

// ---- 200 bodies, per kind of content ----

// RFC 7030 §4.1.3 and §4.2.3: certs-only. A bare certificate (some servers answer enroll with
// application/pkix-cert) is wrapped so the CoAP side always starts from CF 281.
Result<Bytes> as_certs_only(Bytes der) {
    if (parse_certificate_der(der)) {
        auto wrapped = make_certs_only({der});
        if (!wrapped) return fail("cannot wrap the certificate as certs-only: " + wrapped.error().message);
        return std::move(wrapped).value();
    }
    // Passed on as received: the outline check does not decode the certificates (the costliest part of
    // relaying an answer, docs/BENCHMARKS.md); the pledge verifies what it gets.
    auto outline = certs_only_outline(der);
    if (!outline) return fail("not a certificate nor certs-only: " + outline.error().message);
    const std::size_t count = outline->size();
    if (count == 0) return fail("certs-only holds no certificate");
    return der;
}

// RFC 7030 §4.4.2: the key part is passed on as PKCS#8 (a PKCS#1 or SEC1 key under the pkcs8 label is
// converted), or untouched when it is CMS-encrypted for the client (RFC 9148 §5: never decrypted here).
Result<Bytes> as_pkcs8(Bytes der) {
    auto key = normalize_private_key_to_pkcs8(der);
    if (!key) return fail("key part is not a private key: " + key.error().message);
    return std::move(key).value();
}

Result<Bytes> untouched(Bytes der) {
    return der;
}

enum class PartRole { Key, Certificate };

struct PartRule {
    ContentFormat received;  // from the part's Content-Type
    PartRole role;
    ContentFormat sent;  // part format in the multipart-core answer (RFC 9148 §4.8)
    Result<Bytes> (*convert)(Bytes);
};

// clang-format off
constexpr std::array kPartRules = {
    //       part Content-Type                  role                    CoAP part format                   conversion
    PartRule{ContentFormat::Pkcs8,              PartRole::Key,          ContentFormat::Pkcs8,              as_pkcs8},
    PartRule{ContentFormat::ServerGeneratedKey, PartRole::Key,          ContentFormat::ServerGeneratedKey, untouched},
    PartRule{ContentFormat::CertsOnly,          PartRole::Certificate,  ContentFormat::CertsOnly,          as_certs_only},
    PartRule{ContentFormat::PkixCert,           PartRole::Certificate,  ContentFormat::CertsOnly,          as_certs_only},
};
// clang-format on

EstResponse ok_body(ContentFormat format, Bytes body) {
    EstResponse r;
    r.format = format;
    r.body = std::move(body);
    return r;
}

Result<EstResponse> certs_only_answer(const HttpResponse& response) {
    ESTGW_TRY(der, decode_est_body(response.body));
    ESTGW_TRY(certs, as_certs_only(std::move(der)));
    return ok_body(ContentFormat::CertsOnly, std::move(certs));
}

// RFC 7030 §4.5.2: CsrAttrs ::= SEQUENCE SIZE (0..MAX) OF AttrOrOID.
Result<EstResponse> csrattrs_answer(const HttpResponse& response) {
    if (response.body.find_first_not_of(" \t\r\n") == std::string::npos) {
        // Some servers say "nothing wanted" with an empty 200 instead of 204: treated as 204 (see below).
        return EstResponse::error(Status::NotFound, "upstream 200 with an empty body: no CSR attributes");
    }
    ESTGW_TRY(der, decode_est_body(response.body));
    if (auto sequence = require_single_der_object(der, "csrattrs body"); !sequence) {
        return fail(sequence.error().message);
    }
    return ok_body(ContentFormat::CsrAttrs, std::move(der));
}

// RFC 7030 §4.4.2: multipart/mixed with a key part and a certificate part, in either order. RFC 9148
// App. A.3 puts the key first in the multipart-core answer, so that is the order produced.
Result<EstResponse> serverkeygen_answer(const HttpResponse& response) {
    auto content_type = response.header("Content-Type");
    if (!content_type) return fail("serverkeygen answer has no Content-Type");
    ESTGW_TRY(parts, parse_multipart_mixed(*content_type, response.body));
    if (parts.size() != 2) {
        return fail("serverkeygen answer has " + std::to_string(parts.size()) + " parts, not 2");
    }
    std::optional<BodyPart> key, cert;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        std::string where = "part " + std::to_string(i) + ": ";
        auto part_type = parts[i].header("Content-Type");
        if (!part_type) return fail(where + "no Content-Type");
        auto format = content_format_from_media_type(*part_type);
        const PartRule* rule = nullptr;
        for (const auto& r : kPartRules) {
            if (format == r.received) rule = &r;
        }
        if (!rule) return fail(where + "unexpected Content-Type \"" + diagnostic_text(*part_type, 80) + "\"");
        auto& slot = rule->role == PartRole::Key ? key : cert;
        if (slot) {
            return fail(where + "a second " + (rule->role == PartRole::Key ? "key" : "certificate") +
                        " part");
        }
        auto der = decode_est_body(parts[i].body);
        if (!der) return fail(where + der.error().message);
        auto converted = rule->convert(std::move(der).value());
        if (!converted) return fail(where + converted.error().message);
        slot = BodyPart{rule->sent, std::move(converted).value()};
    }
    // Two parts and no role twice: exactly one key and one certificate.
    EstResponse r;
    r.format = ContentFormat::MultipartCore;
    r.parts = {std::move(*key), std::move(*cert)};
    return r;
}

// RFC 8995 §6 (and cBRSKI §7.1 for voucher+cose): vouchers are binary. Base64 is not tried: a COSE_Sign1
// starts with 0xd2, which no base64 text does, so a "tolerant" decode could only mask a broken upstream.
Result<EstResponse> voucher_answer(const HttpResponse& response) {
    auto content_type = response.header("Content-Type");
    if (!content_type || content_format_from_media_type(*content_type) != ContentFormat::VoucherCose) {
        return fail("voucher answer is not application/voucher+cose");
    }
    if (response.body.empty()) return fail("voucher answer is empty");
    return ok_body(ContentFormat::VoucherCose, to_bytes(response.body));
}

// RFC 8995 §5.7 and §5.9.4: the registrar only acknowledges telemetry.
Result<EstResponse> acknowledged(const HttpResponse&) {
    return EstResponse{};
}

struct AnswerRule {
    Operation op;
    Result<EstResponse> (*on_200)(const HttpResponse&);
    Status on_204;  // Ok: empty success
};

// 204 is "no content" for EST (digest §5). RFC 9148 §4.5 answers POSTs with 2.04, which needs no body. For
// csrattrs RFC 7030 §4.5.2 means "no attributes wanted"; RFC 9148 §4.5 says "4.04 is used when the
// resource is not available for the client", so that is what a 204 becomes (rather than 2.05 with an empty
// SEQUENCE, which would claim the upstream sent one). cacerts must carry certificates and requestvoucher a
// voucher, so a 204 there is an upstream failure.
// clang-format off
constexpr std::array kAnswerRules = {
    //         operation                    HTTP 200                204
    AnswerRule{Operation::CaCerts,          certs_only_answer,      Status::UpstreamFailed},
    AnswerRule{Operation::SimpleEnroll,     certs_only_answer,      Status::Ok},
    AnswerRule{Operation::SimpleReenroll,   certs_only_answer,      Status::Ok},
    AnswerRule{Operation::CsrAttrs,         csrattrs_answer,        Status::NotFound},
    AnswerRule{Operation::ServerKeyGen,     serverkeygen_answer,    Status::Ok},
    AnswerRule{Operation::ServerKeyGenCert, serverkeygen_answer,    Status::Ok},
    AnswerRule{Operation::RequestVoucher,   voucher_answer,         Status::UpstreamFailed},
    AnswerRule{Operation::VoucherStatus,    acknowledged,           Status::Ok},
    AnswerRule{Operation::EnrollStatus,     acknowledged,           Status::Ok},
};
// clang-format on

const AnswerRule& answer_rule(Operation op) {
    for (const auto& row : kAnswerRules) {
        if (row.op == op) return row;
    }
    return kAnswerRules[0];  // unreachable: every Operation has a row (tests check each one)
}

struct StatusRule {
    int http;
    Status status;
    bool retry_after;  // Retry-After → retry_after (CoAP Max-Age)
};

// Digest §5, the inverse of RFC 8075 Table 2 (RFC 9148 §4.5, §5; RFC 7252 §5.9.3.4; RFC 7959 §5 for 408).
// clang-format off
constexpr std::array kStatusRules = {
    //         HTTP  Status                          Retry-After
    StatusRule{202, Status::AcceptedRetryLater,     true},   // RFC 7030 §4.2.3, RFC 9148 §4.7
    StatusRule{400, Status::BadRequest,             false},
    StatusRule{401, Status::Unauthorized,           false},  // usually the gateway's own credentials
    StatusRule{403, Status::Forbidden,              false},
    StatusRule{404, Status::NotFound,               false},  // RFC 7030 §4.3.2: or function not implemented
    StatusRule{405, Status::MethodNotAllowed,       false},
    StatusRule{406, Status::NotAcceptable,          false},
    StatusRule{408, Status::RequestIncomplete,      false},
    StatusRule{412, Status::PreconditionFailed,     false},
    StatusRule{413, Status::PayloadTooLarge,        false},
    StatusRule{415, Status::UnsupportedFormat,      false},
    StatusRule{500, Status::Internal,               false},
    StatusRule{501, Status::NotImplemented,         false},
    StatusRule{502, Status::UpstreamFailed,         false},
    StatusRule{503, Status::ServiceUnavailable,     true},
    StatusRule{504, Status::UpstreamTimeout,        false},
};
// clang-format on

std::string upstream_prefix(int status) {
    return "upstream " + std::to_string(status);
}

std::string error_diagnostic(const HttpResponse& response) {
    std::string text = diagnostic_text(response.body);
    if (response.status >= 300 && response.status < 400) text = "redirect not followed";
    return text.empty() ? upstream_prefix(response.status) : upstream_prefix(response.status) + ": " + text;
}

// ---- HTTP-date (RFC 9110 §5.6.7) ----

constexpr std::array<std::string_view, 7> kDayNames = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> kLongDayNames = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                           "Friday", "Saturday", "Sunday"};
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Consumes the fixed-format grammar left to right; every method fails without consuming.
class Cursor {
  public:
    explicit Cursor(std::string_view s) : s_(s) {}
    bool literal(std::string_view text) {
        if (!s_.starts_with(text)) return false;
        s_.remove_prefix(text.size());
        return true;
    }
    std::optional<int> digits(std::size_t n) {
        if (s_.size() < n) return std::nullopt;
        int v = 0;
        for (std::size_t i = 0; i < n; ++i) {
            if (s_[i] < '0' || s_[i] > '9') return std::nullopt;
            v = v * 10 + (s_[i] - '0');
        }
        s_.remove_prefix(n);
        return v;
    }
    // Index of the name found (names are case-sensitive, RFC 9110 §5.6.7).
    std::optional<int> one_of(std::span<const std::string_view> names) {
        for (std::size_t i = 0; i < names.size(); ++i) {
            if (literal(names[i])) return static_cast<int>(i);
        }
        return std::nullopt;
    }
    bool done() const { return s_.empty(); }

  private:
    std::string_view s_;
};

struct DateFields {
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
};

// time-of-day = hour ":" minute ":" second
bool time_of_day(Cursor& c, DateFields& f) {
    auto h = c.digits(2);
    if (!h || !c.literal(":")) return false;
    auto m = c.digits(2);
    if (!m || !c.literal(":")) return false;
    auto s = c.digits(2);
    if (!s) return false;
    f.hour = *h, f.minute = *m, f.second = *s;
    return f.hour <= 23 && f.minute <= 59 && f.second <= 60;  // 60: a leap second
}

// IMF-fixdate = day-name "," SP day SP month SP year SP time-of-day SP "GMT"
std::optional<DateFields> imf_fixdate(std::string_view text) {
    Cursor c(text);
    DateFields f;
    if (!c.one_of(kDayNames) || !c.literal(", ")) return std::nullopt;
    auto day = c.digits(2);
    if (!day || !c.literal(" ")) return std::nullopt;
    auto month = c.one_of(kMonths);
    if (!month || !c.literal(" ")) return std::nullopt;
    auto year = c.digits(4);
    if (!year || !c.literal(" ") || !time_of_day(c, f) || !c.literal(" GMT") || !c.done())
        return std::nullopt;
    f.year = *year, f.month = *month + 1, f.day = *day;
    return f;
}

// rfc850-date = day-name-l "," SP day "-" month "-" 2DIGIT SP time-of-day SP "GMT"
std::optional<DateFields> rfc850_date(std::string_view text, int current_year) {
    Cursor c(text);
    DateFields f;
    if (!c.one_of(kLongDayNames) || !c.literal(", ")) return std::nullopt;
    auto day = c.digits(2);
    if (!day || !c.literal("-")) return std::nullopt;
    auto month = c.one_of(kMonths);
    if (!month || !c.literal("-")) return std::nullopt;
    auto yy = c.digits(2);
    if (!yy || !c.literal(" ") || !time_of_day(c, f) || !c.literal(" GMT") || !c.done()) return std::nullopt;
    // RFC 9110 §5.6.7: a year more than 50 years in the future is the most recent past one with those digits.
    int year = current_year - current_year % 100 + *yy;
    if (year > current_year + 50) year -= 100;
    f.year = year, f.month = *month + 1, f.day = *day;
    return f;
}

// asctime-date = day-name SP month SP ( 2DIGIT / ( SP DIGIT ) ) SP time-of-day SP year
std::optional<DateFields> asctime_date(std::string_view text) {
    Cursor c(text);
    DateFields f;
    if (!c.one_of(kDayNames) || !c.literal(" ")) return std::nullopt;
    auto month = c.one_of(kMonths);
    if (!month || !c.literal(" ")) return std::nullopt;
    auto day = c.literal(" ") ? c.digits(1) : c.digits(2);
    if (!day || !c.literal(" ") || !time_of_day(c, f) || !c.literal(" ")) return std::nullopt;
    auto year = c.digits(4);
    if (!year || !c.done()) return std::nullopt;
    f.year = *year, f.month = *month + 1, f.day = *day;
    return f;
}

}  // namespace

// ---- diagnostics ----

std::string diagnostic_text(std::string_view raw, std::size_t max_bytes) {
    static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
    std::string out;
    bool pending_space = false;
    for (std::size_t i = 0; i < raw.size();) {
        auto c = static_cast<unsigned char>(raw[i]);
        if (c <= 0x20 || c == 0x7F) {  // white space and control characters
            pending_space = !out.empty();
            ++i;
            continue;
        }
        std::size_t length = utf8_sequence_length(as_bytes(raw), i);
        std::string_view piece = length ? raw.substr(i, length) : kReplacement;
        std::size_t needed = piece.size() + (pending_space ? 1 : 0);
        if (out.size() + needed > max_bytes) break;
        if (pending_space) out.push_back(' ');
        out += piece;
        pending_space = false;
        i += length ? length : 1;
    }
    return out;
}

std::optional<std::chrono::sys_seconds> parse_http_date(std::string_view text,
                                                        std::chrono::system_clock::time_point now) {
    using namespace std::chrono;
    int current_year = static_cast<int>(year_month_day(floor<days>(now)).year());
    auto fields = imf_fixdate(text);
    if (!fields) fields = rfc850_date(text, current_year);
    if (!fields) fields = asctime_date(text);
    if (!fields) return std::nullopt;
    year_month_day date{year(fields->year), month(static_cast<unsigned>(fields->month)),
                        day(static_cast<unsigned>(fields->day))};
    if (!date.ok()) return std::nullopt;  // 31 Feb and friends
    return sys_days(date) + hours(fields->hour) + minutes(fields->minute) + seconds(fields->second);
}

std::optional<seconds> parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
        value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
    if (value.empty()) return std::nullopt;
    if (value.find_first_not_of("0123456789") == std::string_view::npos) {  // delta-seconds = 1*DIGIT
        std::uint64_t total = 0;
        for (char c : value) {
            total = std::min<std::uint64_t>(total * 10 + static_cast<unsigned>(c - '0'), kMaxRetryAfter);
        }
        return seconds(total);
    }
    auto date = parse_http_date(value, now);
    if (!date) return std::nullopt;
    auto left = (*date - std::chrono::floor<seconds>(now)).count();
    return seconds(std::clamp<std::int64_t>(left, 0, kMaxRetryAfter));
}

Result<Bytes> decode_est_body(std::string_view body) {
    std::size_t first = body.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return fail("empty body");
    if (body.substr(first).starts_with("-----BEGIN")) {  // PEM is not EST, but some servers send it
        auto der = pem_decode(body);
        if (!der) return fail("PEM body: " + der.error().message);
        if (!is_one_der_object(*der)) return fail("PEM body is not one DER object");
        return der;
    }
    auto decoded = base64_decode(body);
    if (decoded && is_one_der_object(*decoded)) return decoded;
    if (is_one_der_object(as_bytes(body))) return to_bytes(body);  // binary despite RFC 7030 §4
    return fail(decoded ? "base64 body does not decode to one DER object"
                        : "body is neither base64 nor DER (" + decoded.error().message + ")");
}

namespace {

EstResponse translate(const EstRequest& request, const HttpResponse& response,
                      std::chrono::system_clock::time_point now) {
    const AnswerRule& rule = answer_rule(request.op);
    const std::string_view operation = resource_for(request.op).http_name;
    if (response.status == 200) {
        auto answer = rule.on_200(response);
        if (!answer) {
            return EstResponse::error(
                Status::UpstreamFailed,
                upstream_prefix(200) + " to " + std::string(operation) + ": " + answer.error().message);
        }
        return std::move(answer).value();
    }
    if (response.status == 204) {
        if (rule.on_204 == Status::Ok) return EstResponse{};
        return EstResponse::error(rule.on_204, upstream_prefix(204) + " to " + std::string(operation));
    }
    for (const auto& row : kStatusRules) {
        if (row.http != response.status) continue;
        EstResponse r = EstResponse::error(row.status, error_diagnostic(response));
        auto retry_after = response.header("Retry-After");
        if (row.retry_after && retry_after) {
            r.retry_after = parse_retry_after(*retry_after, now);
            // An unusable value is dropped, and the CoAP side falls back to its default Max-Age (60 s,
            // RFC 7252 §5.10.5); the diagnostic says so, since the operator may want to fix the upstream.
            if (!r.retry_after) r.diagnostic += " (unparseable Retry-After ignored)";
        }
        return r;
    }
    return EstResponse::error(Status::UpstreamFailed, error_diagnostic(response));
}

}  // namespace

EstResponse from_http_response(const EstRequest& request, const HttpResponse& response,
                               std::chrono::system_clock::time_point now) {
    EstResponse r = translate(request, response, now);
    r.upstream_status = response.status;
    return r;
}

}  // namespace estgw::mapping
