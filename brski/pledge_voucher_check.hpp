// What a pledge checks in the voucher its registrar relayed (RFC 8995 §5.6.1–5.6.2; cBRSKI §9.2.2; BRSKI.md
// §5.3–5.4) before it trusts the domain. Pure: the caller brings everything it knows; no I/O, no clock.
//
// Checks, in order; the first that fails ends the attempt, with a message that begins with its name:
//   content-format  the answer carried Content-Format 836 (application/voucher+cose);
//   cose            a tagged COSE_Sign1 (an untagged one is refused, BRSKI.md D3);
//   signature       verifies with the key of a --masa-anchor certificate, or with the key of a certificate
//                   of the voucher's x5bag/x5chain that chains to an anchor (the anchor may then be the CA
//                   that issued the MASA signing certificate). Validity periods are not checked: a pledge
//                   has no trusted clock before it is enrolled (RFC 8995 §2.6.1). The registrar strips the
//                   bag before forwarding (cBRSKI §6.8), so with a real registrar the anchor must be the
//                   signing certificate itself;
//   payload         a voucher (ietf-voucher, brski/voucher.hpp rules);
//   assertion       verified, logged or proximity (the three a MASA gives a pledge that asked with proximity,
//                   RFC 8995 §5.6.1); absent or agent-proximity is refused (this pledge uses no agent);
//   serial-number   present and equal to ours (from the IDevID subject serialNumber);
//   idevid-issuer   when present, equal to our IDevID's authorityKeyIdentifier extnValue (the whole OCTET
//                   STRING TLV, 8366bis §6.3);
//   nonce           present and equal to the one we sent (nonceless vouchers are out of scope, BRSKI.md D13);
//   pin             at least one of pinned-domain-cert, -pubk, -pubk-sha256, and each present matches the
//                   registrar of this DTLS session: pinned-domain-cert is its certificate's public key, or a
//                   certificate its chain verifies up to (the chain the server sent, partial chains allowed);
//                   pubk equals its SubjectPublicKeyInfo; pubk-sha256 is SHA-256 over that DER SPKI (D6).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "brski/voucher.hpp"
#include "common/bytes.hpp"
#include "common/openssl.hpp"
#include "common/result.hpp"

namespace estgw::brski {

inline constexpr unsigned kVoucherCoseFormat = 836;

struct PledgeExpectations {
    Bytes nonce;                         // as sent in the PVR
    std::string serial_number;           // ours, from the IDevID subject
    std::optional<Bytes> idevid_issuer;  // our AKI extnValue TLV (04 .. 30 .. 80 ..); nullopt: no AKI
    std::vector<Bytes> masa_anchors;     // DER certificates (--masa-anchor)
    std::vector<Bytes> server_chain;     // DER, the registrar's certificate first, as the DTLS handshake gave
};

struct AcceptedVoucher {
    Voucher voucher;
    std::string signer;  // subject of the certificate whose key verified the signature, for the log
    std::string pin;     // "pinned-domain-cert CN=..." or "pinned-domain-pubk", for the log
    // The pinned-domain-cert (DER): the provisional trust anchor for EST (cBRSKI §6.7.1). Empty when only a
    // public key was pinned.
    Bytes pinned_domain_cert;
};

// Whether `leaf` verifies up to one of `anchors` (DER certificates), through `intermediates` (DER, may hold
// anything): any anchor may end the path, whether or not it is a root, and validity periods are not checked
// (no trusted clock before enrollment, RFC 8995 §2.6.1). For the pin above and, after /sen, for chaining the
// new LDevID to a CA of /crts (cBRSKI §6.7.1).
bool chains_to(const X509* leaf, const std::vector<Bytes>& intermediates, const std::vector<Bytes>& anchors);

// Status::BadRequest for a malformed answer (content-format, cose, payload), Status::Forbidden for one that
// does not hold for us (every other check); the message begins with the check's name and a colon.
Result<AcceptedVoucher> check_voucher(ByteView answer, std::optional<unsigned> content_format,
                                      const PledgeExpectations& expected);

}  // namespace estgw::brski
