// An RFC 7030 request from a device built from arbitrary bytes, run through from_http_request; a request
// that passes is answered with to_http_response. Input layout, one field per line:
// "<method>\n<path>\n<Content-Type>\n<Accept>\n<body...>" (the body is the rest, binary allowed). The Accept
// line doubles as the multipart boundary, so odd boundaries reach the encoder too.
// Checked: a refusal is an HTTP error with a text; an accepted POST holds one CSR by its DER outline (the
// front checks no more; the signer parses it whole); a 200 answer decodes back (base64 to the DER given,
// multipart/mixed to two parts).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/base64.hpp"
#include "common/der.hpp"
#include "common/est.hpp"
#include "mapping/http_response.hpp"
#include "mapping/http_server.hpp"
#include "mapping/multipart_mixed.hpp"
#include "mapping/paths.hpp"

namespace {

using namespace estgw;

std::string_view next_line(std::string_view& in) {
    std::size_t lf = in.find('\n');
    std::string_view line = in.substr(0, lf);
    in = lf == std::string_view::npos ? std::string_view{} : in.substr(lf + 1);
    return line;
}

// The labels the seed corpus names, so that labelled requests reach the checks after the path.
const mapping::RouteConfig& routes() {
    static const mapping::RouteConfig config = [] {
        mapping::RouteConfig c;
        c.max_body = 4096;
        c.labels = {"label", "arbitraryLabel1"};
        return mapping::validate_route_config(c).value();
    }();
    return config;
}

// A success the backend could give for `request`, reusing the request's bytes as the representation.
EstResponse success_for(const EstRequest& request) {
    EstResponse r;
    const Bytes body = request.body.empty() ? Bytes{0x30, 0x00} : request.body;
    switch (request.op) {
        case Operation::ServerKeyGen:
        case Operation::ServerKeyGenCert:
            r.format = ContentFormat::MultipartCore;
            r.parts = {{ContentFormat::Pkcs8, body}, {ContentFormat::CertsOnly, body}};
            break;
        case Operation::CsrAttrs:
            r.format = ContentFormat::CsrAttrs;
            r.body = body;
            break;
        default:
            r.format = request.body.empty() ? ContentFormat::CertsOnly : ContentFormat::PkixCert;
            r.body = body;
            break;
    }
    return r;
}

void check_answer(const EstResponse& response, const mapping::HttpResponse& http) {
    if (http.status != 200) {
        if (http.status < 400 || http.body.empty()) std::abort();
        return;
    }
    auto content_type = http.header("Content-Type");
    if (!content_type) std::abort();
    if (response.format == ContentFormat::MultipartCore) {
        auto parts = mapping::parse_multipart_mixed(*content_type, http.body);
        if (!parts || parts->size() != 2) std::abort();
        auto key = mapping::decode_est_body((*parts)[0].body);
        if (!key || *key != *response.parts[0].body) std::abort();
        return;
    }
    auto der = base64_decode(http.body);
    if (!der) std::abort();
    if (response.format != ContentFormat::PkixCert && *der != response.body) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    mapping::HttpRequest request;
    request.method = std::string(next_line(in));
    request.path = std::string(next_line(in));
    std::string_view content_type = next_line(in);
    std::string_view accept = next_line(in);
    if (!content_type.empty()) request.headers.push_back({"Content-Type", std::string(content_type)});
    if (!accept.empty()) request.headers.push_back({"Accept", std::string(accept)});
    request.body = std::string(in);

    auto parsed = mapping::from_http_request(request, routes());
    if (!parsed) {
        if (parsed.status() == Status::Ok || parsed.error().message.empty()) std::abort();
        mapping::HttpResponse refusal = mapping::http_error_response(request, parsed.error(), routes());
        if (refusal.status < 400 || refusal.body.empty()) std::abort();
        return 0;
    }
    const EstRequest& est = *parsed;
    if (!mapping::check_label(est.label, routes())) std::abort();
    if (est.content_format && !check_pkcs10_structure(est.body)) std::abort();

    EstResponse success = success_for(est);
    check_answer(success, mapping::to_http_response(est, success, accept));
    EstResponse failure = EstResponse::error(Status::AcceptedRetryLater, std::string(content_type));
    mapping::HttpResponse later = mapping::to_http_response(est, failure, accept);
    if (later.status != 202 || !later.header("Retry-After")) std::abort();
    return 0;
}
