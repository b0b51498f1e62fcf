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

}  // namespace estgw
