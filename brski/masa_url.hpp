// Where the MASA of a pledge is (BRSKI.md §3.4; RFC 8995 §2.3.2, §2.8; cBRSKI §7.3). Pure.
//
// The IDevID extension id-pe-masa-url (1.3.6.1.5.5.7.1.32) holds an IA5String (a UTF8String is tolerated).
// Its value and the --masa-url option take the same forms, each giving a base URL to which requests append
// "/requestvoucher":
//   masa.example.com, masa.example.com:8443, [2001:db8::1]:443   (authority only, no "/")
//       → https://<authority>/.well-known/brski
//   https://masa.example.com/vendor/brski                      (a full URI, BRSKI.md D10)
//       → its path is the base, without a trailing "/" (RFC 8995 §2.3.2: a full URI "allows for MASA URLs
//         to be relative to a specific path", usually /.well-known/brski): nothing appended, nothing
//         replaced; an empty path or "/" gets /.well-known/brski. Query, fragment and userinfo are refused
//   http://..., coaps://... → BadRequest naming the scheme: RFC 8995 §2.3.2 says the registrar MUST use
//         HTTPS towards the MASA
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/openssl.hpp"
#include "common/result.hpp"

namespace estgw::brski {

inline constexpr const char* kOidMasaUrlExtension = "1.3.6.1.5.5.7.1.32";

// The MASA base URL named by the IDevID; nullopt when the certificate has no id-pe-masa-url. BadRequest
// naming the problem for an extension that is not an IA5String/UTF8String or holds an unusable URL.
Result<std::optional<std::string>> masa_url_from_idevid(const X509* idevid);

// The same forms from --masa-url (the fallback for IDevIDs that name no MASA). BadRequest naming the option.
Result<std::string> masa_base_from_option(std::string_view value);

// base + "/requestvoucher" (RFC 8995 §5.5).
std::string requestvoucher_url(std::string_view base);

}  // namespace estgw::brski
