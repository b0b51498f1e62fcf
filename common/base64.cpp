#include "common/base64.hpp"

#include <array>

namespace estgw {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::int8_t kInvalid = -1;
constexpr std::int8_t kSkip = -2;  // CR, LF, space, tab: RFC 8951 §3.1
constexpr std::int8_t kPad = -3;

constexpr std::array<std::int8_t, 256> make_table() {
    std::array<std::int8_t, 256> t{};
    for (auto& v : t)
        v = kInvalid;
    for (int i = 0; i < 64; ++i)
        t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
    t['\r'] = t['\n'] = t[' '] = t['\t'] = kSkip;
    t['='] = kPad;
    return t;
}
constexpr auto kTable = make_table();

std::string describe_byte(unsigned char c) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string s = "0x";
    s.push_back(kHex[c >> 4]);
    s.push_back(kHex[c & 0xf]);
    if (c >= 0x21 && c < 0x7f) {
        s += " '";
        s.push_back(static_cast<char>(c));
        s += "'";
    }
    return s;
}

}  // namespace

std::string base64_encode(ByteView data, std::size_t line_length) {
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4 + (line_length ? data.size() / line_length * 2 + 4 : 0));
    std::size_t column = 0;
    auto put = [&](char c) {
        out.push_back(c);
        if (line_length && ++column == line_length) {
            out += "\r\n";
            column = 0;
        }
    };
    std::size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        std::uint32_t v = data[i] << 16 | data[i + 1] << 8 | data[i + 2];
        put(kAlphabet[v >> 18 & 63]);
        put(kAlphabet[v >> 12 & 63]);
        put(kAlphabet[v >> 6 & 63]);
        put(kAlphabet[v & 63]);
    }
    std::size_t rest = data.size() - i;
    if (rest) {
        std::uint32_t v = data[i] << 16 | (rest == 2 ? data[i + 1] << 8 : 0);
        put(kAlphabet[v >> 18 & 63]);
        put(kAlphabet[v >> 12 & 63]);
        put(rest == 2 ? kAlphabet[v >> 6 & 63] : '=');
        put('=');
    }
    // The last line ends with a line break too: OpenSSL's BIO_f_base64 in its default mode (libest's
    // decoder) refuses text whose last line has none.
    if (line_length && column != 0) out += "\r\n";
    return out;
}

Result<Bytes> base64_decode(std::string_view text) {
    // Some C servers count the string terminator in Content-Length: trailing NULs are not content.
    while (!text.empty() && text.back() == '\0')
        text.remove_suffix(1);

    Bytes out;
    out.reserve(text.size() / 4 * 3);
    std::uint32_t acc = 0;
    int sextets = 0;           // data characters collected in the current 4-character group
    int padding = 0;           // '=' seen in the final group; only white space may follow
    auto flush = [&](int n) {  // emit the bytes carried by n (2..4) sextets; leftover pad bits are ignored
        std::uint32_t v = acc << (6 * (4 - n));
        out.push_back(static_cast<std::uint8_t>(v >> 16));
        if (n >= 3) out.push_back(static_cast<std::uint8_t>(v >> 8));
        if (n == 4) out.push_back(static_cast<std::uint8_t>(v));
        acc = 0;
    };
    for (std::size_t pos = 0; pos < text.size(); ++pos) {
        auto c = static_cast<unsigned char>(text[pos]);
        std::int8_t v = kTable[c];
        if (v == kSkip) continue;
        if (v == kInvalid) {
            return make_error(Status::BadRequest, "base64: byte " + describe_byte(c) + " at offset " +
                                                      std::to_string(pos) + " is outside the alphabet");
        }
        if (v == kPad) {
            // '=' may only complete a group that already holds 2 or 3 data characters.
            if (sextets + padding < 2 || sextets + padding >= 4) {
                return make_error(Status::BadRequest,
                                  "base64: misplaced '=' at offset " + std::to_string(pos));
            }
            ++padding;
            continue;
        }
        if (padding > 0) {
            return make_error(Status::BadRequest,
                              "base64: data after '=' padding at offset " + std::to_string(pos));
        }
        acc = acc << 6 | static_cast<std::uint32_t>(v);
        if (++sextets == 4) {
            flush(4);
            sextets = 0;
        }
    }
    if (sextets == 1) return make_error(Status::BadRequest, "base64: input ends with a lone character");
    if (padding > 0 && sextets + padding != 4) {
        return make_error(Status::BadRequest, "base64: incomplete '=' padding at end of input");
    }
    // Missing padding is tolerated (RFC 4648 §3.2 lets specifications omit it; some servers do).
    if (sextets >= 2) flush(sextets);
    return out;
}

}  // namespace estgw
