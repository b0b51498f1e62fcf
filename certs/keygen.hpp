// Server-side key generation (RFC 7030 §4.4, RFC 9148 /skg and /skc).
//
// The server ignores the CSR's key for the certificate (RFC 7030 §4.4.1) but reads it as a hint: the new key
// has the same algorithm (EC curve, Ed25519/Ed448, RSA size) when the policy allows it, else P-256.
#pragma once

#include "certs/key_policy.hpp"
#include "common/openssl.hpp"
#include "common/result.hpp"

namespace estgw::certs {

// Client-chosen RSA sizes are honoured up to this; a larger request gets P-256 rather than minutes of CPU.
inline constexpr int kLargestGeneratedRsaBits = 4096;

// A fresh key pair of exactly this type. Safe to call from several threads at once.
Result<EvpPkeyPtr> generate_key(const KeyType& type);

// What generate_key_like makes for a CSR carrying `csr_key` (may be null): the CSR key's type when it is
// known, allowed by `policy` and (for RSA) at most kLargestGeneratedRsaBits; P-256 otherwise.
KeyType generated_key_type(const EVP_PKEY* csr_key, const KeyPolicy& policy);

Result<EvpPkeyPtr> generate_key_like(const EVP_PKEY* csr_key, const KeyPolicy& policy);

}  // namespace estgw::certs
