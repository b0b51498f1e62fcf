// The registrar's checks of a pledge voucher-request (PVR) on POST /rv (BRSKI.md §3.2 checks 5–10; RFC 8995
// §5.2–5.3, §5.5; cBRSKI §6.4, §9.2.2). Pure: the caller brings the PVR bytes, the pledge's IDevID (the
// DTLS client certificate) and the registrar's own certificate; no I/O, no clock.
//
// Checks 1–4 (Content-Format, Accept, a client certificate at all, the IDevID policy) are the CoAP front's;
// these follow, in order, and the first that fails decides (the message begins with the check's name):
//    5  cose          a tagged COSE_Sign1 whose payload is a voucher-request         BadRequest   (4.00)
//    6  signature     verifies with the IDevID's public key; the PVR's own x5bag,    Forbidden    (4.03)
//                     x5chain and kid are ignored (cBRSKI §9.2.2)
//    7  assertion     proximity                                                      Unauthorized (4.01)
//    8  proximity     at least one of proximity-registrar-cert/-pubk/-pubk-sha256,   Unauthorized (4.01)
//                     and each present names us: cert == our EE certificate DER,
//                     pubk == our DER SPKI, pubk-sha256 == SHA-256 over it (D6)
//    9  nonce         present, 8..32 bytes                                           BadRequest   (4.00, D7)
//   10  serial-number present and equal to the IDevID subject serialNumber         Forbidden    (4.03, D7)
//                     (2.5.4.5); a PVR without one, or an IDevID without one, is
//                     Forbidden too: the device cannot be named, which no resend fixes
//
// The payload's leaf values are checked after the signature: a nonce of 7 bytes is a malformed leaf for the
// voucher model (brski::decode refuses it) but is reported by check 9, after 6–8, so that an unsigned or
// misdirected request never learns more than "signature" or "proximity".
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "brski/voucher.hpp"
#include "common/bytes.hpp"
#include "common/openssl.hpp"
#include "common/result.hpp"

namespace estgw::brski {

struct AcceptedPvr {
    Voucher request;            // the decoded PVR payload
    Bytes nonce;                // 8..32 bytes
    std::string serial_number;  // equal to the IDevID subject serialNumber
    // The proximity fields present, each one matched: "cert", "pubk", "pubk-sha256" (in that order), for
    // the journal and so that the RVR's x5bag can be checked to carry the certificate they identify.
    std::vector<std::string> proximity;
};

// Runs checks 5–10 on `pvr`. `idevid` is the pledge's DTLS client certificate, `registrar_cert` the
// registrar's end-entity certificate this DTLS session presented.
Result<AcceptedPvr> check_pledge_voucher_request(ByteView pvr, const X509* idevid,
                                                 const X509* registrar_cert);

// Whether the refusal means a man in the middle: 4.01, after which the DTLS session must be closed (RFC
// 8995 §5.2, BRSKI.md §3.2 checks 7–8). True exactly for Status::Unauthorized.
bool closes_session(const Error& error);

// The X520 serialNumber (2.5.4.5) of the certificate's subject as UTF-8, what vouchers name a device by
// (RFC 8995 §2.3.1); nullopt when absent or not readable as a string.
std::optional<std::string> idevid_serial_number(const X509* cert);

}  // namespace estgw::brski
