#include "mapping/coap_response.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include "common/x509.hpp"
#include "mapping/cert_formats.hpp"
#include "mapping/content_format.hpp"
#include "mapping/multipart_core.hpp"
#include "mapping/resources.hpp"

namespace estgw::mapping {

namespace {

using CF = ContentFormat;

// RFC 9148 §4.5 Table 4 and §4.7; RFC 7252 §5.9 and §12.1.2; the inverse of RFC 8075 Table 2 (digest §5).
struct StatusCode {
    Status status;
    std::uint8_t code;
};
// clang-format off
constexpr std::array kStatusCodes = {
    StatusCode{Status::Ok,                 coap_code(2, 5)},   // GETs; POSTs use their resource's 2.04
    StatusCode{Status::AcceptedRetryLater, coap_code(5, 3)},   // + Max-Age (RFC 9148 §4.7)
    StatusCode{Status::BadRequest,         coap_code(4, 0)},
    StatusCode{Status::Unauthorized,       coap_code(4, 1)},
    StatusCode{Status::BadOption,          coap_code(4, 2)},
    StatusCode{Status::Forbidden,          coap_code(4, 3)},
    StatusCode{Status::NotFound,           coap_code(4, 4)},
    StatusCode{Status::MethodNotAllowed,   coap_code(4, 5)},
    StatusCode{Status::NotAcceptable,      coap_code(4, 6)},
    StatusCode{Status::RequestIncomplete,  coap_code(4, 8)},   // RFC 7959 §2.9.2
    StatusCode{Status::PreconditionFailed, coap_code(4, 12)},
    StatusCode{Status::PayloadTooLarge,    coap_code(4, 13)},  // + Size1 (RFC 7959 §2.9.3)
    StatusCode{Status::UnsupportedFormat,  coap_code(4, 15)},
    StatusCode{Status::Internal,           coap_code(5, 0)},
    StatusCode{Status::NotImplemented,     coap_code(5, 1)},
    StatusCode{Status::UpstreamFailed,     coap_code(5, 2)},
    StatusCode{Status::ServiceUnavailable, coap_code(5, 3)},   // + Max-Age (RFC 7252 §5.9.3.4)
    StatusCode{Status::UpstreamTimeout,    coap_code(5, 4)},
};
// clang-format on

constexpr std::uint8_t k5_03 = coap_code(5, 3);

// Valid UTF-8 of at most kMaxDiagnosticLength bytes, cut on a character boundary.
Bytes diagnostic_payload(std::string_view text) {
    Bytes out;
    std::size_t i = 0;
    while (i < text.size()) {
        const std::size_t n = utf8_sequence_length(as_bytes(text), i);
        if (out.size() + std::max<std::size_t>(n, 1) > kMaxDiagnosticLength) break;
        if (n == 0) {
            out.push_back('?');  // one byte that starts no valid character
            ++i;
            continue;
        }
        out.insert(out.end(), text.begin() + static_cast<std::ptrdiff_t>(i),
                   text.begin() + static_cast<std::ptrdiff_t>(i + n));
        i += n;
    }
    return out;
}

std::uint32_t max_age_seconds(std::optional<std::chrono::seconds> retry_after) {
    if (!retry_after) return kDefaultMaxAge;
    const auto s = retry_after->count();
    if (s <= 0) return 0;
    constexpr auto kMax = std::numeric_limits<std::uint32_t>::max();
    return static_cast<std::uint64_t>(s) > kMax ? kMax : static_cast<std::uint32_t>(s);
}

Error unusable(const EstRequest& request, std::string what) {
    return make_error(Status::UpstreamFailed,
                      "cannot answer /" + std::string(resource_for(request.op).short_name) + ": " + what);
}

std::string format_name(CF f) {
    return std::to_string(content_format_number(f));
}

// ---- conversions: the backend's representation → the one the client asked for ----

// Payload of a response whose format is already the one wanted.
Bytes as_is(const EstResponse& response) {
    return response.format == CF::MultipartCore ? encode_multipart_core(response.parts) : response.body;
}

Result<Bytes> issued_certificate(const EstRequest&, const EstResponse& response) {
    return issued_certificate_from_certs_only(response.body);
}

Result<Bytes> wrap_certificate(const EstRequest&, const EstResponse& response) {
    return certs_only_from_certificate(response.body);
}

Result<std::vector<Bytes>> ca_bundle(const EstResponse& response) {
    return certificates_of_certs_only(response.body, "the CA certificates answer");
}

Result<Bytes> issuing_ca(const EstRequest& request, const EstResponse& response) {
    ESTGW_TRY(bundle, ca_bundle(response));
    return select_issuing_ca(bundle, request.peer.certificate.get());
}

Result<Bytes> ca_chain_list(const EstRequest& request, const EstResponse& response) {
    ESTGW_TRY(bundle, ca_bundle(response));
    ESTGW_TRY(chain, issuing_ca_chain(bundle, request.peer.certificate.get()));
    std::vector<BodyPart> parts;
    for (auto& der : chain)
        parts.push_back(BodyPart{CF::PkixCert, std::move(der)});
    return encode_multipart_core(parts);
}

// Server-side key generation (RFC 9148 §4.8): exactly one key part (284 plain or 280 CMS-encrypted, passed
// through untouched) and one certificate part, answered key first (App. A.3) with the certificate as
// `cert_format`. The key format follows the CSR, the certificate format follows the resource (digest §6).
Result<Bytes> keygen_parts(const EstRequest& request, const EstResponse& response, CF cert_format) {
    const BodyPart* key = nullptr;
    const BodyPart* cert = nullptr;
    for (const BodyPart& part : response.parts) {
        const bool is_key = part.format == CF::Pkcs8 || part.format == CF::ServerGeneratedKey;
        const bool is_cert = part.format == CF::CertsOnly || part.format == CF::PkixCert;
        const BodyPart** slot = is_key ? &key : is_cert ? &cert : nullptr;
        if (slot == nullptr || *slot != nullptr || !part.body) {
            return unusable(request,
                            "the key generation answer must hold one key and one certificate part; "
                            "part of format " +
                                format_name(part.format) + " is extra, empty or unexpected");
        }
        *slot = &part;
    }
    if (key == nullptr || cert == nullptr) {
        return unusable(request, "the key generation answer lacks its " +
                                     std::string(key ? "certificate" : "key") + " part");
    }
    Bytes cert_body = *cert->body;
    if (cert->format != cert_format) {
        auto converted = cert_format == CF::PkixCert ? issued_certificate_from_certs_only(cert_body)
                                                     : certs_only_from_certificate(cert_body);
        if (!converted) return converted.error();
        cert_body = std::move(converted).value();
    }
    return encode_multipart_core({*key, BodyPart{cert_format, std::move(cert_body)}});
}

Result<Bytes> keygen_certs_only(const EstRequest& request, const EstResponse& response) {
    return keygen_parts(request, response, CF::CertsOnly);
}

Result<Bytes> keygen_pkix_cert(const EstRequest& request, const EstResponse& response) {
    return keygen_parts(request, response, CF::PkixCert);
}

using Convert = Result<Bytes> (*)(const EstRequest&, const EstResponse&);

// Representations that need work. A pair not listed here is served as is when the backend already produced
// the wanted format, and is UpstreamFailed otherwise.
struct Conversion {
    Operation op;
    CF from;  // EstResponse::format
    CF to;    // what the client accepts
    Convert convert;
};
// clang-format off
constexpr std::array kConversions = {
    //         operation                    from              to                 how
    Conversion{Operation::CaCerts,          CF::CertsOnly,     CF::PkixCert,      issuing_ca},        // cBRSKI §6.8
    Conversion{Operation::CaCerts,          CF::CertsOnly,     CF::MultipartCore, ca_chain_list},     // cBRSKI §6.7.5
    Conversion{Operation::SimpleEnroll,     CF::CertsOnly,     CF::PkixCert,      issued_certificate},// RFC 9148 §4.3
    Conversion{Operation::SimpleEnroll,     CF::PkixCert,      CF::CertsOnly,     wrap_certificate},
    Conversion{Operation::SimpleReenroll,   CF::CertsOnly,     CF::PkixCert,      issued_certificate},
    Conversion{Operation::SimpleReenroll,   CF::PkixCert,      CF::CertsOnly,     wrap_certificate},
    Conversion{Operation::ServerKeyGen,     CF::MultipartCore, CF::MultipartCore, keygen_certs_only}, // RFC 9148 §4.8
    Conversion{Operation::ServerKeyGenCert, CF::MultipartCore, CF::MultipartCore, keygen_pkix_cert},
};
// clang-format on

Result<CoapResponse> success_response(const EstRequest& request, const EstResponse& response) {
    const Resource& resource = resource_for(request.op);
    CoapResponse out;
    out.code = resource.success_code;
    // vs and es answer 2.04 with no payload (cBRSKI §6.5): nothing to represent.
    if (resource.response_formats.empty()) return out;

    const CF wanted = request.accept.value_or(resource.response_formats.front());
    out.content_format = content_format_number(wanted);
    for (const Conversion& c : kConversions) {
        if (c.op == request.op && c.from == response.format && c.to == wanted) {
            ESTGW_TRY(payload, c.convert(request, response));
            out.payload = std::move(payload);
            return out;
        }
    }
    if (response.format != wanted) {
        return unusable(request, "the backend answered in Content-Format " + format_name(response.format) +
                                     ", which cannot be converted to the requested " + format_name(wanted));
    }
    out.payload = as_is(response);
    return out;
}

}  // namespace

std::uint8_t coap_code_for(Status status) {
    for (const auto& row : kStatusCodes) {
        if (row.status == status) return row.code;
    }
    return coap_code(5, 0);  // unreachable: every Status has a row (tests check this)
}

std::string coap_code_string(std::uint8_t code) {
    const unsigned cls = code >> 5;
    const unsigned detail = code & 0x1F;
    std::string out = std::to_string(cls) + ".";
    if (detail < 10) out += '0';
    out += std::to_string(detail);
    return out;
}

CoapResponse coap_error_response(Status status, std::string_view diagnostic,
                                 std::optional<std::chrono::seconds> retry_after) {
    CoapResponse out;
    out.code = coap_code_for(status);
    out.payload = diagnostic_payload(diagnostic.empty() ? status_name(status) : diagnostic);
    if (out.code == k5_03) out.max_age = max_age_seconds(retry_after);
    return out;
}

Result<CoapResponse> to_coap_response(const EstRequest& request, const EstResponse& response) {
    if (response.status != Status::Ok) {
        return coap_error_response(response.status, response.diagnostic, response.retry_after);
    }
    return success_response(request, response);
}

}  // namespace estgw::mapping
