#include "mapping/link_format.hpp"

#include <algorithm>
#include <array>

#include "mapping/content_format.hpp"
#include "mapping/resources.hpp"

namespace estgw::mapping {

namespace {

// rt of the base resources (cBRSKI §15.1).
constexpr std::string_view kEstBaseRt = "ace.est";
constexpr std::string_view kBrskiBaseRt = "brski";

// Attributes whose value is a space-separated list (RFC 6690 §3.1–3.3 rt/if, RFC 8288 rel, RFC 7252 §7.2.1
// ct).
constexpr std::array<std::string_view, 4> kMultiValued = {"rt", "if", "rel", "ct"};

char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return ascii_lower(x) == ascii_lower(y);
           });
}

bool is_alnum(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// RFC 6690 §2 parmname: ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
bool is_parmname_char(char c) {
    return is_alnum(c) || std::string_view("!#$&+-.^_`|~").find(c) != std::string_view::npos;
}

// RFC 6690 §2 ptokenchar.
bool is_ptoken_char(char c) {
    return is_alnum(c) || std::string_view("!#$%&'()*+-./:<=>?@[]^_`{|}~").find(c) != std::string_view::npos;
}

// URI-Reference characters (RFC 3986 §2: unreserved, reserved, '%'); '<' and '>' are not among them.
bool is_uri_char(char c) {
    return is_alnum(c) || std::string_view("-._~:/?#[]@!$&'()*+,;=%").find(c) != std::string_view::npos;
}

bool is_control(char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool is_ptoken(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), is_ptoken_char);
}

std::string ct_list(std::span<const ContentFormat> formats) {
    std::string out;
    for (ContentFormat f : formats) {
        if (!out.empty()) out += ' ';
        out += std::to_string(content_format_number(f));
    }
    return out;
}

std::string root_of(const DiscoveryConfig& config, Family family) {
    return family == Family::Est ? config.est_root : config.brski_root;
}

// ---- filtering ----

bool value_matches(std::string_view value, std::string_view pattern) {
    if (!pattern.empty() && pattern.back() == '*') {
        pattern.remove_suffix(1);
        return value.substr(0, pattern.size()) == pattern;
    }
    return value == pattern;
}

bool param_matches(const Link& link, std::string_view query_param) {
    const std::size_t eq = query_param.find('=');
    if (eq == std::string_view::npos) return false;
    const std::string_view name = query_param.substr(0, eq);
    const std::string_view pattern = query_param.substr(eq + 1);
    if (equals_ignoring_case(name, "href")) return value_matches(link.target, pattern);
    const bool multi = std::any_of(kMultiValued.begin(), kMultiValued.end(),
                                   [&](std::string_view m) { return equals_ignoring_case(name, m); });
    for (const LinkParam& p : link.params) {
        if (!equals_ignoring_case(p.name, name)) continue;
        const std::string_view value = p.value ? std::string_view(*p.value) : std::string_view();
        if (!multi) {
            if (value_matches(value, pattern)) return true;
            continue;
        }
        std::size_t start = 0;
        while (start <= value.size()) {
            const std::size_t space = std::min(value.find(' ', start), value.size());
            if (value_matches(value.substr(start, space - start), pattern)) return true;
            start = space + 1;
        }
    }
    return false;
}

// ---- parsing ----

class Parser {
  public:
    explicit Parser(std::string_view text) : s_(text) {}

    Result<std::vector<Link>> parse() {
        std::vector<Link> links;
        skip_space();
        if (at_end()) return links;
        while (true) {
            ESTGW_TRY(link, parse_link());
            links.push_back(std::move(link));
            skip_space_at_end();
            if (at_end()) return links;
            if (peek() != ',') return fail("expected ',' or end of input");
            ++i_;
            skip_space();
            if (at_end()) return fail("expected a link after ','");
        }
    }

  private:
    Result<Link> parse_link() {
        if (peek() != '<') return fail("expected '<'");
        ++i_;
        const std::size_t start = i_;
        while (!at_end() && is_uri_char(peek()))
            ++i_;
        if (at_end() || peek() != '>') return fail("expected '>' closing the link target");
        Link link;
        link.target = std::string(s_.substr(start, i_ - start));
        ++i_;
        while (!at_end() && peek() == ';') {
            ++i_;
            ESTGW_TRY(param, parse_param());
            link.params.push_back(std::move(param));
        }
        return link;
    }

    Result<LinkParam> parse_param() {
        const std::size_t start = i_;
        while (!at_end() && is_parmname_char(peek()))
            ++i_;
        if (i_ == start) return fail("expected a parameter name");
        LinkParam param;
        param.name = std::string(s_.substr(start, i_ - start));
        if (at_end() || peek() != '=') return param;
        ++i_;
        if (!at_end() && peek() == '"') {
            param.quoted = true;
            ESTGW_TRY(value, parse_quoted());
            param.value = std::move(value);
            return param;
        }
        const std::size_t value_start = i_;
        while (!at_end() && is_ptoken_char(peek()))
            ++i_;
        if (i_ == value_start) return fail("expected a parameter value");
        param.value = std::string(s_.substr(value_start, i_ - value_start));
        return param;
    }

    // RFC 9110 §5.6.4 quoted-string: qdtext and quoted-pair, neither of which may be a control character
    // (so every value we parse can be written back: format_links escapes only '"' and '\\').
    Result<std::string> parse_quoted() {
        ++i_;  // the opening '"'
        std::string value;
        while (!at_end()) {
            char c = peek();
            if (c == '"') {
                ++i_;
                return value;
            }
            if (c == '\\') {
                ++i_;
                if (at_end()) break;
                c = peek();
            }
            if (is_control(c)) return fail("control character in a quoted value");
            value.push_back(c);
            ++i_;
        }
        return fail("unterminated quoted value");
    }

    void skip_space() {
        while (!at_end() && is_space(peek()))
            ++i_;
    }
    // Trailing white space is accepted only when nothing but white space follows.
    void skip_space_at_end() {
        std::size_t j = i_;
        while (j < s_.size() && is_space(s_[j]))
            ++j;
        if (j == s_.size()) i_ = j;
    }
    bool at_end() const { return i_ >= s_.size(); }
    char peek() const { return s_[i_]; }
    Error fail(std::string_view what) const {
        return make_error(Status::BadRequest,
                          "link-format: " + std::string(what) + " at offset " + std::to_string(i_));
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

void append_quoted(std::string& out, std::string_view value) {
    out += '"';
    for (char c : value) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
}

}  // namespace

std::optional<std::string> Link::attribute(std::string_view name) const {
    for (const LinkParam& p : params) {
        if (equals_ignoring_case(p.name, name)) return p.value;
    }
    return std::nullopt;
}

std::vector<Link> discovery_links(const DiscoveryConfig& config) {
    const std::string prefix = config.authority.empty() ? std::string() : "coaps://" + config.authority;
    std::vector<Link> links;
    auto add_base = [&](Family family, std::string_view rt) {
        if (!config.include_base_links) return;
        links.push_back(Link{prefix + root_of(config, family), {LinkParam{"rt", std::string(rt), true}}});
    };
    auto add_resources = [&](Family family, const std::string& path_prefix) {
        for (const Resource& r : resources()) {
            if (r.family != family) continue;
            if (std::find(config.enabled.begin(), config.enabled.end(), r.op) == config.enabled.end())
                continue;
            // vs and es answer without payload; their ct tells what they take (cBRSKI §6.5).
            const auto formats = r.response_formats.empty() ? r.request_formats : r.response_formats;
            links.push_back(Link{prefix + path_prefix + "/" + std::string(r.short_name),
                                 {LinkParam{"rt", std::string(r.rt), true},
                                  LinkParam{"ct", ct_list(formats), formats.size() > 1}}});
        }
    };
    add_base(Family::Est, kEstBaseRt);
    add_resources(Family::Est, config.est_root);
    for (const std::string& label : config.labels)
        add_resources(Family::Est, config.est_root + "/" + label);
    if (config.include_brski) {
        add_base(Family::Brski, kBrskiBaseRt);
        add_resources(Family::Brski, config.brski_root);
    }
    return links;
}

std::string format_links(const std::vector<Link>& links) {
    std::string out;
    for (const Link& link : links) {
        if (!out.empty()) out += ',';
        out += '<';
        out += link.target;
        out += '>';
        for (const LinkParam& p : link.params) {
            out += ';';
            out += p.name;
            if (!p.value) continue;
            out += '=';
            if (p.quoted || !is_ptoken(*p.value)) {
                append_quoted(out, *p.value);
            } else {
                out += *p.value;
            }
        }
    }
    return out;
}

bool link_matches(const Link& link, const std::vector<std::string>& query) {
    return std::all_of(query.begin(), query.end(),
                       [&](const std::string& q) { return param_matches(link, q); });
}

std::vector<Link> filter_links(const std::vector<Link>& links, const std::vector<std::string>& query) {
    std::vector<Link> out;
    std::copy_if(links.begin(), links.end(), std::back_inserter(out),
                 [&](const Link& link) { return link_matches(link, query); });
    return out;
}

std::string discovery_payload(const DiscoveryConfig& config, const std::vector<std::string>& query) {
    return format_links(filter_links(discovery_links(config), query));
}

std::vector<std::string> split_query(std::string_view query) {
    std::vector<std::string> out;
    while (true) {
        const std::size_t amp = query.find('&');
        if (std::string_view piece = query.substr(0, amp); !piece.empty()) out.emplace_back(piece);
        if (amp == std::string_view::npos) return out;
        query.remove_prefix(amp + 1);
    }
}

Result<std::vector<Link>> parse_link_format(std::string_view text) {
    return Parser(text).parse();
}

}  // namespace estgw::mapping
