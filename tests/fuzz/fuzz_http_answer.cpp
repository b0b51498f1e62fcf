// An upstream's answer as the gateway's own HTTP client reads it (gateway/http_answer.hpp): the head, and a
// chunked body. The input is used both ways, whole. What must hold:
// - a head that parses has a status of three digits and a Content-Length within kMaxBodyBytes;
// - a chunked body that is complete took no more bytes than it was given, and its body is no longer;
// - the client reads a body as it arrives, so every shorter prefix of a complete body is incomplete (never
//   malformed, never complete with another body), and more bytes after it change nothing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "gateway/http_answer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace estgw::gateway;
    const std::string_view in(reinterpret_cast<const char*>(data), size);

    AnswerHead head;
    if (!parse_answer_head(in, head)) {
        if (head.response.status < 100 || head.response.status > 999) std::abort();
        if (head.content_length && *head.content_length > kMaxBodyBytes) std::abort();
    }

    const ChunkedBody whole = decode_chunked(in);
    const auto* complete = std::get_if<std::pair<std::string, std::size_t>>(&whole);
    if (complete == nullptr) return 0;
    const auto& [body, used] = *complete;
    if (used > in.size() || body.size() > used) std::abort();
    // Prefixes: a few cut points, enough for every byte of short inputs.
    const std::size_t step = used > 64 ? used / 64 : 1;
    for (std::size_t cut = 0; cut < used; cut += step) {
        if (!std::holds_alternative<std::monostate>(decode_chunked(in.substr(0, cut)))) std::abort();
    }
    const ChunkedBody longer = decode_chunked(std::string(in) + "7\r\nextra\r\n");
    const auto* again = std::get_if<std::pair<std::string, std::size_t>>(&longer);
    if (again == nullptr || again->first != body || again->second != used) std::abort();
    return 0;
}
