// Private and public key DER: PKCS#8 (RFC 5958), PKCS#1 (RFC 8017), SEC1 (RFC 5915), SubjectPublicKeyInfo.
// Every parser here takes bytes from the network: strict (whole input consumed) and fuzzed.
#pragma once

#include <string>

#include "common/bytes.hpp"
#include "common/openssl.hpp"
#include "common/result.hpp"

namespace estgw {

// Accepts PKCS#8 PrivateKeyInfo, PKCS#1 RSAPrivateKey or SEC1 ECPrivateKey DER and returns PKCS#8 DER.
// An input that is already PKCS#8 is returned byte for byte, even for an algorithm OpenSSL does not know
// (the gateway relays server-generated keys, RFC 9148 §4.8, it does not use them).
// EncryptedPrivateKeyInfo and anything else is Status::BadRequest.
Result<Bytes> normalize_private_key_to_pkcs8(ByteView der);

// A usable private key from PKCS#8, PKCS#1 or SEC1 DER.
Result<EvpPkeyPtr> parse_private_key_der(ByteView der);
// Unencrypted PKCS#8 PrivateKeyInfo DER of a private key.
Result<Bytes> private_key_to_pkcs8_der(const EVP_PKEY* key);

// SubjectPublicKeyInfo DER ⇄ key. Equal SPKI DER means the same public key (RFC 7030 §4.2.2 renew vs rekey).
Result<EvpPkeyPtr> parse_public_key_der(ByteView spki);
Result<Bytes> public_key_to_der(const EVP_PKEY* key);

// The hash estgw signs certificates and CSRs with: it follows the key's strength (RFC 5480 §4: SHA-256 for
// P-256, SHA-384 for P-384, SHA-512 for P-521; SHA-256 for RSA), and none for EdDSA, which hashes itself.
const EVP_MD* signature_digest(const EVP_PKEY* key);

// For logs: "EC prime256v1", "RSA 2048", "ED25519"; "none" for a null key.
std::string key_description(const EVP_PKEY* key);

}  // namespace estgw
