// Plain HTTP/1.1 messages as the mapping layer sees them: no sockets, no cpp-httplib types. The gateway's
// I/O layer copies these to and from its HTTP client; tests and fuzzers build them directly.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace estgw::mapping {

struct HttpHeader {
    std::string name;
    std::string value;
};

// Header field names are case-insensitive (RFC 9110 §5.1); ASCII only, so no locale is involved.
inline bool header_name_equals(std::string_view a, std::string_view b) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [&](char x, char y) { return lower(x) == lower(y); });
}

// The value of the first header called `name`, if any.
inline std::optional<std::string> find_header(const std::vector<HttpHeader>& headers, std::string_view name) {
    for (const auto& h : headers) {
        if (header_name_equals(h.name, name)) return h.value;
    }
    return std::nullopt;
}

struct HttpRequest {
    std::string method;  // "GET" or "POST"
    std::string path;    // absolute path, percent-encoded: "/.well-known/est/label/simpleenroll"
    std::vector<HttpHeader> headers;
    std::string body;

    std::optional<std::string> header(std::string_view name) const { return find_header(headers, name); }
};

struct HttpResponse {
    int status = 0;
    std::vector<HttpHeader> headers;
    std::string body;

    std::optional<std::string> header(std::string_view name) const { return find_header(headers, name); }
};

}  // namespace estgw::mapping
