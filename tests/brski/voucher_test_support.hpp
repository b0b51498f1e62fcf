// Helpers shared by the voucher model's tests.
#pragma once

#include <ostream>
#include <string>

#include "brski/voucher.hpp"
#include "common/cbor.hpp"

namespace estgw::brski {

// Failure messages show a voucher as the diagnostic notation of its leaves, then its unknown leaves.
void PrintTo(const Voucher& v, std::ostream* out);

// The decoded payload; fails the current test when it is refused.
Voucher decoded(Kind kind, ByteView payload);
// The message of the refusal of a payload that must be refused (Status::BadRequest); fails the current test
// when it is accepted.
std::string refusal(Kind kind, ByteView payload);
// The value with every string, array and map in indefinite-length form (RFC 8949 §3.2.2–3.2.3), each
// string of two or more bytes cut into two chunks.
Bytes indefinite(const cbor::Value& v);

}  // namespace estgw::brski
