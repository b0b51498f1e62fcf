// Content-Format registry: CoAP Content-Format numbers ⇄ HTTP media types (RFC 9148 §8.1 Table 5,
// RFC 8710 §5, cBRSKI §15.3; digest §2).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/est.hpp"

namespace estgw::mapping {

struct ContentFormatInfo {
    ContentFormat format;
    std::string_view media_type;    // type/subtype, lowercase
    std::string_view smime_type;    // required smime-type parameter value, empty if none
    std::string_view content_type;  // full HTTP Content-Type to send, parameters included
};

// The registry, one row per Content-Format.
std::span<const ContentFormatInfo> content_formats();

std::optional<ContentFormat> content_format_from_number(unsigned number);
inline unsigned content_format_number(ContentFormat f) {
    return static_cast<unsigned>(f);
}
const ContentFormatInfo& content_format_info(ContentFormat f);

// HTTP Content-Type → Content-Format. Case-insensitive, tolerant of parameters, spacing and quoting:
// "Application/PKCS7-MIME; smime-type=\"certs-only\"" → CertsOnly. application/pkcs7-mime without smime-type
// is certs-only (RFC 7030 §4.1.3 labels /cacerts that way); smime-type=server-generated-key → 280.
// "application/voucher-cose+cbor" (the old name) → VoucherCose.
std::optional<ContentFormat> content_format_from_media_type(std::string_view content_type);

// Splits "type/subtype; a=b; c=\"d\"" into lowercase media type and a parameter lookup.
struct MediaType {
    std::string type;                                         // "type/subtype", lowercase, trimmed
    std::vector<std::pair<std::string, std::string>> params;  // names lowercase, values unquoted
    std::optional<std::string> param(std::string_view name) const;
};
std::optional<MediaType> parse_media_type(std::string_view content_type);

// An RFC 9110 §5.6.2 token: media type names, parameter names, header field names (§5.1).
bool is_token(std::string_view s);

}  // namespace estgw::mapping
