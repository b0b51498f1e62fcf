// The MASA's voucher as the registrar relays it to the pledge (BRSKI.md §3.6; cBRSKI §6.8, App. C.5):
// the unprotected x5bag (32) and x5chain (33) are removed (MUST), nothing else.
//
// Only the unprotected map is re-encoded (definite, shortest; its other entries kept in order, BRSKI.md
// D5: other unprotected headers are left to the pledge, which ignores what it does not know); the tag, the
// protected bstr, the payload bstr and the signature bstr are copied as the exact bytes received, also
// when they use indefinite-length or non-preferred encodings. An unprotected map that ends up empty is A0.
#pragma once

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace estgw::brski {

// The voucher without x5bag/x5chain. Input that is not a tagged COSE_Sign1 (tag 18, an array of four:
// bstr, map, bstr, bstr, nothing after it) is Status::UpstreamFailed naming what is wrong: the MASA sent
// it, not the pledge (5.02).
Result<Bytes> strip_voucher_certificates(ByteView voucher);

}  // namespace estgw::brski
