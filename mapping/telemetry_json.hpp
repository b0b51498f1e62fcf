// BRSKI telemetry (voucher_status, enrollstatus) from the CBOR a cBRSKI pledge sends (CF 60, cBRSKI §6.5.1)
// to the JSON an RFC 8995 registrar expects (§5.7, §5.9.4). In gateway mode /vs and /es are relayed as JSON.
#pragma once

#include <string>

#include "common/bytes.hpp"
#include "common/cbor.hpp"
#include "common/result.hpp"

namespace estgw::mapping {

// JSON text for one CBOR value: maps, arrays, text, integers, booleans and null map onto JSON directly;
// byte strings become unpadded base64url strings (RFC 8949 §6.1); integer map keys become JSON strings
// ("reason-context" may use them, cBRSKI App. B.2). Tags and other key types are Status::BadRequest: a
// registrar could not interpret them, so the pledge is told rather than the upstream guessing.
Result<std::string> cbor_to_json(const cbor::Value& value);

// Decodes a telemetry body (strict CBOR, one item, a map at the top) and renders it as JSON.
Result<std::string> telemetry_cbor_to_json(ByteView cbor_body);

}  // namespace estgw::mapping
