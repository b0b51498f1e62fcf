// Parses arbitrary bytes as a multipart/mixed body: "<Content-Type>\n<body...>". Whatever parses must survive
// encode + parse unchanged (the encoder writes what the parser reads back).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mapping/multipart_mixed.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace estgw;
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::size_t lf = in.find('\n');
    if (lf == std::string_view::npos) return 0;
    std::string_view content_type = in.substr(0, lf);
    std::string_view body = in.substr(lf + 1);
    auto boundary = mapping::multipart_boundary(content_type);
    if (!boundary) return 0;
    auto first = mapping::parse_multipart_body(body, *boundary);
    if (!first) return 0;
    auto second =
        mapping::parse_multipart_body(mapping::encode_multipart_mixed(*first, *boundary), *boundary);
    if (!second || second->size() != first->size()) std::abort();
    for (std::size_t i = 0; i < first->size(); ++i) {
        const auto& a = (*first)[i];
        const auto& b = (*second)[i];
        if (a.body != b.body || a.headers.size() != b.headers.size()) std::abort();
        for (std::size_t h = 0; h < a.headers.size(); ++h) {
            if (a.headers[h].name != b.headers[h].name || a.headers[h].value != b.headers[h].value)
                std::abort();
        }
    }
    return 0;
}
