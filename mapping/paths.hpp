// Uri-Path → resource: which EST-coaps or cBRSKI resource a request names, and with which label
// (RFC 9148 §4.1, RFC 7030 §3.2.2, cBRSKI §6.5 and App. E.1; digest §3).
//
// Served paths:
//   <est root>/<short>            <est root>/<label>/<short>     (crts, sen, sren, att, skg, skc)
//   <brski root>/<short>                                          (rv, vs, es; BRSKI has no labels)
// where the roots are /.well-known/est and /.well-known/brski (always served, RFC 9148 §4.1 MUST) plus any
// extra roots from the configuration, such as /est or /b, which a registrar must process identically.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/est.hpp"
#include "common/result.hpp"
#include "mapping/resources.hpp"

namespace estgw::mapping {

inline constexpr std::string_view kWellKnownEstRoot = "/.well-known/est";
inline constexpr std::string_view kWellKnownBrskiRoot = "/.well-known/brski";

struct RouteConfig {
    std::vector<std::string> est_roots;    // extra roots such as "/est"; "/.well-known/est" is always served
    std::vector<std::string> brski_roots;  // extra roots such as "/b"; "/.well-known/brski" is always served
    std::size_t max_body = 16384;          // largest reassembled request payload; beyond it 4.13 + Size1
    std::vector<Operation> disabled;       // optional functions not offered: their paths answer 4.04
    std::vector<std::string> labels;       // CA labels served under every EST root; any other answers 4.04
};

// Checks a configuration before it is used:
// - every root starts with '/', has no empty segment (so no "//" and no trailing '/'), and its segments are
//   unreserved URI characters other than "." and ".." (no percent-encoding: Uri-Path options carry decoded
//   segments, so a configured root is compared segment by segment as written);
// - no root equals or is nested inside another, across both families and the well-known roots: "/est" next
//   to "/est/v2" would make "/est/v2/crts" mean either "root /est, label v2" or "root /est/v2, no label";
// - no root is /.well-known/core, which discovery owns;
// - RFC 9148 §4.1 mandatory EST functions (crts, sen, sren) cannot be disabled;
// - every label passes is_valid_label;
// - max_body is not 0.
// Repeated roots, disabled operations and labels are merged. Errors are Status::BadRequest naming the entry.
Result<RouteConfig> validate_route_config(RouteConfig config);

// A root string split into its segments: "/.well-known/est" → {".well-known", "est"}. Validates as above.
Result<std::vector<std::string>> split_root(std::string_view root);

// RFC 7030 §3.2.2 arbitrary label. Our rules: 1 to kMaxLabelLength characters from the RFC 3986 unreserved
// set (ALPHA DIGIT - . _ ~), not "." or "..", and never equal, ignoring ASCII case, to an operation name of
// either protocol: the CoAP short names (crts, sen, ..., rv, vs, es) or the HTTP names (cacerts,
// simpleenroll, ..., fullcmc, requestvoucher, ...). Comparing without case is stricter than RFC 7030 asks;
// it keeps a label from being mistaken for an operation by an upstream with case-insensitive paths.
// 64 is our choice (RFC 9148 §4.1 only asks for short labels; each byte costs on a 6LoWPAN frame).
inline constexpr std::size_t kMaxLabelLength = 64;
bool is_valid_label(std::string_view label);

// RFC 7030 §3.2.2 leaves the labels to the server: a request may name one of config.labels or none (an empty
// `label`); any other is Status::NotFound naming it. Both fronts' path parsers (parse_path for CoAP,
// from_http_request for HTTPS) check here, so that the two serve the same labels.
Result<void> check_label(std::string_view label, const RouteConfig& config);

struct Route {
    const Resource* resource = nullptr;  // never null in a successful result
    std::string label;                   // empty when the path has none
};

// Resolves Uri-Path segments. Unknown path, invalid or unknown label (check_label) or a disabled function:
// Status::NotFound with a diagnostic saying which. `config` must have passed validate_route_config.
Result<Route> parse_path(const std::vector<std::string>& segments, const RouteConfig& config);

// Uri-Path-Abbrev (draft-ietf-core-uri-path-abbrev, option 13; cBRSKI §6.5.3 registrars MUST support it).
inline constexpr unsigned kUriPathAbbrevOption = 13;
// The well-known path an abbreviation stands for: 301 → {".well-known", "est", "crts"}. An unknown value is
// Status::BadOption (4.02, not 4.04: the option itself is bad, not the resource).
Result<std::vector<std::string>> expand_uri_path_abbrev(unsigned value);

}  // namespace estgw::mapping
