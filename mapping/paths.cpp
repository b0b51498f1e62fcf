#include "mapping/paths.hpp"

#include <algorithm>
#include <array>

namespace estgw::mapping {

namespace {

// Operation names that are not rows of the resource table but still may not be labels: RFC 7030 §3.2.2
// fullcmc (not offered over CoAP, RFC 9148 §4.1) and RFC 8995 §5.8 requestauditlog (registrar → MASA only).
constexpr std::array<std::string_view, 2> kReservedNamesOutsideTable = {"fullcmc", "requestauditlog"};

// Uri-Path-Abbrev values (draft-ietf-core-uri-path-abbrev; digest §3). None of these numbers is final.
struct Abbreviation {
    unsigned value;
    Family family;
    std::string_view short_name;
};
// clang-format off
constexpr std::array kAbbreviations = {
    Abbreviation{301, Family::Est,   "crts"},
    Abbreviation{302, Family::Est,   "sen"},
    Abbreviation{303, Family::Est,   "sren"},
    Abbreviation{304, Family::Est,   "skg"},
    Abbreviation{305, Family::Est,   "skc"},
    Abbreviation{306, Family::Est,   "att"},
    Abbreviation{401, Family::Brski, "es"},
    Abbreviation{402, Family::Brski, "rv"},
    Abbreviation{403, Family::Brski, "vs"},
};
// clang-format on

bool is_unreserved(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

bool is_plain_segment(std::string_view s) {
    return !s.empty() && s != "." && s != ".." && std::all_of(s.begin(), s.end(), is_unreserved);
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return lower(x) == lower(y); });
}

bool is_operation_name(std::string_view name) {
    for (const auto& r : resources()) {
        if (equals_ignoring_case(name, r.short_name) || equals_ignoring_case(name, r.http_name)) return true;
    }
    return std::any_of(kReservedNamesOutsideTable.begin(), kReservedNamesOutsideTable.end(),
                       [&](std::string_view reserved) { return equals_ignoring_case(name, reserved); });
}

std::string_view family_root(Family family) {
    return family == Family::Est ? kWellKnownEstRoot : kWellKnownBrskiRoot;
}

// True when `prefix` is a segment-wise prefix of (or equal to) `path`.
bool starts_with_segments(const std::vector<std::string>& path, const std::vector<std::string>& prefix) {
    return prefix.size() <= path.size() && std::equal(prefix.begin(), prefix.end(), path.begin());
}

std::string join_path(const std::vector<std::string>& segments) {
    if (segments.empty()) return "/";
    std::string out;
    for (const auto& s : segments) {
        out += '/';
        out += s;
    }
    return out;
}

template <class T>
void remove_duplicates(std::vector<T>& v) {
    std::vector<T> unique;
    for (auto& item : v) {
        if (std::find(unique.begin(), unique.end(), item) == unique.end()) unique.push_back(std::move(item));
    }
    v = std::move(unique);
}

struct Root {
    Family family;
    std::vector<std::string> segments;
};

// The well-known roots first, then the configured ones; roots already validated.
std::vector<Root> all_roots(const RouteConfig& config) {
    std::vector<Root> roots;
    auto add = [&](Family family, std::string_view root) {
        auto segments = split_root(root);
        if (segments.ok()) roots.push_back(Root{family, std::move(segments).value()});
    };
    add(Family::Est, kWellKnownEstRoot);
    add(Family::Brski, kWellKnownBrskiRoot);
    for (const auto& r : config.est_roots)
        add(Family::Est, r);
    for (const auto& r : config.brski_roots)
        add(Family::Brski, r);
    return roots;
}

}  // namespace

Result<std::vector<std::string>> split_root(std::string_view root) {
    if (root.empty() || root.front() != '/') {
        return make_error(Status::BadRequest, "root \"" + std::string(root) + "\" must start with '/'");
    }
    std::vector<std::string> segments;
    std::string_view rest = root.substr(1);
    while (true) {
        std::size_t slash = rest.find('/');
        std::string_view segment = rest.substr(0, slash);
        if (segment.empty()) {
            return make_error(Status::BadRequest, "root \"" + std::string(root) +
                                                      "\" has an empty segment (\"//\" or a trailing '/')");
        }
        if (!is_plain_segment(segment)) {
            return make_error(Status::BadRequest,
                              "root \"" + std::string(root) + "\" segment \"" + std::string(segment) +
                                  "\" must be unreserved URI characters, not \".\" or \"..\"");
        }
        segments.emplace_back(segment);
        if (slash == std::string_view::npos) break;
        rest = rest.substr(slash + 1);
    }
    return segments;
}

Result<RouteConfig> validate_route_config(RouteConfig config) {
    remove_duplicates(config.est_roots);
    remove_duplicates(config.brski_roots);
    remove_duplicates(config.disabled);
    remove_duplicates(config.labels);
    // A configured root equal to the well-known one of its own family adds nothing.
    std::erase(config.est_roots, std::string(kWellKnownEstRoot));
    std::erase(config.brski_roots, std::string(kWellKnownBrskiRoot));

    std::vector<std::pair<std::string, std::vector<std::string>>> roots;
    auto check = [&](const std::string& root) -> Result<void> {
        ESTGW_TRY(segments, split_root(root));
        if (segments == std::vector<std::string>{".well-known", "core"}) {
            return make_error(Status::BadRequest,
                              "root \"" + root + "\" is reserved for discovery (RFC 6690)");
        }
        for (const auto& [other, other_segments] : roots) {
            if (starts_with_segments(segments, other_segments) ||
                starts_with_segments(other_segments, segments)) {
                return make_error(Status::BadRequest, "root \"" + root + "\" overlaps root \"" + other +
                                                          "\": a path under both would be ambiguous");
            }
        }
        roots.emplace_back(root, std::move(segments));
        return {};
    };
    for (std::string_view fixed : {kWellKnownEstRoot, kWellKnownBrskiRoot}) {
        if (auto r = check(std::string(fixed)); !r) return r.error();
    }
    for (const auto* list : {&config.est_roots, &config.brski_roots}) {
        for (const auto& root : *list) {
            if (auto r = check(root); !r) return r.error();
        }
    }
    for (Operation op : config.disabled) {
        const Resource& r = resource_for(op);
        if (r.family == Family::Est && r.mandatory) {
            return make_error(Status::BadRequest, "/" + std::string(r.short_name) +
                                                      " is mandatory (RFC 9148 §4.1) and cannot be disabled");
        }
    }
    for (const std::string& label : config.labels) {
        if (!is_valid_label(label)) {
            return make_error(Status::BadRequest, "label \"" + label +
                                                      "\" is not valid (RFC 7030 §3.2.2: 1-" +
                                                      std::to_string(kMaxLabelLength) +
                                                      " unreserved characters, not an operation name)");
        }
    }
    if (config.max_body == 0) return make_error(Status::BadRequest, "max_body must be at least 1 byte");
    return config;
}

bool is_valid_label(std::string_view label) {
    return label.size() <= kMaxLabelLength && is_plain_segment(label) && !is_operation_name(label);
}

Result<void> check_label(std::string_view label, const RouteConfig& config) {
    if (label.empty() ||
        std::find(config.labels.begin(), config.labels.end(), label) != config.labels.end()) {
        return {};
    }
    return make_error(Status::NotFound,
                      "unknown label \"" + std::string(label) + "\": not a CA label this server serves");
}

Result<Route> parse_path(const std::vector<std::string>& segments, const RouteConfig& config) {
    const std::string path = join_path(segments);
    for (const Root& root : all_roots(config)) {
        if (!starts_with_segments(segments, root.segments)) continue;
        // Roots never nest (validate_route_config), so the first matching root is the only one.
        const std::size_t rest = segments.size() - root.segments.size();
        const std::size_t max_rest = root.family == Family::Est ? 2 : 1;  // only EST paths carry a label
        if (rest == 0 || rest > max_rest) {
            return make_error(Status::NotFound, "no resource at " + path);
        }
        const std::string& short_name = segments.back();
        const Resource* resource = find_resource_by_short_name(root.family, short_name);
        if (resource == nullptr) {
            return make_error(Status::NotFound, "no resource \"" + short_name + "\" under " +
                                                    std::string(family_root(root.family)) + " (path " + path +
                                                    ")");
        }
        std::string label = rest == 2 ? segments[segments.size() - 2] : std::string();
        if (rest == 2 && !is_valid_label(label)) {
            return make_error(Status::NotFound, "invalid label \"" + label + "\" in " + path +
                                                    " (RFC 7030 §3.2.2: 1-" +
                                                    std::to_string(kMaxLabelLength) +
                                                    " unreserved characters, not an operation name)");
        }
        if (auto served = check_label(label, config); !served) return served.error();
        if (std::find(config.disabled.begin(), config.disabled.end(), resource->op) !=
            config.disabled.end()) {
            return make_error(Status::NotFound, "/" + short_name + " is not offered by this server");
        }
        return Route{resource, std::move(label)};
    }
    return make_error(Status::NotFound, "no resource at " + path);
}

Result<std::vector<std::string>> expand_uri_path_abbrev(unsigned value) {
    for (const auto& a : kAbbreviations) {
        if (a.value != value) continue;
        auto segments = split_root(family_root(a.family));
        std::vector<std::string> path = std::move(segments).value();
        path.emplace_back(a.short_name);
        return path;
    }
    return make_error(Status::BadOption, "unknown Uri-Path-Abbrev value " + std::to_string(value));
}

}  // namespace estgw::mapping
