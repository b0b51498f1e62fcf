#include "mapping/content_format.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace estgw::mapping {

namespace {

// RFC 9148 §8.1 Table 5, RFC 8710 §5, cBRSKI §15.3, RFC 6690 (40), RFC 7252 §12.3 (50, 60).
constexpr std::array kRegistry = {
    // CF                                  media type                   smime-type               Content-Type
    ContentFormatInfo{ContentFormat::ServerGeneratedKey, "application/pkcs7-mime", "server-generated-key",
                      "application/pkcs7-mime; smime-type=server-generated-key"},
    ContentFormatInfo{ContentFormat::CertsOnly, "application/pkcs7-mime", "certs-only",
                      "application/pkcs7-mime; smime-type=certs-only"},
    ContentFormatInfo{ContentFormat::Pkcs8, "application/pkcs8", "", "application/pkcs8"},
    ContentFormatInfo{ContentFormat::CsrAttrs, "application/csrattrs", "", "application/csrattrs"},
    ContentFormatInfo{ContentFormat::Pkcs10, "application/pkcs10", "", "application/pkcs10"},
    ContentFormatInfo{ContentFormat::PkixCert, "application/pkix-cert", "", "application/pkix-cert"},
    ContentFormatInfo{ContentFormat::MultipartCore, "application/multipart-core", "",
                      "application/multipart-core"},
    ContentFormatInfo{ContentFormat::Cbor, "application/cbor", "", "application/cbor"},
    ContentFormatInfo{ContentFormat::Json, "application/json", "", "application/json"},
    ContentFormatInfo{ContentFormat::LinkFormat, "application/link-format", "", "application/link-format"},
    ContentFormatInfo{ContentFormat::VoucherCose, "application/voucher+cose", "", "application/voucher+cose"},
};

// cBRSKI §15.2: the temporary registration used the old name; OT-Registrar still sends it.
constexpr std::string_view kOldVoucherCoseName = "application/voucher-cose+cbor";

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

std::string_view trim(std::string_view s) {
    auto is_ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && is_ws(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_ws(s.back()))
        s.remove_suffix(1);
    return s;
}

bool is_token_char(unsigned char c) {
    // RFC 9110 §5.6.2 tchar
    return std::isalnum(c) ||
           std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

}  // namespace

bool is_token(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return is_token_char(c); });
}

std::optional<std::string> MediaType::param(std::string_view name) const {
    std::string wanted = lower(name);
    for (const auto& [k, v] : params) {
        if (k == wanted) return v;
    }
    return std::nullopt;
}

std::span<const ContentFormatInfo> content_formats() {
    return kRegistry;
}

std::optional<ContentFormat> content_format_from_number(unsigned number) {
    for (const auto& row : kRegistry) {
        if (static_cast<unsigned>(row.format) == number) return row.format;
    }
    return std::nullopt;
}

const ContentFormatInfo& content_format_info(ContentFormat f) {
    for (const auto& row : kRegistry) {
        if (row.format == f) return row;
    }
    // Every enumerator has a row (checked by tests); this is unreachable for valid enum values.
    return kRegistry[1];
}

// RFC 9110 §8.3.1: media-type = type "/" subtype parameters; parameters = *( OWS ";" OWS [ parameter ] );
// parameter values are tokens or quoted-strings. Everything case-insensitive except quoted values.
std::optional<MediaType> parse_media_type(std::string_view content_type) {
    std::size_t semi = content_type.find(';');
    std::string_view type = trim(content_type.substr(0, semi));
    std::size_t slash = type.find('/');
    if (slash == std::string_view::npos || !is_token(type.substr(0, slash)) ||
        !is_token(type.substr(slash + 1))) {
        return std::nullopt;
    }
    MediaType mt;
    mt.type = lower(type);
    std::string_view rest =
        semi == std::string_view::npos ? std::string_view{} : content_type.substr(semi + 1);
    while (true) {
        rest = trim(rest);
        if (rest.empty()) break;
        if (rest.front() == ';') {  // empty parameter
            rest.remove_prefix(1);
            continue;
        }
        std::size_t eq = rest.find('=');
        if (eq == std::string_view::npos) return std::nullopt;
        std::string_view name = trim(rest.substr(0, eq));
        if (!is_token(name)) return std::nullopt;
        rest = trim(rest.substr(eq + 1));
        std::string value;
        if (!rest.empty() && rest.front() == '"') {
            std::size_t i = 1;
            bool closed = false;
            for (; i < rest.size(); ++i) {
                char c = rest[i];
                if (c == '\\' && i + 1 < rest.size()) {
                    value.push_back(rest[++i]);
                } else if (c == '"') {
                    closed = true;
                    ++i;
                    break;
                } else {
                    value.push_back(c);
                }
            }
            if (!closed) return std::nullopt;
            rest.remove_prefix(i);
            rest = trim(rest);
            if (!rest.empty() && rest.front() != ';') return std::nullopt;
        } else {
            std::size_t end = rest.find(';');
            std::string_view token = trim(rest.substr(0, end));
            if (!is_token(token)) return std::nullopt;
            value = std::string(token);
            rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
        }
        mt.params.emplace_back(lower(name), std::move(value));
        if (!rest.empty()) rest.remove_prefix(1);  // the ';'
    }
    return mt;
}

std::optional<ContentFormat> content_format_from_media_type(std::string_view content_type) {
    auto mt = parse_media_type(content_type);
    if (!mt) return std::nullopt;
    if (mt->type == kOldVoucherCoseName) return ContentFormat::VoucherCose;
    if (mt->type == "application/pkcs7-mime") {
        // RFC 7030 §4.1.3 labels /cacerts without smime-type; §4.2.3 and §4.4.2 add it.
        auto smime = mt->param("smime-type");
        std::string value = smime ? lower(*smime) : std::string("certs-only");
        if (value == "certs-only") return ContentFormat::CertsOnly;
        if (value == "server-generated-key") return ContentFormat::ServerGeneratedKey;
        return std::nullopt;
    }
    for (const auto& row : kRegistry) {
        if (row.smime_type.empty() && row.media_type == mt->type) return row.format;
    }
    return std::nullopt;
}

}  // namespace estgw::mapping
