// The voucher (ietf-voucher) and voucher request (ietf-voucher-request) as YANG-CBOR (RFC 9254), the payload
// of a cBRSKI COSE_Sign1 (BRSKI.md §1, 8366bis §8–9). Pure: no I/O, no clock, no OpenSSL.
//
// Encoding: the outer map {2451|2501: {...}} with delta keys, ascending, preferred (shortest) encoding:
// byte-exact with the cBRSKI Appendix C payloads. Decoding takes SID deltas, tag-47 absolute SIDs, the
// name form ("ietf-voucher:voucher" / "ietf-voucher-request:voucher" with simple leaf names, where an
// integer key is an absolute SID), any mix of these, and indefinite lengths. It refuses (Status::BadRequest,
// naming the leaf): a wrong outer key or more than one outer entry, a wrong value type, an assertion that is
// not a known enum value, a nonce outside 8..32 bytes, a duplicate leaf (also one leaf given as SID and as
// name), a key that is neither a SID nor a name, SIDs of the pre-2019 experimental range, and trailing bytes.
// Unknown leaves are kept in `unknown` (as diagnostic notation) for the caller to log, then ignored (RFC 8995
// §5.6.1).
//
// A leaf of the voucher-request tree only (prior-signed-voucher-request, proximity-registrar-*) met while
// decoding a voucher is such an unknown leaf, not an error: the voucher tree has no SID and no name for it
// (its SID is one of ietf-voucher-request's), and pledges MUST ignore what they do not know. Only the nonce
// has a length in the YANG (8..32); other lengths (a 32-byte sha256) and mandatory leaves (serial-number)
// are the callers' checks, so that each answers with its own code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace estgw::brski {

inline constexpr std::uint64_t kSidVoucher = 2451;
inline constexpr std::uint64_t kSidVoucherRequest = 2501;

// 8366bis §8.5.
enum class Assertion : std::uint64_t { Verified = 0, Logged = 1, Proximity = 2, AgentProximity = 3 };
std::string_view assertion_name(Assertion a);

// The leaves both trees share, plus those of one only (each documented with its tree). Absent = nullopt.
struct Voucher {
    std::optional<Assertion> assertion;
    std::optional<std::string> created_on;  // yang:date-and-time text, kept as received
    std::optional<bool> domain_cert_revocation_checks;
    std::optional<std::string> expires_on;
    std::optional<Bytes> idevid_issuer;  // the AKI extnValue TLV (04 18 30 16 80 14 ...), as received
    std::optional<std::string> last_renewal_date;
    std::optional<Bytes> nonce;
    std::optional<Bytes> pinned_domain_cert;  // DER X.509
    std::optional<Bytes> pinned_domain_pubk;  // DER SubjectPublicKeyInfo
    std::optional<Bytes> pinned_domain_pubk_sha256;
    std::optional<std::string> serial_number;
    std::optional<std::string> additional_configuration_url;
    std::optional<std::string> est_domain;
    std::optional<Bytes> manufacturer_proprietary;  // bstr wrapping CBOR, kept as received
    // The extensions leaf-list's CBOR encoding (an array of SIDs and names), in preferred serialization:
    // re-encoded on decode, so a list received with indefinite lengths compares equal to the definite one.
    std::optional<Bytes> extensions;

    // Voucher request only (ignored, and refused on encode, for a voucher):
    std::optional<Bytes> prior_signed_voucher_request;  // the whole PVR COSE_Sign1, tag included
    std::optional<Bytes> proximity_registrar_cert;      // DER X.509
    std::optional<Bytes> proximity_registrar_pubk_sha256;
    std::optional<Bytes> proximity_registrar_pubk;  // DER SPKI

    // Leaves this model does not know, e.g. "2599: h'00'" or "\"agent-sign-cert\": h'..'" (for logs):
    // the absolute SID or the name, then the value, cut after 64 characters. encode() ignores them.
    std::vector<std::string> unknown;

    bool operator==(const Voucher&) const = default;
};

enum class Kind { Voucher, VoucherRequest };

// {2451: {...}} or {2501: {...}}. Leaves that do not belong to `kind` are Status::BadRequest, and so are
// values decode() would refuse (an assertion outside the enum, a nonce outside 8..32 bytes, text that is
// not UTF-8, extensions that are not an array of SIDs and names): what encode() accepts, decode() takes
// back unchanged.
Result<Bytes> encode(Kind kind, const Voucher& v);

// Whether decode() refuses a nonce outside 8..32 bytes. Unchecked is for the registrar's PVR checks
// (pvr_checks.hpp): BRSKI.md §3.2 reports a nonce of the wrong length as check 9, after the signature and
// proximity checks, so the length is left to them; the nonce must still be a byte string.
enum class NonceLength { Checked, Unchecked };

// Decodes a payload of the given kind (the outer key decides the tree; the other tree's key is an error
// naming what was found).
Result<Voucher> decode(Kind kind, ByteView payload, NonceLength nonce_length = NonceLength::Checked);

}  // namespace estgw::brski
