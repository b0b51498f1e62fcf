// Strict JSON (RFC 8259) from the network, read into the CBOR data model (RFC 8949 §6.2) so that a body that
// may come as either (BRSKI telemetry: CF 60 or CF 50, cBRSKI §6.5.1) is interpreted by one piece of code.
//
// Objects become maps with text keys (in their order; a repeated name is an error, RFC 8259 §4 SHOULD),
// arrays arrays, strings text (escapes resolved, UTF-8 checked, \u surrogates paired), true/false/null the
// simple values. A number without fraction or exponent becomes an integer; any other number a decimal
// fraction, tag 4 [exponent, mantissa] (RFC 8949 §3.4.4), exactly as written: the model has no floats, and
// nothing estgw reads needs arithmetic on them. Numbers beyond 64 bits are refused rather than rounded.
#pragma once

#include <string_view>

#include "common/cbor.hpp"
#include "common/result.hpp"

namespace estgw {

struct JsonLimits {
    std::size_t max_depth = 16;  // objects and arrays nested in one another
};

// Exactly one JSON value, white space around it allowed; errors are Status::BadRequest naming the offset.
Result<cbor::Value> parse_json(std::string_view text, const JsonLimits& limits = {});

}  // namespace estgw
