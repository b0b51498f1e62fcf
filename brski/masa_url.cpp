#include "brski/masa_url.hpp"

#include <openssl/err.h>

#include <algorithm>
#include <cctype>

#include "common/der.hpp"

namespace estgw::brski {

namespace {

constexpr std::string_view kWellKnown = "/.well-known/brski";
constexpr std::uint8_t kTagIa5String = 0x16;
constexpr std::uint8_t kTagUtf8String = 0x0c;

Error unusable(const std::string& where, std::string_view value, const std::string& why) {
    return make_error(Status::BadRequest, where + " '" + std::string(value) + "': " + why);
}

bool is_dns_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_';
}

bool is_ipv6_char(char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '.';
}

// host[:port] with a DNS name or IPv4 address, or [IPv6][:port] (RFC 3986 §3.2.2–3.2.3); no userinfo.
Result<void> check_authority(const std::string& where, std::string_view value, std::string_view authority) {
    if (authority.empty()) return unusable(where, value, "no host");
    if (authority.find('@') != std::string_view::npos) {
        return unusable(where, value, "user information in a MASA URL is not supported");
    }
    std::string_view host = authority;
    std::string_view port;
    if (authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) return unusable(where, value, "an IPv6 address without ']'");
        const std::string_view address = authority.substr(1, close - 1);
        if (address.empty() || !std::all_of(address.begin(), address.end(), is_ipv6_char)) {
            return unusable(where, value, "'" + std::string(address) + "' is not an IPv6 address");
        }
        host = {};
        const std::string_view rest = authority.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return unusable(where, value, "text after the IPv6 address");
            port = rest.substr(1);
            if (port.empty()) return unusable(where, value, "an empty port");
        }
    } else {
        const std::size_t colon = authority.find(':');
        if (colon != std::string_view::npos) {
            host = authority.substr(0, colon);
            port = authority.substr(colon + 1);
            if (port.empty()) return unusable(where, value, "an empty port");
        }
        if (host.empty() || !std::all_of(host.begin(), host.end(), is_dns_char)) {
            return unusable(where, value, "'" + std::string(host) + "' is not a host name or IPv4 address");
        }
    }
    if (!port.empty()) {
        if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) {
                return std::isdigit(static_cast<unsigned char>(c)) != 0;
            })) {
            return unusable(where, value, "port '" + std::string(port) + "' is not a number");
        }
        const int number = std::stoi(std::string(port));
        if (number < 1 || number > 65535) {
            return unusable(where, value, "port " + std::string(port) + " is outside 1..65535");
        }
    }
    return {};
}

// The base URL for one of the forms of masa_url.hpp; `where` names the source for the message.
Result<std::string> base_from_text(const std::string& where, std::string_view value) {
    if (value.empty()) return unusable(where, value, "empty");
    if (std::any_of(value.begin(), value.end(), [](char c) {
            const auto u = static_cast<unsigned char>(c);
            return u <= 0x20 || u >= 0x7f;
        })) {
        return unusable(where, value, "spaces, control or non-ASCII characters");
    }
    const std::size_t separator = value.find("://");
    if (separator == std::string_view::npos) {
        if (value.find('/') != std::string_view::npos) {
            return unusable(where, value,
                            "neither an authority (host[:port]) nor an https:// URI (RFC 8995 §2.3.2)");
        }
        if (auto checked = check_authority(where, value, value); !checked) return checked.error();
        return "https://" + std::string(value) + std::string(kWellKnown);
    }
    std::string scheme(value.substr(0, separator));
    std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (scheme != "https") {
        return unusable(where, value,
                        "scheme '" + scheme +
                            "' is not https: a registrar MUST use HTTPS towards the MASA (RFC "
                            "8995 §2.3.2)");
    }
    const std::string_view rest = value.substr(separator + 3);
    if (rest.find_first_of("?#") != std::string_view::npos) {
        return unusable(where, value, "a query or fragment in a MASA URL is not supported");
    }
    const std::size_t slash = rest.find('/');
    const std::string_view authority = rest.substr(0, slash);
    if (auto checked = check_authority(where, value, authority); !checked) return checked.error();
    std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
    while (!path.empty() && path.back() == '/')
        path.remove_suffix(1);
    // BRSKI.md D10: a path names the MASA's own base, used as given; none gets the well-known one.
    return "https://" + std::string(authority) + (path.empty() ? std::string(kWellKnown) : std::string(path));
}

}  // namespace

Result<std::optional<std::string>> masa_url_from_idevid(const X509* idevid) {
    if (idevid == nullptr) return make_error(Status::Internal, "MASA URL: no pledge certificate");
    const std::string where = "the pledge certificate's id-pe-masa-url";
    ASN1_OBJECT* oid = OBJ_txt2obj(kOidMasaUrlExtension, 1);
    if (oid == nullptr) {
        ERR_clear_error();
        return make_error(Status::Internal, "MASA URL: cannot build the id-pe-masa-url OID");
    }
    const int index = X509_get_ext_by_OBJ(idevid, oid, -1);
    ASN1_OBJECT_free(oid);
    if (index < 0) return std::optional<std::string>{};
    const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509_get_ext(idevid, index));
    const ByteView der(ASN1_STRING_get0_data(data), static_cast<std::size_t>(ASN1_STRING_length(data)));
    // RFC 8995 §2.3.2: MASAURLSyntax ::= IA5String; a UTF8String is tolerated (BRSKI.md §3.4).
    auto header = read_der_header(der);
    if (!header || header->total_length() != der.size() ||
        (header->tag != kTagIa5String && header->tag != kTagUtf8String)) {
        return make_error(Status::BadRequest,
                          where + " is not one IA5String (RFC 8995 §2.3.2): " + to_hex(der));
    }
    const std::string value = to_string(der.subspan(header->header_length));
    ESTGW_TRY(base, base_from_text(where, value));
    return std::optional<std::string>(std::move(base));
}

Result<std::string> masa_base_from_option(std::string_view value) {
    return base_from_text("--masa-url", value);
}

std::string requestvoucher_url(std::string_view base) {
    while (!base.empty() && base.back() == '/')
        base.remove_suffix(1);
    return std::string(base) + "/requestvoucher";
}

}  // namespace estgw::brski
