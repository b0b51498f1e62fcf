// The key part of a server-side key generation answer (RFC 7030 §4.4.2, RFC 9148 §4.8).
//
// A CSR that asks for an encrypted key carries SMIMECapabilities (1.2.840.113549.1.9.15) and either
//  - DecryptKeyIdentifier (RFC 4108, id-aa-decryptKeyID 1.2.840.113549.1.9.16.2.37, RFC 7030 §4.4.1.1):
//    a symmetric key the server already shares with the client → kekri (KEKRecipientInfo, version 4), or
//  - AsymmetricDecryptKeyIdentifier (1.2.840.113549.1.9.16.2.54, RFC 7030 §4.4.1.2): the subject key
//    identifier of a certificate → ktri for an RSA key, kari for an EC key, rid = that identifier.
// Its answer is Content-Format 280: EnvelopedData ( SignedData ( AsymmetricKeyPackage ) ), where the
// SignedData is signed by the CA key and its eContentType is id-ct-KP-aKeyPackage (RFC 5958 §3-4, to which
// RFC 7030 §4.4.2 defers), holding the one PKCS#8 OneAsymmetricKey. Any other CSR gets Content-Format 284:
// the PKCS#8 PrivateKeyInfo as is.
//
// For /skg and /skc: resolve_key_protection before generating the key, then server_key_part. All functions
// are stateless and thread-safe; EnvelopeKeys is only read.
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include "certs/ca.hpp"
#include "common/bytes.hpp"
#include "common/est.hpp"
#include "common/openssl.hpp"
#include "common/result.hpp"

namespace estgw::certs {

inline constexpr const char* kOidDecryptKeyIdentifier = "1.2.840.113549.1.9.16.2.37";
inline constexpr const char* kOidAsymmetricDecryptKeyIdentifier = "1.2.840.113549.1.9.16.2.54";
inline constexpr const char* kOidAsymmetricKeyPackage = "2.16.840.1.101.2.1.2.78.5";  // id-ct-KP-aKeyPackage

// A key-encryption key the server shares with clients, named by a DecryptKeyIdentifier.
struct SymmetricKey {
    Bytes id;
    Bytes key;  // 16, 24 or 32 octets: AES-128/192/256 key wrap (RFC 3394)
};

// What the server can encrypt a generated key to.
struct EnvelopeKeys {
    std::vector<SymmetricKey> symmetric;
    // Candidates for AsymmetricDecryptKeyIdentifier, borrowed for the call: the DTLS client certificate as
    // the handshake parsed it (PeerIdentity::certificate), whose key the pledge holds.
    std::vector<const X509*> recipient_certificates;
};

// The key table file: one "<id-hex> <key-hex>" pair per line; blank lines and '#' comments are skipped.
// Keys must be 16, 24 or 32 octets, ids non-empty and unique. Errors name the line (never the key).
Result<std::vector<SymmetricKey>> parse_symmetric_keys(std::string_view text);
Result<std::vector<SymmetricKey>> load_symmetric_keys(const std::filesystem::path& file);

enum class KeyProtection { None, Symmetric, Asymmetric };

struct KeyProtectionRequest {
    KeyProtection kind = KeyProtection::None;
    Bytes key_identifier;           // the DecryptKeyIdentifier or AsymmetricDecryptKeyIdentifier value
    std::vector<int> capabilities;  // SMIMECapabilities, as NIDs (unknown algorithms left out)
};

// Reads the attributes above. BadRequest when an identifier is malformed, present with several values,
// both kinds are present, or an identifier comes without SMIMECapabilities (RFC 7030 §4.4.1.1-2 require it;
// answering such a request with a cleartext key would silently drop the protection the client asked for).
Result<KeyProtectionRequest> requested_key_protection(const X509_REQ* csr);

// A protection the server has checked it can provide: the request resolved against its keys. Resolving needs
// only the CSR and EnvelopeKeys, never the generated key, so that a request the server cannot serve is
// refused before key generation (seconds for RSA-4096) rather than after it.
struct KeyProtectionPlan {
    KeyProtection kind = KeyProtection::None;
    const EVP_CIPHER* content_cipher = nullptr;  // Symmetric, Asymmetric: the AES-CBC to encrypt with
    const SymmetricKey* shared_key = nullptr;    // Symmetric: the key named, inside the resolved EnvelopeKeys
    X509Ptr recipient;                           // Asymmetric: the certificate with that subjectKeyIdentifier
    bool oaep = false;                           // Asymmetric, RSA: RSAES-OAEP, else RSAES-PKCS1-v1_5
};

// requested_key_protection, then the choices below. The content cipher is the AES-CBC listed in
// SMIMECapabilities closest to (and not below, when possible) the strength of the recipient key; the client
// must list at least one of aes128-CBC, aes192-CBC, aes256-CBC. For kekri, when the client lists key-wrap
// algorithms, the wrap that fits the shared key's size must be among them. ktri uses RSAES-OAEP when the
// client lists id-RSAES-OAEP. No usable key named (including no shared keys configured at all) → BadRequest
// naming the identifier. A Symmetric plan points into `keys`, which must outlive it.
Result<KeyProtectionPlan> resolve_key_protection(const X509_REQ* csr, const EnvelopeKeys& keys);
Result<KeyProtectionPlan> resolve_key_protection(const X509_REQ* csr, EnvelopeKeys&& keys) = delete;

// EnvelopedData DER for `pkcs8` as described above, as `plan` says (its kind must not be None).
Result<Bytes> envelope_private_key(ByteView pkcs8, const KeyProtectionPlan& plan, const IssuingCa& signer);

// The signed inner layer alone: SignedData, eContentType id-ct-KP-aKeyPackage, signed by the CA.
Result<Bytes> sign_key_package(ByteView pkcs8, const IssuingCa& signer);

struct ServerKeyPart {
    ContentFormat format = ContentFormat::Pkcs8;  // Pkcs8 (284) or ServerGeneratedKey (280)
    Bytes body;
};

// The key part for /skg and /skc: 284 + PKCS#8 of `key`, or 280 + EnvelopedData as `plan` says.
Result<ServerKeyPart> server_key_part(const KeyProtectionPlan& plan, const EVP_PKEY* key,
                                      const IssuingCa& signer);

}  // namespace estgw::certs
