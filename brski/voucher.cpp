#include "brski/voucher.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>
#include <variant>

#include "common/cbor.hpp"

namespace estgw::brski {

namespace {

// RFC 9254 §3.2: an absolute SID may stand anywhere a delta may, wrapped in tag 47.
constexpr std::uint64_t kTagSid = 47;
// Constrained-voucher drafts -00 to -05 (before 2019) numbered the tree in this experimental range
// (container 1001104). Nothing has spoken it since; a payload using it comes from a stale implementation.
constexpr std::uint64_t kLegacyFirst = 1001100;
constexpr std::uint64_t kLegacyLast = 1001150;
// A leaf that one tree does not have.
constexpr std::uint64_t kNone = 0;

// The CBOR form of each YANG type (RFC 9254 §6): enumeration → uint (§6.6), string and yang:date-and-time
// → tstr, boolean → simple value, binary → bstr (§6.8), the extensions leaf-list → array of SIDs / names.
enum class Wire { Enum, Text, Bool, Bytes, SidList };

using Member = std::variant<std::optional<Assertion> Voucher::*, std::optional<std::string> Voucher::*,
                            std::optional<bool> Voucher::*, std::optional<Bytes> Voucher::*>;

// A length restriction of the YANG, for binary leaves.
struct Length {
    std::size_t min = 0;
    std::size_t max = std::numeric_limits<std::size_t>::max();
};

struct Leaf {
    std::string_view name;
    std::uint64_t voucher_sid;
    std::uint64_t request_sid;
    Wire wire;
    Length length;
    Member member;
};

// BRSKI.md §1.1 (8366bis §8–9): one row per leaf, SIDs as in the ietf-voucher and ietf-voucher-request SID
// files. The two trees number the later leaves differently, so each row carries both.
// clang-format off
constexpr std::array kLeaves = {
    //   name                               voucher  request  CBOR             length    member
    Leaf{"assertion",                       2452,    2502,    Wire::Enum,      {},       &Voucher::assertion},
    Leaf{"created-on",                      2453,    2503,    Wire::Text,      {},       &Voucher::created_on},
    Leaf{"domain-cert-revocation-checks",   2454,    2504,    Wire::Bool,      {},       &Voucher::domain_cert_revocation_checks},
    Leaf{"expires-on",                      2455,    2505,    Wire::Text,      {},       &Voucher::expires_on},
    Leaf{"idevid-issuer",                   2456,    2506,    Wire::Bytes,     {},       &Voucher::idevid_issuer},
    Leaf{"last-renewal-date",               2457,    2507,    Wire::Text,      {},       &Voucher::last_renewal_date},
    Leaf{"nonce",                           2458,    2508,    Wire::Bytes,     {8, 32},  &Voucher::nonce},
    Leaf{"pinned-domain-cert",              2459,    2509,    Wire::Bytes,     {},       &Voucher::pinned_domain_cert},
    Leaf{"pinned-domain-pubk",              2460,    2518,    Wire::Bytes,     {},       &Voucher::pinned_domain_pubk},
    Leaf{"pinned-domain-pubk-sha256",       2461,    2519,    Wire::Bytes,     {},       &Voucher::pinned_domain_pubk_sha256},
    Leaf{"serial-number",                   2462,    2514,    Wire::Text,      {},       &Voucher::serial_number},
    Leaf{"additional-configuration-url",    2463,    2520,    Wire::Text,      {},       &Voucher::additional_configuration_url},
    Leaf{"est-domain",                      2464,    2521,    Wire::Text,      {},       &Voucher::est_domain},
    Leaf{"manufacturer-proprietary",        2465,    2523,    Wire::Bytes,     {},       &Voucher::manufacturer_proprietary},
    Leaf{"extensions",                      2466,    2522,    Wire::SidList,   {},       &Voucher::extensions},
    Leaf{"prior-signed-voucher-request",    kNone,   2510,    Wire::Bytes,     {},       &Voucher::prior_signed_voucher_request},
    Leaf{"proximity-registrar-cert",        kNone,   2511,    Wire::Bytes,     {},       &Voucher::proximity_registrar_cert},
    Leaf{"proximity-registrar-pubk-sha256", kNone,   2512,    Wire::Bytes,     {},       &Voucher::proximity_registrar_pubk_sha256},
    Leaf{"proximity-registrar-pubk",        kNone,   2513,    Wire::Bytes,     {},       &Voucher::proximity_registrar_pubk},
};
// clang-format on

// Each CBOR form is read into and written from one C++ type; a row that paired them wrongly would be a
// bad cast at run time, so it is a compile error instead.
constexpr bool wire_matches_member(const Leaf& leaf) {
    switch (leaf.wire) {
        case Wire::Enum:
            return std::holds_alternative<std::optional<Assertion> Voucher::*>(leaf.member);
        case Wire::Text:
            return std::holds_alternative<std::optional<std::string> Voucher::*>(leaf.member);
        case Wire::Bool:
            return std::holds_alternative<std::optional<bool> Voucher::*>(leaf.member);
        case Wire::Bytes:
        case Wire::SidList:
            return std::holds_alternative<std::optional<Bytes> Voucher::*>(leaf.member);
    }
    return false;
}
static_assert(std::all_of(kLeaves.begin(), kLeaves.end(), wire_matches_member));

struct Tree {
    Kind kind;
    std::string_view label;  // for messages
    std::uint64_t sid;
    std::string_view name;  // the container's namespace-qualified name (RFC 9254 §3.3)
};

constexpr std::array kTrees = {
    Tree{Kind::Voucher, "voucher", kSidVoucher, "ietf-voucher:voucher"},
    Tree{Kind::VoucherRequest, "voucher request", kSidVoucherRequest, "ietf-voucher-request:voucher"},
};

const Tree& tree_of(Kind kind) {
    return kind == Kind::Voucher ? kTrees[0] : kTrees[1];
}

std::uint64_t sid_in(const Leaf& leaf, Kind kind) {
    return kind == Kind::Voucher ? leaf.voucher_sid : leaf.request_sid;
}

const Leaf* leaf_by_sid(Kind kind, std::uint64_t sid) {
    for (const Leaf& leaf : kLeaves) {
        if (sid_in(leaf, kind) != kNone && sid_in(leaf, kind) == sid) return &leaf;
    }
    return nullptr;
}

const Leaf* leaf_by_name(Kind kind, std::string_view name) {
    for (const Leaf& leaf : kLeaves) {
        if (sid_in(leaf, kind) != kNone && leaf.name == name) return &leaf;
    }
    return nullptr;
}

// Values and keys in messages and in `unknown`: a certificate would otherwise fill a log line.
std::string short_diagnostic(const cbor::Value& v) {
    constexpr std::size_t kMax = 64;
    std::string text = cbor::diagnostic(v);
    if (text.size() > kMax) text = text.substr(0, kMax) + "...";
    return text;
}

Error refused(const Tree& tree, const std::string& what) {
    return make_error(Status::BadRequest, std::string(tree.label) + ": " + what);
}

bool is_legacy(std::uint64_t sid) {
    return sid >= kLegacyFirst && sid <= kLegacyLast;
}

Error legacy_sid(const Tree& tree, std::uint64_t sid) {
    return refused(tree, "SID " + std::to_string(sid) +
                             " is from the pre-2019 experimental range 1001100-1001150 (constrained-voucher "
                             "drafts -00 to -05); this " +
                             std::string(tree.label) + " uses SID " + std::to_string(tree.sid) +
                             " and its deltas");
}

// The one check of a leaf's value, shared by decode() and encode() so that each accepts what the other
// produces.
Result<void> check_value(const Tree& tree, const Leaf& leaf, const cbor::Value& value) {
    const auto wrong_type = [&](const char* expected) {
        return refused(tree, "leaf \"" + std::string(leaf.name) + "\" must be " + expected + ", got " +
                                 short_diagnostic(value));
    };
    switch (leaf.wire) {
        case Wire::Enum:
            // RFC 9254 §6.6: the integer, never the enum's name, whichever form the keys take.
            if (!value.is_uint()) return wrong_type("an unsigned integer (enumeration)");
            if (value.as_uint() > static_cast<std::uint64_t>(Assertion::AgentProximity)) {
                return refused(tree,
                               "assertion " + std::to_string(value.as_uint()) +
                                   " is not one of 0 verified, 1 logged, 2 proximity, 3 agent-proximity");
            }
            return {};
        case Wire::Text:
            if (!value.is_text()) return wrong_type("a text string");
            if (invalid_utf8_at(as_bytes(value.as_text()))) {
                return refused(tree, "leaf \"" + std::string(leaf.name) + "\" is not valid UTF-8");
            }
            return {};
        case Wire::Bool:
            if (!value.is_bool()) return wrong_type("true or false");
            return {};
        case Wire::Bytes:
            if (!value.is_bytes()) return wrong_type("a byte string");
            if (value.as_bytes().size() < leaf.length.min || value.as_bytes().size() > leaf.length.max) {
                return refused(tree, "leaf \"" + std::string(leaf.name) + "\" must be " +
                                         std::to_string(leaf.length.min) + ".." +
                                         std::to_string(leaf.length.max) + " bytes, got " +
                                         std::to_string(value.as_bytes().size()));
            }
            return {};
        case Wire::SidList:
            // A leaf-list of identityrefs: each an absolute SID or a name (RFC 9254 §6.10).
            if (!value.is_array()) return wrong_type("an array of SIDs and names");
            for (const cbor::Value& item : value.as_array()) {
                if (!item.is_uint() && !item.is_text()) return wrong_type("an array of SIDs and names");
            }
            return {};
    }
    return {};
}

// ---------------------------------------------------------------------------------------------------------
// Decoding.

// How a key of the voucher container names a leaf: by absolute SID, or by simple name.
struct InnerKey {
    std::optional<std::uint64_t> sid;
    std::string name;
};

// RFC 9254 §3.2–3.3: a bare integer is a delta from the parent's SID (reference SID 0 under a name key,
// so then it is absolute); tag 47 wraps an absolute SID; text is a name.
Result<InnerKey> resolve_key(const Tree& tree, const cbor::Value& key, std::uint64_t parent_sid) {
    const auto not_a_sid = [&] {
        return refused(tree, "key " + short_diagnostic(key) + " does not give a SID" +
                                 (parent_sid != 0 ? " as a delta from " + std::to_string(parent_sid) : ""));
    };
    InnerKey out;
    if (key.is_text()) {
        out.name = key.as_text();
        return out;
    }
    if (key.is_tag()) {
        const cbor::Tagged& tagged = key.as_tag();
        if (tagged.tag != kTagSid || !tagged.value.is_uint()) {
            return refused(tree, "key " + short_diagnostic(key) + " is neither a SID nor a name");
        }
        out.sid = tagged.value.as_uint();
    } else if (key.is_uint()) {
        const std::uint64_t delta = key.as_uint();
        if (delta > std::numeric_limits<std::uint64_t>::max() - parent_sid) return not_a_sid();
        out.sid = parent_sid + delta;
    } else if (key.is_negative()) {
        // A negative delta is legal CBOR-YANG but names no leaf of ours; it may still name some SID.
        const auto delta = key.to_int64();
        if (!delta || parent_sid == 0 || static_cast<std::uint64_t>(-(*delta + 1)) >= parent_sid) {
            return not_a_sid();
        }
        out.sid = parent_sid - static_cast<std::uint64_t>(-(*delta + 1)) - 1;
    } else {
        return refused(tree, "key " + short_diagnostic(key) + " is neither a SID nor a name");
    }
    if (is_legacy(*out.sid)) return legacy_sid(tree, *out.sid);
    return out;
}

void store(const Leaf& leaf, const cbor::Value& value, Voucher& v) {
    std::visit(
        [&](auto member) {
            using T = typename std::remove_reference_t<decltype(v.*member)>::value_type;
            if constexpr (std::is_same_v<T, Assertion>) {
                v.*member = static_cast<Assertion>(value.as_uint());
            } else if constexpr (std::is_same_v<T, std::string>) {
                v.*member = value.as_text();
            } else if constexpr (std::is_same_v<T, bool>) {
                v.*member = value.as_bool();
            } else if (leaf.wire == Wire::SidList) {
                // Re-encoded, so that a list received with indefinite lengths compares and encodes like the
                // same list received definite.
                v.*member = cbor::encode(value);
            } else {
                v.*member = value.as_bytes();
            }
        },
        leaf.member);
}

// The outer map's single key: the container's SID (bare or tag 47) or its qualified name. Returns the
// reference SID for the keys inside it.
Result<std::uint64_t> outer_key(const Tree& expected, const cbor::Value& key) {
    const auto expected_text = std::to_string(expected.sid) + " or \"" + std::string(expected.name) + "\"";
    const Tree* found = nullptr;
    bool by_name = false;
    if (key.is_text()) {
        by_name = true;
        for (const Tree& tree : kTrees) {
            if (tree.name == key.as_text()) found = &tree;
        }
    } else {
        std::optional<std::uint64_t> sid;
        if (key.is_uint()) sid = key.as_uint();
        if (key.is_tag() && key.as_tag().tag == kTagSid && key.as_tag().value.is_uint()) {
            sid = key.as_tag().value.as_uint();
        }
        if (sid && is_legacy(*sid)) return legacy_sid(expected, *sid);
        for (const Tree& tree : kTrees) {
            if (sid && tree.sid == *sid) found = &tree;
        }
    }
    if (found == nullptr) {
        return refused(expected, "outer key " + short_diagnostic(key) + " is not " + expected_text);
    }
    if (found->kind != expected.kind) {
        return refused(expected, "outer key " + short_diagnostic(key) + " is the " +
                                     std::string(found->label) + " container, " + expected_text +
                                     " was expected");
    }
    return by_name ? 0 : expected.sid;
}

}  // namespace

std::string_view assertion_name(Assertion a) {
    switch (a) {
        case Assertion::Verified:
            return "verified";
        case Assertion::Logged:
            return "logged";
        case Assertion::Proximity:
            return "proximity";
        case Assertion::AgentProximity:
            return "agent-proximity";
    }
    return "unknown";
}

Result<Voucher> decode(Kind kind, ByteView payload, NonceLength nonce_length) {
    const Tree& tree = tree_of(kind);
    cbor::DecodeLimits limits;
    limits.allow_indefinite = true;  // RFC 9254 §3 (BRSKI.md §1.2)
    auto decoded = cbor::decode(payload, limits);
    if (!decoded) return refused(tree, decoded.error().message);
    const cbor::Value& top = *decoded;
    if (!top.is_map()) return refused(tree, "payload is " + short_diagnostic(top) + ", not a map");
    const cbor::Map& outer = top.as_map();
    if (outer.size() != 1) {
        return refused(tree, "the outer map must hold exactly one entry (the " + std::string(tree.label) +
                                 " container), it holds " + std::to_string(outer.size()));
    }
    ESTGW_TRY(parent_sid, outer_key(tree, outer.front().first));
    const cbor::Value& container = outer.front().second;
    if (!container.is_map()) {
        return refused(tree, "the " + std::string(tree.label) + " container must be a map, got " +
                                 short_diagnostic(container));
    }

    Voucher v;
    // How each leaf was keyed, to name both forms when one leaf comes twice (e.g. 7 and "nonce").
    std::array<std::optional<std::string>, kLeaves.size()> seen;
    for (const auto& [key, value] : container.as_map()) {
        ESTGW_TRY(resolved, resolve_key(tree, key, parent_sid));
        const Leaf* leaf =
            resolved.sid ? leaf_by_sid(kind, *resolved.sid) : leaf_by_name(kind, resolved.name);
        if (leaf == nullptr) {
            // RFC 8995 §5.6.1: ignored, but kept for the caller's log.
            const std::string where = resolved.sid ? std::to_string(*resolved.sid) : short_diagnostic(key);
            v.unknown.push_back(where + ": " + short_diagnostic(value));
            continue;
        }
        auto& first = seen[static_cast<std::size_t>(leaf - kLeaves.data())];
        if (first) {
            return refused(tree, "leaf \"" + std::string(leaf->name) + "\" given twice, as " + *first +
                                     " and as " + short_diagnostic(key));
        }
        first = short_diagnostic(key);
        const bool length_left_to_caller =
            nonce_length == NonceLength::Unchecked && leaf->name == "nonce" && value.is_bytes();
        if (!length_left_to_caller) {
            if (auto checked = check_value(tree, *leaf, value); !checked) return checked.error();
        }
        store(*leaf, value, v);
    }
    return v;
}

Result<Bytes> encode(Kind kind, const Voucher& v) {
    const Tree& tree = tree_of(kind);
    std::vector<std::pair<std::uint64_t, cbor::Value>> leaves;
    for (const Leaf& leaf : kLeaves) {
        std::optional<cbor::Value> value;
        Result<void> read = std::visit(
            [&](auto member) -> Result<void> {
                const auto& field = v.*member;
                if (!field) return {};
                using T = typename std::remove_reference_t<decltype(field)>::value_type;
                if constexpr (std::is_same_v<T, Assertion>) {
                    value = cbor::Value(static_cast<std::uint64_t>(*field));
                } else if constexpr (std::is_same_v<T, Bytes>) {
                    if (leaf.wire != Wire::SidList) {
                        value = cbor::Value(*field);
                        return {};
                    }
                    auto list = cbor::decode(*field);
                    if (!list) return refused(tree, "leaf \"extensions\": " + list.error().message);
                    value = std::move(*list);
                } else {
                    value = cbor::Value(*field);
                }
                return {};
            },
            leaf.member);
        if (!read) return read.error();
        if (!value) continue;
        const std::uint64_t sid = sid_in(leaf, kind);
        if (sid == kNone) {
            return refused(tree, "leaf \"" + std::string(leaf.name) + "\" does not exist in a " +
                                     std::string(tree.label) + " (" + std::string(tree.name) + ")");
        }
        if (auto checked = check_value(tree, leaf, *value); !checked) return checked.error();
        leaves.emplace_back(sid - tree.sid, std::move(*value));
    }
    // Delta keys ascending, as every cBRSKI example and as RFC 8949 §4.2.1 would sort them.
    std::sort(leaves.begin(), leaves.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    cbor::Map inner;
    for (auto& [delta, value] : leaves) {
        inner.emplace_back(cbor::Value(delta), std::move(value));
    }
    cbor::Map outer;
    outer.emplace_back(cbor::Value(tree.sid), cbor::Value(std::move(inner)));
    return cbor::encode(cbor::Value(std::move(outer)));
}

}  // namespace estgw::brski
