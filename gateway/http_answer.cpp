#include "gateway/http_answer.hpp"

#include <charconv>

namespace estgw::gateway {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

}  // namespace

std::optional<std::string> parse_answer_head(std::string_view text, AnswerHead& head) {
    std::size_t line_end = text.find("\r\n");
    std::string_view status_line = text.substr(0, line_end);
    if (status_line.substr(0, 7) != "HTTP/1." || status_line.size() < 12 || status_line[8] != ' ' ||
        (status_line.size() > 12 && status_line[12] != ' '))
        return "the answer does not start with an HTTP/1.x status line";
    head.http10 = status_line[7] == '0';
    int status = 0;
    auto [end, ec] = std::from_chars(status_line.data() + 9, status_line.data() + 12, status);
    if (ec != std::errc{} || end != status_line.data() + 12 || status < 100 || status > 999)
        return "the answer's status line has no valid status code";
    head.response.status = status;
    std::string_view rest =
        line_end == std::string_view::npos ? std::string_view{} : text.substr(line_end + 2);
    while (!rest.empty()) {
        std::size_t eol = rest.find("\r\n");
        std::string_view line = rest.substr(0, eol);
        rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 2);
        if (line.empty()) continue;
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) return "the answer has a malformed header line";
        std::string name(trim(line.substr(0, colon)));
        std::string value(trim(line.substr(colon + 1)));
        const std::string key = lower(name);
        if (key == "content-length") {
            std::size_t length = 0;
            auto [e, err] = std::from_chars(value.data(), value.data() + value.size(), length);
            if (err != std::errc{} || e != value.data() + value.size() ||
                (head.content_length && *head.content_length != length))
                return "the answer has an invalid Content-Length";
            head.content_length = length;
        } else if (key == "transfer-encoding") {
            head.chunked = lower(value).find("chunked") != std::string::npos;
        } else if (key == "connection") {
            const std::string v = lower(value);
            if (v.find("close") != std::string::npos) head.close = true;
            if (head.http10 && v.find("keep-alive") == std::string::npos) head.close = true;
        }
        head.response.headers.push_back({std::move(name), std::move(value)});
    }
    if (head.http10 && !mapping::find_header(head.response.headers, "Connection")) head.close = true;
    if (head.content_length && *head.content_length > kMaxBodyBytes) return "the answer's body is too large";
    return std::nullopt;
}

ChunkedBody decode_chunked(std::string_view data) {
    std::string body;
    std::size_t at = 0;
    while (true) {
        std::size_t eol = data.find("\r\n", at);
        if (eol == std::string_view::npos) return std::monostate{};
        std::string_view size_line = data.substr(at, eol - at);
        size_line = size_line.substr(0, size_line.find(';'));
        size_line = trim(size_line);
        std::size_t size = 0;
        auto [end, ec] = std::from_chars(size_line.data(), size_line.data() + size_line.size(), size, 16);
        if (ec != std::errc{} || end != size_line.data() + size_line.size() || size > kMaxBodyBytes)
            return std::string("the answer has a malformed chunk size");
        at = eol + 2;
        if (size == 0) {
            // Trailers, up to an empty line.
            while (true) {
                std::size_t line_end = data.find("\r\n", at);
                if (line_end == std::string_view::npos) return std::monostate{};
                const bool empty = line_end == at;
                at = line_end + 2;
                if (empty) return std::pair{std::move(body), at};
            }
        }
        if (data.size() < at + size + 2) return std::monostate{};
        body.append(data.substr(at, size));
        if (data.substr(at + size, 2) != "\r\n") return std::string("the answer has a malformed chunk");
        at += size + 2;
        if (body.size() > kMaxBodyBytes) return std::string("the answer's body is too large");
    }
}

}  // namespace estgw::gateway
