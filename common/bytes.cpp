#include "common/bytes.hpp"

namespace estgw {

std::string to_hex(ByteView b) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(b.size() * 2);
    for (std::uint8_t v : b) {
        out.push_back(kDigits[v >> 4]);
        out.push_back(kDigits[v & 0x0f]);
    }
    return out;
}

namespace {
int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
bool is_space(char c) {
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}
}  // namespace

bool from_hex(std::string_view hex, Bytes& out) {
    out.clear();
    int high = -1;
    for (char c : hex) {
        if (is_space(c)) {
            if (high >= 0) return false;  // a space may not split a digit pair
            continue;
        }
        int v = hex_value(c);
        if (v < 0) return false;
        if (high < 0) {
            high = v;
        } else {
            out.push_back(static_cast<std::uint8_t>(high << 4 | v));
            high = -1;
        }
    }
    return high < 0;
}

std::size_t utf8_sequence_length(ByteView text, std::size_t i) {
    const std::uint8_t lead = text[i];
    if (lead < 0x80) return 1;
    std::size_t length = 0;
    std::uint8_t low = 0x80, high = 0xbf;  // allowed range of the second byte
    if (lead >= 0xc2 && lead <= 0xdf) {
        length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        length = 3;
        if (lead == 0xe0) low = 0xa0;   // no overlong forms
        if (lead == 0xed) high = 0x9f;  // no surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        length = 4;
        if (lead == 0xf0) low = 0x90;
        if (lead == 0xf4) high = 0x8f;  // nothing above U+10FFFF
    } else {
        return 0;  // a continuation byte, an overlong 0xc0/0xc1 lead, or 0xf5..0xff
    }
    if (text.size() - i < length || text[i + 1] < low || text[i + 1] > high) return 0;
    for (std::size_t k = 2; k < length; ++k) {
        if (text[i + k] < 0x80 || text[i + k] > 0xbf) return 0;
    }
    return length;
}

std::optional<std::size_t> invalid_utf8_at(ByteView text) {
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t length = utf8_sequence_length(text, i);
        if (length == 0) return i;
        i += length;
    }
    return std::nullopt;
}

}  // namespace estgw
