// The resource table: EST-coaps short name ⇄ RFC 7030 / RFC 8995 operation (RFC 9148 Tables 1, 2, 4;
// cBRSKI §6.5; digest §1 and §12). Code that uses it has no per-resource branches.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "common/est.hpp"

namespace estgw::mapping {

enum class CoapMethod : std::uint8_t {
    Get = 1,
    Post = 2,
    Put = 3,
    Delete = 4,
    Fetch = 5,
    Patch = 6,
    IPatch = 7
};

// CoAP response codes as class.detail bytes (RFC 7252 §12.1.2).
constexpr std::uint8_t coap_code(unsigned cls, unsigned detail) {
    return static_cast<std::uint8_t>(cls << 5 | detail);
}
inline constexpr std::uint8_t k2_04 = coap_code(2, 4);
inline constexpr std::uint8_t k2_05 = coap_code(2, 5);

enum class Family : std::uint8_t { Est, Brski };  // which well-known root the resource lives under

struct Resource {
    std::string_view short_name;  // "crts"
    Operation op;
    Family family;
    std::string_view http_name;  // RFC 7030 / RFC 8995 path segment: "cacerts"
    CoapMethod method;
    std::span<const ContentFormat> request_formats;   // empty: no payload (GET)
    std::span<const ContentFormat> response_formats;  // Accept values servable; the first is the default
    std::uint8_t success_code;                        // 2.05 for GET, 2.04 for POST (RFC 9148 §4.5)
    std::string_view rt;                              // "ace.est.crts"
    bool mandatory;                                   // MTI per RFC 9148 Table 1 / cBRSKI
};

std::span<const Resource> resources();
const Resource* find_resource_by_short_name(Family family, std::string_view short_name);
const Resource& resource_for(Operation op);

}  // namespace estgw::mapping
