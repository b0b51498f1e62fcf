#include "mapping/coap_request.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <span>
#include <string_view>

#include "common/cbor.hpp"
#include "common/der.hpp"
#include "mapping/content_format.hpp"

namespace estgw::mapping {

namespace {

using CF = ContentFormat;

// RFC 7252 §12.1.1 method codes, for diagnostics.
constexpr std::array<std::string_view, 8> kMethodNames = {"",       "GET",   "POST",  "PUT",
                                                          "DELETE", "FETCH", "PATCH", "iPATCH"};

std::string method_name(std::uint8_t code) {
    if (code > 0 && code < kMethodNames.size()) return std::string(kMethodNames[code]);
    return coap_code_string(code);
}

// "286 (application/pkcs10)", or just the number for one estgw does not know.
std::string describe_format(unsigned number) {
    auto format = content_format_from_number(number);
    if (!format) return std::to_string(number);
    return std::to_string(number) + " (" + std::string(content_format_info(*format).content_type) + ")";
}

// "286 (application/pkcs10)" or "281 (...) or 287 (...)".
std::string describe_formats(std::span<const CF> formats) {
    std::string out;
    for (std::size_t i = 0; i < formats.size(); ++i) {
        if (i > 0) out += i + 1 == formats.size() ? " or " : ", ";
        out += describe_format(content_format_number(formats[i]));
    }
    return out;
}

bool contains(std::span<const CF> formats, unsigned number) {
    return std::any_of(formats.begin(), formats.end(),
                       [&](CF f) { return content_format_number(f) == number; });
}

// ---- body checks by request Content-Format ----

// The outline only: this runs on the I/O thread for every request, and a full parse (public key included)
// costs more than the rest of the request's handling there. The signer (certs/csr_policy) or the upstream
// parses the request completely and answers 4.00 for what only a full parse finds.
Result<void> check_csr(ByteView body) {
    if (auto shape = check_pkcs10_structure(body); !shape) {
        return make_error(Status::BadRequest, "payload is not a PKCS#10 CSR: " + shape.error().message);
    }
    return {};
}

Result<void> check_cbor(ByteView body) {
    if (auto value = cbor::decode(body); !value) {
        return make_error(Status::BadRequest, "payload is not well-formed CBOR: " + value.error().message);
    }
    return {};
}

// The gateway relays JSON telemetry and the upstream parses it; this only catches a body that is plainly
// not a JSON object (RFC 8995 §5.7 and §5.9.4 define both bodies as objects).
Result<void> check_json(ByteView body) {
    auto first = std::find_if(body.begin(), body.end(),
                              [](std::uint8_t c) { return c != ' ' && c != '\t' && c != '\r' && c != '\n'; });
    if (first == body.end() || *first != '{') {
        return make_error(Status::BadRequest, "payload is not a JSON object");
    }
    return {};
}

struct BodyCheck {
    CF format;
    Result<void> (*check)(ByteView);
};
// clang-format off
constexpr std::array kBodyChecks = {
    BodyCheck{CF::Pkcs10,      check_csr},   // RFC 9148 §4.3: raw DER
    BodyCheck{CF::Cbor,        check_cbor},  // cBRSKI §6.5: voucher status / enroll status
    BodyCheck{CF::VoucherCose, check_cbor},  // COSE_Sign1 (RFC 9052) is a CBOR item
    BodyCheck{CF::Json,        check_json},  // RFC 8995 §5.7, §5.9.4
};
// clang-format on

Result<void> check_body(CF format, ByteView body) {
    // Every request format of the resource table has a row; a format without one would pass unchecked.
    auto row = std::find_if(kBodyChecks.begin(), kBodyChecks.end(),
                            [&](const BodyCheck& c) { return c.format == format; });
    return row == kBodyChecks.end() ? Result<void>() : row->check(body);
}

Result<std::vector<std::string>> effective_path(const CoapRequestView& request) {
    if (!request.uri_path_abbrev) return request.uri_path;
    if (!request.uri_path.empty()) {
        return make_error(Status::BadOption, "Uri-Path-Abbrev must not be combined with Uri-Path");
    }
    return expand_uri_path_abbrev(*request.uri_path_abbrev);
}

// The checks before the payload's, in parse_coap_request's order.
Result<Route> check_target(const CoapRequestView& request, const RouteConfig& config) {
    if (!request.unknown_critical_options.empty()) {
        return make_error(Status::BadOption, "unrecognized critical option " +
                                                 std::to_string(request.unknown_critical_options.front()) +
                                                 " (RFC 7252 §5.4.1)");
    }
    ESTGW_TRY(path, effective_path(request));
    ESTGW_TRY(route, parse_path(path, config));
    const Resource& resource = *route.resource;
    const std::string name = "/" + std::string(resource.short_name);

    if (request.method != static_cast<std::uint8_t>(resource.method)) {
        return make_error(Status::MethodNotAllowed,
                          name + " takes " + method_name(static_cast<std::uint8_t>(resource.method)) +
                              "; got " + method_name(request.method));
    }
    if (resource.method == CoapMethod::Post && request.block2_num.value_or(0) > 0) {
        // RFC 7959 §2.7: the client fetches the rest of a POST's answer with the same POST and Block2 NUM.
        // Reaching a handler, such a request belongs to an answer no longer kept: acting on it would start
        // another enrollment.
        return make_error(Status::RequestIncomplete,
                          name + ": Block2 block " + std::to_string(*request.block2_num) +
                              " of an answer that is no longer kept; send the request again from block 0");
    }
    return route;
}

}  // namespace

Result<void> check_coap_request_target(const CoapRequestView& request, const RouteConfig& config) {
    if (auto route = check_target(request, config); !route) return route.error();
    return {};
}

Result<EstRequest> parse_coap_request(const CoapRequestView& request, const RouteConfig& config) {
    ESTGW_TRY(route, check_target(request, config));
    const Resource& resource = *route.resource;
    const std::string name = "/" + std::string(resource.short_name);
    if (request.payload.size() > config.max_body) {
        return make_error(Status::PayloadTooLarge,
                          "request payload of " + std::to_string(request.payload.size()) +
                              " bytes exceeds the limit of " + std::to_string(config.max_body));
    }

    EstRequest est;
    est.op = resource.op;
    est.label = std::move(route.label);
    if (!resource.request_formats.empty()) {
        if (!request.content_format || !contains(resource.request_formats, *request.content_format)) {
            // BRSKI.md D1: a voucher-request in a format the registrar does not take is 4.06 (cBRSKI §10.1,
            // RFC 8995 §5.3), not the 4.15 of EST (RFC 9148 §4.5).
            return make_error(
                resource.op == Operation::RequestVoucher ? Status::NotAcceptable : Status::UnsupportedFormat,
                "Content-Format " + describe_formats(resource.request_formats) + " required for " + name +
                    "; got " + (request.content_format ? describe_format(*request.content_format) : "none"));
        }
        est.content_format = content_format_from_number(*request.content_format);
    }

    if (!resource.response_formats.empty()) {
        if (request.accept) {
            if (!contains(resource.response_formats, *request.accept)) {
                return make_error(Status::NotAcceptable, name + " answers in Content-Format " +
                                                             describe_formats(resource.response_formats) +
                                                             "; Accept " + describe_format(*request.accept) +
                                                             " cannot be served");
            }
            est.accept = content_format_from_number(*request.accept);
        } else if (est.content_format &&
                   contains(resource.response_formats, content_format_number(*est.content_format))) {
            est.accept = est.content_format;
        }
    }

    if (est.content_format) {
        if (auto checked = check_body(*est.content_format, request.payload); !checked) return checked.error();
        est.body.assign(request.payload.begin(), request.payload.end());
    }
    return est;
}

CoapResponse error_response(const Error& error, const RouteConfig& config) {
    CoapResponse out = coap_error_response(error.status, error.message);
    if (error.status == Status::PayloadTooLarge) {
        constexpr std::size_t kMax = std::numeric_limits<std::uint32_t>::max();
        out.size1 = static_cast<std::uint32_t>(std::min(config.max_body, kMax));
    }
    return out;
}

}  // namespace estgw::mapping
