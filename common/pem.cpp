#include "common/pem.hpp"

#include "common/base64.hpp"

namespace estgw {

namespace {

constexpr std::string_view kBegin = "-----BEGIN ";
constexpr std::string_view kEnd = "-----END ";
constexpr std::string_view kDashes = "-----";

// The label of an encapsulation boundary starting at `line` (which begins with kBegin or kEnd).
std::optional<std::string_view> boundary_label(std::string_view line, std::string_view prefix) {
    line.remove_prefix(prefix.size());
    std::size_t end = line.find(kDashes);
    if (end == std::string_view::npos) return std::nullopt;
    std::string_view label = line.substr(0, end);
    // RFC 7468 §3: labels are printable ASCII without '-' at the ends.
    for (char c : label) {
        if (c < 0x20 || c > 0x7e) return std::nullopt;
    }
    return label;
}

std::string_view line_at(std::string_view text, std::size_t pos) {
    std::size_t eol = text.find('\n', pos);
    return text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
}

}  // namespace

std::string pem_encode(ByteView der, std::string_view label) {
    std::string out;
    out.append(kBegin).append(label).append(kDashes).append("\n");
    std::string body = base64_encode(der, kBase64LineLength);
    // base64_encode ends each line with CRLF; PEM files written by estgw use LF like OpenSSL.
    for (char c : body) {
        if (c != '\r') out.push_back(c);
    }
    out.append(kEnd).append(label).append(kDashes).append("\n");
    return out;
}

Result<std::vector<PemBlock>> pem_decode_all(std::string_view text) {
    std::vector<PemBlock> blocks;
    std::size_t pos = text.find(kBegin);
    if (pos == std::string_view::npos) {
        auto der = base64_decode(text);
        if (!der)
            return make_error(Status::BadRequest,
                              "PEM: no BEGIN line and not bare base64: " + der.error().message);
        if (der->empty()) return make_error(Status::BadRequest, "PEM: input is empty");
        blocks.push_back(PemBlock{"", std::move(*der)});
        return blocks;
    }
    while (pos != std::string_view::npos) {
        auto label = boundary_label(line_at(text, pos), kBegin);
        if (!label)
            return make_error(Status::BadRequest,
                              "PEM: malformed BEGIN line at offset " + std::to_string(pos));
        std::size_t body_start = text.find('\n', pos);
        if (body_start == std::string_view::npos) {
            return make_error(Status::BadRequest, "PEM: '" + std::string(*label) + "' block has no END line");
        }
        ++body_start;
        std::string end_line = std::string(kEnd) + std::string(*label) + std::string(kDashes);
        std::size_t end = text.find(end_line, body_start);
        std::size_t next_begin = text.find(kBegin, body_start);
        if (end == std::string_view::npos || (next_begin != std::string_view::npos && next_begin < end)) {
            return make_error(Status::BadRequest,
                              "PEM: '" + std::string(*label) + "' block has no matching END line");
        }
        std::string_view body = text.substr(body_start, end - body_start);
        // RFC 1421 headers (e.g. "Proc-Type:") mark encrypted legacy PEM, which estgw does not read.
        if (body.find(':') != std::string_view::npos) {
            return make_error(Status::BadRequest,
                              "PEM: '" + std::string(*label) +
                                  "' block has headers (encrypted legacy PEM is not supported)");
        }
        auto der = base64_decode(body);
        if (!der)
            return make_error(Status::BadRequest,
                              "PEM '" + std::string(*label) + "': " + der.error().message);
        if (der->empty())
            return make_error(Status::BadRequest, "PEM: '" + std::string(*label) + "' block is empty");
        blocks.push_back(PemBlock{std::string(*label), std::move(*der)});
        pos = text.find(kBegin, end + end_line.size());
    }
    return blocks;
}

Result<Bytes> pem_decode(std::string_view text, std::string_view expected_label) {
    auto blocks = pem_decode_all(text);
    if (!blocks) return blocks.error();
    if (blocks->size() != 1) {
        return make_error(Status::BadRequest,
                          "PEM: expected one block, found " + std::to_string(blocks->size()));
    }
    PemBlock& block = blocks->front();
    if (!expected_label.empty() && !block.label.empty() && block.label != expected_label) {
        return make_error(Status::BadRequest,
                          "PEM: expected '" + std::string(expected_label) + "', found '" + block.label + "'");
    }
    return std::move(block.der);
}

}  // namespace estgw
