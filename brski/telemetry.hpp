// BRSKI telemetry a pledge sends the registrar: voucher status (/vs) and enroll status (/es) (RFC 8995 §5.7,
// §5.9.4; cBRSKI §6.5.1, App. B; BRSKI.md §3.7):
//   {"version": uint, "status": bool, ? "reason": tstr, ? "reason-context": any}
// with text keys, all lowercase. CBOR (CF 60) MUST be accepted; JSON (CF 50) MAY (D15), and is: one reader
// for both, the JSON read into the CBOR data model (common/json_reader.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/bytes.hpp"
#include "common/cbor.hpp"
#include "common/est.hpp"
#include "common/result.hpp"

namespace estgw::brski {

// The only version RFC 8995 defines. A higher one is accepted (the pledge ignores our answer anyway) but
// SHOULD be logged for a human to look at (RFC 8995 §5.7).
inline constexpr std::uint64_t kTelemetryVersion = 1;

struct Telemetry {
    std::uint64_t version = 0;
    bool status = false;
    std::optional<std::string> reason;
    std::optional<cbor::Value> reason_context;  // any value; may use integer keys (cBRSKI App. B.2)
    cbor::Map unknown;                          // other members, in their order: logged, then ignored

    bool version_unknown() const { return version > kTelemetryVersion; }
};

// `format` is the request's Content-Format. Another format than CF 60 or 50, or none, is
// Status::UnsupportedFormat (4.15); a body that is not one well-formed map, or lacks "version" (uint) or
// "status" (bool), or has a "reason" that is not text, is Status::BadRequest (4.00). Messages say which.
Result<Telemetry> parse_telemetry(std::optional<ContentFormat> format, ByteView body);

}  // namespace estgw::brski
