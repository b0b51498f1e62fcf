// The HTTP/1.1 answer of an upstream, read off the wire by upstream_connection.cpp: its head (status, headers
// and what they say about the body's end and the connection's future) and a chunked body. Pure functions,
// tested on their own (tests/gateway/unit/http_answer_test.cpp): what an upstream sends is not trusted.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "mapping/http_message.hpp"

namespace estgw::gateway {

// An answer's head larger than this is refused (nginx's default large_client_header_buffers is 4 × 8 KB).
constexpr std::size_t kMaxHeadBytes = 64 * 1024;
// EST answers are certificates and keys; anything near this is not one.
constexpr std::size_t kMaxBodyBytes = 16 * 1024 * 1024;

// The parts of an answer's head that decide how its body ends and whether the connection stays.
struct AnswerHead {
    mapping::HttpResponse response;  // status and headers; the body is read afterwards
    bool http10 = false;
    std::optional<std::size_t> content_length;
    bool chunked = false;
    bool close = false;  // the server closes the connection after this answer
};

// `text`: the head up to and including the CRLF of its last header line (without the empty line). Nullopt
// on success, else what is wrong with it.
std::optional<std::string> parse_answer_head(std::string_view text, AnswerHead& head);

// A chunked body (RFC 9112 §7.1) at the start of `data`: incomplete (monostate), malformed (the reason), or
// the body and how many bytes of `data` it took, trailers included.
using ChunkedBody = std::variant<std::monostate, std::string, std::pair<std::string, std::size_t>>;
ChunkedBody decode_chunked(std::string_view data);

}  // namespace estgw::gateway
