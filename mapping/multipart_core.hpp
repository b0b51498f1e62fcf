// application/multipart-core (CoAP Content-Format 62, RFC 8710 §2): the CBOR array
// [* (content-format: uint .size 2, representation: bstr / null)] that carries the key and the certificate of
// a server-side key generation answer (RFC 9148 §4.8, App. A.3).
#pragma once

#include <vector>

#include "common/bytes.hpp"
#include "common/est.hpp"
#include "common/result.hpp"

namespace estgw::mapping {

// A part with no body becomes CBOR null. Always shortest-form CBOR.
Bytes encode_multipart_core(const std::vector<BodyPart>& parts);

// Strict: anything but exactly one array of (content-format, bstr / null) pairs is Status::BadRequest, and so
// is a content-format number that estgw has no ContentFormat for (a valid RFC 8710 number, but one this
// gateway never produces and could not label on the HTTP side either).
Result<std::vector<BodyPart>> decode_multipart_core(ByteView cbor);

}  // namespace estgw::mapping
