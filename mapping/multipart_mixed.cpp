#include "mapping/multipart_mixed.hpp"

#include <algorithm>

#include "mapping/content_format.hpp"

namespace estgw::mapping {

namespace {

constexpr std::size_t kMaxBoundaryLength = 70;  // RFC 2046 §5.1.1

Error fail(std::string message) {
    return make_error(Status::UpstreamFailed, "multipart/mixed: " + std::move(message));
}

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim_blanks(std::string_view s) {
    while (!s.empty() && is_blank(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_blank(s.back()))
        s.remove_suffix(1);
    return s;
}

// RFC 2046 §5.1.1: bchars := bcharsnospace / " "
bool is_bchar(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

// RFC 5322 §3.6.8: field-name = 1*ftext, printable US-ASCII except ':'.
bool is_field_name(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= 33 && c <= 126 && c != ':'; });
}

struct Delimiter {
    std::size_t content_end;  // where the part before this delimiter ends (its line break excluded)
    std::size_t next;         // first byte after the delimiter line
    bool close;               // "--boundary--"
};

// The first delimiter line at or after `part_start`, which is the start of a line. A candidate line that
// starts with "--boundary" but goes on with anything other than "--" or transport padding and a line
// break is content, not a delimiter (RFC 2046 §5.1.1 compares the boundary with the start of each line).
std::optional<Delimiter> find_delimiter(std::string_view body, std::string_view dash_boundary,
                                        std::size_t part_start) {
    for (std::size_t line = part_start; line < body.size();) {
        if (body.substr(line).starts_with(dash_boundary)) {
            std::size_t q = line + dash_boundary.size();
            std::size_t content_end = line;
            if (line > part_start) {
                content_end = line - 1;  // the LF before the delimiter belongs to it, and so does a CR
                if (content_end > part_start && body[content_end - 1] == '\r') --content_end;
            }
            if (body.substr(q).starts_with("--")) return Delimiter{content_end, q + 2, true};
            while (q < body.size() && is_blank(body[q]))
                ++q;
            if (body.substr(q).starts_with("\r\n")) return Delimiter{content_end, q + 2, false};
            if (body.substr(q).starts_with("\n")) return Delimiter{content_end, q + 1, false};
        }
        std::size_t lf = body.find('\n', line);
        if (lf == std::string_view::npos) break;
        line = lf + 1;
    }
    return std::nullopt;
}

// body-part := MIME-part-headers [CRLF *OCTET] (RFC 2046 §5.1.1)
Result<MimePart> parse_part(std::string_view content, std::size_t index) {
    MimePart part;
    std::size_t i = 0;
    while (i < content.size()) {
        std::size_t lf = content.find('\n', i);
        std::size_t next = lf == std::string_view::npos ? content.size() : lf + 1;
        std::string_view line = content.substr(i, next - i);
        if (line.ends_with('\n')) line.remove_suffix(1);
        if (line.ends_with('\r')) line.remove_suffix(1);
        i = next;
        if (line.empty()) {
            part.body = std::string(content.substr(i));
            return part;
        }
        if (is_blank(line.front())) {  // obsolete line folding (RFC 5322 §2.2.3)
            if (part.headers.empty())
                return fail("part " + std::to_string(index) + " starts with a folded line");
            std::string_view more = trim_blanks(line);
            std::string& value = part.headers.back().value;
            if (!more.empty()) value += (value.empty() ? "" : " ") + std::string(more);
            continue;
        }
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos || !is_field_name(line.substr(0, colon))) {
            return fail("part " + std::to_string(index) + " has a malformed header line");
        }
        part.headers.push_back(
            HttpHeader{std::string(line.substr(0, colon)), std::string(trim_blanks(line.substr(colon + 1)))});
    }
    return part;  // headers only, no body
}

}  // namespace

Result<std::string> multipart_boundary(std::string_view content_type) {
    auto mt = parse_media_type(content_type);
    if (!mt || mt->type != "multipart/mixed") {
        return fail("Content-Type \"" + std::string(content_type.substr(0, 100)) +
                    "\" is not multipart/mixed");
    }
    auto boundary = mt->param("boundary");
    if (!boundary) return fail("Content-Type has no boundary parameter");
    if (boundary->empty() || boundary->size() > kMaxBoundaryLength || boundary->back() == ' ' ||
        !std::all_of(boundary->begin(), boundary->end(), is_bchar)) {
        return fail("boundary is not 1..70 characters from the RFC 2046 set");
    }
    return *boundary;
}

Result<std::vector<MimePart>> parse_multipart_body(std::string_view body, std::string_view boundary) {
    const std::string dash_boundary = "--" + std::string(boundary);
    auto delimiter = find_delimiter(body, dash_boundary, 0);  // everything before it is preamble
    if (!delimiter) return fail("no delimiter line for the boundary");
    if (delimiter->close) return fail("no body parts");
    std::vector<MimePart> parts;
    while (true) {
        std::size_t start = delimiter->next;
        delimiter = find_delimiter(body, dash_boundary, start);
        if (!delimiter) return fail("missing close delimiter \"" + dash_boundary + "--\"");
        auto part = parse_part(body.substr(start, delimiter->content_end - start), parts.size());
        if (!part) return part.error();
        parts.push_back(std::move(part).value());
        if (delimiter->close) return parts;  // the epilogue is ignored
    }
}

Result<std::vector<MimePart>> parse_multipart_mixed(std::string_view content_type, std::string_view body) {
    auto boundary = multipart_boundary(content_type);
    if (!boundary) return boundary.error();
    return parse_multipart_body(body, *boundary);
}

std::string encode_multipart_mixed(const std::vector<MimePart>& parts, std::string_view boundary) {
    std::string out;
    for (const auto& part : parts) {
        out += "--";
        out += boundary;
        out += "\r\n";
        for (const auto& h : part.headers) {
            out += h.name + ": " + h.value + "\r\n";
        }
        out += "\r\n";
        out += part.body;
        out += "\r\n";
    }
    out += "--";
    out += boundary;
    out += "--\r\n";
    return out;
}

}  // namespace estgw::mapping
