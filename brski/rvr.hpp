// The registrar voucher-request (RVR) the registrar sends to the MASA for an accepted PVR (BRSKI.md §3.3;
// RFC 8995 §5.5; cBRSKI §7.1–7.2, §8.1, §9.2.1; 8366bis §6.1, §6.3). Pure: the time is a parameter.
//
// Payload {2501: {assertion proximity, created-on now, idevid-issuer, nonce, prior-signed-voucher-request,
// serial-number}} with SID deltas, preferred encoding:
//   - serial-number from the IDevID certificate (never copied from the PVR, RFC 8995 §5.5);
//   - prior-signed-voucher-request: the PVR bytes exactly as received, tag 18 included;
//   - idevid-issuer: the IDevID's authorityKeyIdentifier extnValue as a whole DER OCTET STRING TLV
//     (04 18 30 16 80 14 <keyId>); an IDevID without AKI gets the same structure around SHA-1 of the
//     IDevID's own public key (BRSKI.md D9, the text's rule);
//   - no proximity-registrar-*, pinned-*, expires-on, last-renewal-date.
// COSE_Sign1, tag 18, protected {1: alg of the registrar key (ES256 or EdDSA)}, unprotected {32: [our
// chain..., IDevID, IDevID path...]}, no kid.
#pragma once

#include <chrono>
#include <vector>

#include "brski/pvr_checks.hpp"
#include "common/bytes.hpp"
#include "common/openssl.hpp"
#include "common/result.hpp"

namespace estgw::brski {

struct RvrInput {
    ByteView pvr;  // the PVR exactly as received (becomes prior-signed-voucher-request)
    const AcceptedPvr* accepted = nullptr;  // what check_pledge_voucher_request returned for it
    const X509* idevid = nullptr;           // the pledge's DTLS client certificate
    // DER: the IDevID's intermediates and trust anchor, the path that validated it, leaf excluded.
    std::vector<Bytes> idevid_path;
    // DER: our end-entity certificate, sub-CAs, domain CA: the part of our chain we want pinned (§8.1).
    std::vector<Bytes> registrar_chain;
    const EVP_PKEY* registrar_key = nullptr;  // the key of registrar_chain[0]
    std::chrono::system_clock::time_point now;
};

// The signed RVR (the HTTP body for <MASA>/requestvoucher). BadRequest for an input that cannot make one
// (no accepted PVR, an empty registrar chain, a key of another type than P-256 or Ed25519); Internal for
// an OpenSSL failure.
Result<Bytes> build_registrar_voucher_request(const RvrInput& input);

// The idevid-issuer value for this IDevID (the rule above).
Result<Bytes> idevid_issuer_of(const X509* idevid);

}  // namespace estgw::brski
