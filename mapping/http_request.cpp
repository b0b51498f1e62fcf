#include "mapping/http_request.hpp"

#include <algorithm>
#include <array>

#include "common/base64.hpp"
#include "common/pem.hpp"
#include "mapping/content_format.hpp"
#include "mapping/resources.hpp"
#include "mapping/telemetry_json.hpp"

namespace estgw::mapping {

namespace {

enum class BodyEncoding {
    None,    // GET: no body
    Base64,  // RFC 7030 §4: base64 of the DER (RFC 4648 §4)
    Binary,  // RFC 8995 §6: the COSE voucher request as is
    Json,    // RFC 8995 §5.7, §5.9.4: JSON telemetry; CBOR from cBRSKI pledges is converted
};

struct HttpSide {
    Operation op;
    std::string_view accept;  // empty: no Accept header (no response body expected)
    BodyEncoding encoding;
};

// The HTTP half of the resource table (method, path name and request formats come from resources.cpp).
// RFC 7030 §4.1.3 labels /cacerts answers "application/pkcs7-mime" without smime-type, so that is what is
// accepted; §4.4.2 answers /serverkeygen with multipart/mixed.
// clang-format off
constexpr std::array kHttpSide = {
    //       operation                    Accept                        request body
    HttpSide{Operation::CaCerts,          "application/pkcs7-mime",     BodyEncoding::None},
    HttpSide{Operation::SimpleEnroll,     "application/pkcs7-mime",     BodyEncoding::Base64},
    HttpSide{Operation::SimpleReenroll,   "application/pkcs7-mime",     BodyEncoding::Base64},
    HttpSide{Operation::CsrAttrs,         "application/csrattrs",       BodyEncoding::None},
    HttpSide{Operation::ServerKeyGen,     "multipart/mixed",            BodyEncoding::Base64},
    HttpSide{Operation::ServerKeyGenCert, "multipart/mixed",            BodyEncoding::Base64},
    HttpSide{Operation::RequestVoucher,   "application/voucher+cose",   BodyEncoding::Binary},
    HttpSide{Operation::VoucherStatus,    "",                           BodyEncoding::Json},
    HttpSide{Operation::EnrollStatus,     "",                           BodyEncoding::Json},
};
// clang-format on

const HttpSide& http_side(Operation op) {
    for (const auto& row : kHttpSide) {
        if (row.op == op) return row;
    }
    return kHttpSide[0];  // unreachable: every Operation has a row (tests check each one)
}

std::string_view without_trailing_slash(std::string_view s) {
    while (!s.empty() && s.back() == '/')
        s.remove_suffix(1);
    return s;
}

std::string request_path(const Resource& resource, const EstRequest& request, const UpstreamConfig& config) {
    std::string path(
        without_trailing_slash(resource.family == Family::Est ? config.est_prefix : config.brski_prefix));
    // RFC 8995 has no labels; an EST label is one path segment whatever bytes it holds.
    if (resource.family == Family::Est && !request.label.empty()) path += "/" + percent_encode(request.label);
    path += "/";
    path += resource.http_name;
    return path;
}

// The request body as the upstream wants it, with its Content-Type.
Result<void> add_body(HttpRequest& out, const Resource& resource, const HttpSide& side,
                      const EstRequest& request) {
    if (side.encoding == BodyEncoding::None) return {};
    ContentFormat format = request.content_format.value_or(resource.request_formats.front());
    if (std::find(resource.request_formats.begin(), resource.request_formats.end(), format) ==
        resource.request_formats.end()) {
        return make_error(Status::UnsupportedFormat,
                          "Content-Format " + std::to_string(content_format_number(format)) +
                              " is not accepted by /" + std::string(resource.short_name));
    }
    if (request.body.empty()) return make_error(Status::BadRequest, "empty request body");
    std::string content_type(content_format_info(format).content_type);
    switch (side.encoding) {
        case BodyEncoding::Base64:
            // 64-character lines, each ending with a line break: libest decodes with OpenSSL's
            // BIO_f_base64 in its default mode, which refuses one unbroken line without a final break.
            out.body = base64_encode(request.body, kBase64LineLength);
            // RFC 8951 §3 tells servers to ignore it; legacy RFC 7030 servers still look for it.
            out.headers.push_back({"Content-Transfer-Encoding", "base64"});
            break;
        case BodyEncoding::Json:
            if (format == ContentFormat::Cbor) {
                auto json = telemetry_cbor_to_json(request.body);
                if (!json) return json.error();
                out.body = std::move(json).value();
                content_type = content_format_info(ContentFormat::Json).content_type;
            } else {
                out.body = to_string(request.body);
            }
            break;
        case BodyEncoding::Binary:
        case BodyEncoding::None:
            out.body = to_string(request.body);
            break;
    }
    out.headers.insert(out.headers.begin(), HttpHeader{"Content-Type", std::move(content_type)});
    return {};
}

// The forwarded client certificate; requestvoucher is meaningless upstream without it (DESIGN.md: the
// registrar must see the pledge's certificate, which only the DTLS-terminating gateway has).
Result<void> add_client_certificate(HttpRequest& out, const EstRequest& request,
                                    const UpstreamConfig& config) {
    bool voucher = request.op == Operation::RequestVoucher;
    if (!config.forward_client_cert_header) {
        if (voucher) {
            return make_error(Status::NotImplemented,
                              "requestvoucher is relayed only when the pledge certificate is forwarded");
        }
        return {};
    }
    if (request.peer.chain.empty()) {
        if (voucher) {
            return make_error(Status::Unauthorized, "requestvoucher needs a pledge client certificate");
        }
        return {};
    }
    out.headers.push_back({*config.forward_client_cert_header,
                           percent_encode(pem_encode(request.peer.chain.front(), "CERTIFICATE"))});
    return {};
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::string percent_encode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size());
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                          c == '-' || c == '.' || c == '_' || c == '~';
        if (unreserved) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 0x0f]);
        }
    }
    return out;
}

std::optional<std::string> percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out.push_back(s[i]);
            continue;
        }
        if (i + 2 >= s.size()) return std::nullopt;
        int high = hex_digit(s[i + 1]), low = hex_digit(s[i + 2]);
        if (high < 0 || low < 0) return std::nullopt;
        out.push_back(static_cast<char>(high << 4 | low));
        i += 2;
    }
    return out;
}

Result<HttpRequest> to_http_request(const EstRequest& request, const UpstreamConfig& config) {
    const Resource& resource = resource_for(request.op);
    const HttpSide& side = http_side(request.op);
    HttpRequest out;
    out.method = resource.method == CoapMethod::Get ? "GET" : "POST";
    out.path = request_path(resource, request, config);
    auto body = add_body(out, resource, side, request);
    if (!body) return body.error();
    if (!side.accept.empty()) out.headers.push_back({"Accept", std::string(side.accept)});
    if (config.basic_user) {
        // RFC 7617 §2: the user-id cannot contain a colon; the password can.
        if (config.basic_user->find(':') != std::string::npos) {
            return make_error(Status::Internal, "the upstream Basic user-id contains ':'");
        }
        std::string credentials = *config.basic_user + ":" + config.basic_password.value_or("");
        out.headers.push_back({"Authorization", "Basic " + base64_encode(as_bytes(credentials))});
    }
    auto cert = add_client_certificate(out, request, config);
    if (!cert) return cert.error();
    return out;
}

}  // namespace estgw::mapping
