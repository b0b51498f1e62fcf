// COSE_Sign1 (RFC 9052 §4.2, §4.4) as cBRSKI uses it for voucher requests and vouchers (BRSKI.md §2).
//
//   18([protected: bstr .cbor {1: alg, ...}, unprotected: {...}, payload: bstr, signature: bstr])
//
// Algorithms: ES256 (-7, P-256, the signature is raw r‖s of exactly 64 bytes, RFC 9053 §2.1) and EdDSA (-8,
// Ed25519, RFC 9053 §2.2; -19 "Ed25519" of RFC 9864 accepted on input). The alg header must sit in the
// protected map and must match the verifying key's type. The protected header is kept as the exact bytes
// received: the Sig_structure (RFC 9052 §4.4) is built from them, never from a re-encoding.
// x5bag (32) and x5chain (33) (RFC 9360 §2) are one bstr or an array of bstrs, in either header map.
//
// Decoding is strict about structure (tag 18, four elements, the types above, known-critical labels, no
// trailing bytes, a nesting limit) and, like every YANG-CBOR carrier, takes indefinite lengths (BRSKI.md
// §1.2; RFC 9052 §9 binds only the Sig_structure to definite lengths). Encoding is definite and shortest.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/bytes.hpp"
#include "common/cbor.hpp"
#include "common/openssl.hpp"
#include "common/result.hpp"

namespace estgw::cose {

inline constexpr std::uint64_t kTagSign1 = 18;

inline constexpr std::int64_t kHeaderAlg = 1;
inline constexpr std::int64_t kHeaderCrit = 2;
inline constexpr std::int64_t kHeaderContentType = 3;
inline constexpr std::int64_t kHeaderKid = 4;
inline constexpr std::int64_t kHeaderX5Bag = 32;
inline constexpr std::int64_t kHeaderX5Chain = 33;

enum class Algorithm : std::int64_t {
    ES256 = -7,
    EdDSA = -8,
    Ed25519 = -19,  // RFC 9864; accepted on input, never emitted
};

struct Sign1 {
    Bytes protected_bytes;    // the protected bstr's content exactly as received (empty = empty map)
    cbor::Map protected_map;  // its decoding (empty when protected_bytes is empty)
    cbor::Map unprotected;    // the unprotected header map
    Bytes payload;            // the payload bstr's content (COSE_Sign1 here is never detached)
    Bytes signature;          // as received

    // alg from the protected map (nullopt when absent or not an integer).
    std::optional<std::int64_t> alg() const;
    // Certificates (DER) of x5bag and x5chain, from the protected then the unprotected map, in order
    // of appearance; a bare bstr is one certificate.
    std::vector<Bytes> certificates() const;
};

// Decodes a COSE_Sign1. Tag 18 is required (BRSKI.md D3: every cBRSKI example is tagged and the tag is
// what the voucher+cose media type carries; an untagged array is refused with a message saying so).
// Status::BadRequest with a message naming what is wrong.
Result<Sign1> decode_sign1(ByteView in);

// The Sig_structure bytes: ["Signature1", protected_bytes, h'', payload] with definite lengths.
Bytes sig_structure(const Sign1& message);

// Verifies the signature with `key`: alg must be present in the protected map and fit the key (ES256 ⇔
// P-256 EC key, EdDSA/-19 ⇔ Ed25519); Status::Forbidden "signature does not verify" on a bad signature,
// Status::BadRequest for a mismatch of alg and key or a signature that is not exactly 64 bytes (ES256 r‖s
// and Ed25519 alike).
Result<void> verify_sign1(const Sign1& message, const EVP_PKEY* key);

// Signs `payload`: protected {1: alg} (ES256 for a P-256 key, EdDSA -8 for Ed25519; other keys are
// Status::BadRequest), the given unprotected map, tag 18. Returns the encoded COSE_Sign1.
Result<Bytes> sign1(ByteView payload, const cbor::Map& unprotected, const EVP_PKEY* key);

// The x5bag/x5chain value for these DER certificates: a bare bstr for one (RFC 9360 §2), else an array.
// An empty list gives an empty array, which sign1 and decode_sign1 refuse.
cbor::Value certificate_bag(const std::vector<Bytes>& der_certificates);

// Re-encodes `message` with the unprotected labels in `labels` removed; protected, payload and signature
// bytes stay as they were (cBRSKI §6.8: the registrar strips x5bag/x5chain before forwarding a voucher).
Bytes encode_without_unprotected(const Sign1& message, const std::vector<std::int64_t>& labels);

// ES256 signature conversion: OpenSSL's DER ECDSA-Sig-Value ⇄ raw r‖s (each half left-padded to 32).
Result<Bytes> ecdsa_der_to_raw(ByteView der);
Result<Bytes> ecdsa_raw_to_der(ByteView raw);  // BadRequest unless exactly 64 bytes

}  // namespace estgw::cose
