// CoRE Link Format (RFC 6690) for /.well-known/core: what the gateway advertises (RFC 9148 §4.1, cBRSKI
// §15.1 and App. E; digest §3), query filtering (RFC 6690 §4.1), and a strict parser for what a server
// advertises (the pledge client's --discover; fuzzed).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/est.hpp"
#include "common/result.hpp"
#include "mapping/paths.hpp"

namespace estgw::mapping {

struct LinkParam {
    std::string name;                  // as written; attribute names compare ignoring ASCII case
    std::optional<std::string> value;  // absent for a bare parameter such as "obs"; quotes removed
    bool quoted = false;               // written as a quoted-string
    bool operator==(const LinkParam&) const = default;
};

struct Link {
    std::string target;  // the URI-Reference between '<' and '>'
    std::vector<LinkParam> params;
    // Value of the first parameter called `name` (ASCII case-insensitive); nullopt when absent or bare.
    std::optional<std::string> attribute(std::string_view name) const;
    bool operator==(const Link&) const = default;
};

// What /.well-known/core advertises.
struct DiscoveryConfig {
    std::string est_root{kWellKnownEstRoot};      // root to advertise, e.g. "/est"
    std::string brski_root{kWellKnownBrskiRoot};  // e.g. "/b"
    std::vector<std::string> labels;  // each gets a full set of EST links (validated by the caller)
    std::string
        authority;  // non-empty: absolute links "coaps://<authority><path>", e.g. "[2001:db8::1]:61617"
    std::vector<Operation> enabled = {
        Operation::CaCerts,        Operation::SimpleEnroll,  Operation::SimpleReenroll,
        Operation::CsrAttrs,       Operation::ServerKeyGen,  Operation::ServerKeyGenCert,
        Operation::RequestVoucher, Operation::VoucherStatus, Operation::EnrollStatus,
    };
    bool include_brski = false;      // advertise the BRSKI resources (registrar)
    bool include_base_links = true;  // </est>;rt="ace.est" and </b>;rt="brski" (cBRSKI §15.1)
};

// The links, in this order: the EST base resource, each enabled EST resource in resource-table order
// (crts, sen, sren, att, skg, skc, as RFC 9148 §4.1 lists them), the same resources under each label, then
// the BRSKI base and resources when include_brski. Each resource link carries rt="<rt>" and ct: its response
// formats (the values a client may put in Accept, RFC 9148 §4.1), or its request formats when it answers
// without payload (vs, es: ct="60 50"); quoted and space-separated when several, bare when one.
std::vector<Link> discovery_links(const DiscoveryConfig& config);

// Serialises links separated by "," (no white space), quoting values that were quoted or that are not a
// ptoken (RFC 6690 §2).
std::string format_links(const std::vector<Link>& links);

// RFC 6690 §4.1 filtering. Each query parameter is "name=pattern"; a pattern ending in '*' is a prefix match,
// anything else an exact match. "href" matches the link target; any other name matches the link's attribute
// of that name (ASCII case-insensitive). The values of rt, if, rel and ct are space-separated lists, and a
// link matches when any one value does. Our decisions where RFC 6690 is silent:
// - several parameters must all match (AND, as Resource Directory lookups combine them, RFC 9176);
// - a parameter without '=', or naming an attribute a link lacks, matches no link. The answer is then
//   2.05 with an empty payload rather than 4.04: the discovery resource itself exists.
bool link_matches(const Link& link, const std::vector<std::string>& query);
std::vector<Link> filter_links(const std::vector<Link>& links, const std::vector<std::string>& query);

// The 2.05 payload (CF 40) for GET /.well-known/core with these Uri-Query options.
std::string discovery_payload(const DiscoveryConfig& config, const std::vector<std::string>& query);

// "rt=ace.est*&ct=281" → {"rt=ace.est*", "ct=281"}: a URI query string as Uri-Query options (RFC 7252
// §6.4 step 8), empty pieces dropped. No percent-decoding: our attribute values never need it.
std::vector<std::string> split_query(std::string_view query);

// Parses application/link-format (RFC 6690 §2): links "<uri>" each followed by ";name", ";name=ptoken" or
// ";name=\"quoted\"", separated by ",". White space (including CR/LF) is accepted only after a comma and
// around the whole document. Empty input is an empty list. Anything else is Status::BadRequest naming the
// offset.
Result<std::vector<Link>> parse_link_format(std::string_view text);

}  // namespace estgw::mapping
