// parse_coap_request on arbitrary paths, methods, Content-Formats, Accepts and payloads; the same path text
// as a configured root.
//
// Input: byte 0 method code, byte 1 flags (bit 0 Content-Format, bit 1 Accept, bit 2 Uri-Path-Abbrev, bit 3
// an unknown critical option, bit 5 Block2 with NUM byte 4), bytes 2–3 pick the Content-Format and Accept,
// byte 4 the Uri-Path-Abbrev (and the Block2 NUM);
// then the path (segments split on '/'), then after a NUL byte the payload.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "mapping/coap_request.hpp"
#include "mapping/paths.hpp"

namespace {

using namespace estgw;
using namespace estgw::mapping;

constexpr unsigned kFormats[] = {286, 60, 50, 836, 281, 287, 62, 285, 284, 280, 40, 0, 65535};

std::vector<std::string> split_segments(std::string_view path) {
    std::vector<std::string> out;
    if (!path.empty() && path.front() == '/') path.remove_prefix(1);
    while (true) {
        std::size_t slash = path.find('/');
        out.emplace_back(path.substr(0, slash));
        if (slash == std::string_view::npos) return out;
        path.remove_prefix(slash + 1);
    }
}

const RouteConfig& fixed_config() {
    static const RouteConfig config = [] {
        RouteConfig c;
        c.est_roots = {"/est", "/x/y"};
        c.brski_roots = {"/b"};
        c.max_body = 512;
        c.disabled = {Operation::ServerKeyGenCert};
        c.labels = {"ca1"};  // the seed corpus's label
        return validate_route_config(c).value();
    }();
    return config;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 5) return 0;
    const std::uint8_t flags = data[1];
    std::string_view rest(reinterpret_cast<const char*>(data + 5), size - 5);
    const std::size_t nul = rest.find('\0');
    const std::string_view path = rest.substr(0, nul);
    const std::string_view payload =
        nul == std::string_view::npos ? std::string_view() : rest.substr(nul + 1);

    CoapRequestView view;
    view.method = data[0];
    view.uri_path = split_segments(path);
    if (flags & 1) view.content_format = kFormats[data[2] % std::size(kFormats)];
    if (flags & 2) view.accept = kFormats[data[3] % std::size(kFormats)];
    if (flags & 4) view.uri_path_abbrev = 300u + data[4];
    if (flags & 8) view.unknown_critical_options = {9};
    if (flags & 16) view.uri_path.clear();
    if (flags & 32) view.block2_num = data[4];
    view.payload = as_bytes(payload);

    const RouteConfig& config = fixed_config();
    auto parsed = parse_coap_request(view, config);
    if (parsed) {
        const Resource& r = resource_for(parsed->op);
        if (view.method != static_cast<std::uint8_t>(r.method)) std::abort();
        if (view.payload.size() > config.max_body) std::abort();
        // A POST for a later block never becomes a new request (RFC 7959 §2.7).
        if (r.method == CoapMethod::Post && view.block2_num.value_or(0) > 0) std::abort();
        if (!parsed->label.empty() && !is_valid_label(parsed->label)) std::abort();
        if (!check_label(parsed->label, config)) std::abort();
        if (std::find(config.disabled.begin(), config.disabled.end(), parsed->op) != config.disabled.end()) {
            std::abort();
        }
    } else {
        auto response = error_response(parsed.error(), config);
        if ((response.code >> 5) < 4) std::abort();
    }

    // The same text as a configured root: a root that validates serves its resources.
    RouteConfig with_root;
    with_root.est_roots = {std::string(path)};
    if (auto validated = validate_route_config(with_root); validated && !validated->est_roots.empty()) {
        auto segments = split_root(validated->est_roots.front());
        if (!segments) std::abort();
        segments->push_back("crts");
        auto route = parse_path(*segments, *validated);
        if (!route || route->resource->op != Operation::CaCerts) std::abort();
    }
    return 0;
}
