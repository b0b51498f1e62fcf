// DER helpers over OpenSSL: certificates, CSRs, certs-only PKCS#7, private keys, identity comparison.
// Every parser here takes bytes from the network: strict (whole input consumed) and fuzzed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/openssl.hpp"
#include "common/result.hpp"

namespace estgw {

// ---- parsing (the whole input must be exactly one DER object; trailing bytes are an error) ----
Result<X509Ptr> parse_certificate_der(ByteView der);
Result<X509ReqPtr> parse_csr_der(ByteView der);
Result<Pkcs7Ptr> parse_pkcs7_der(ByteView der);

// ---- encoding ----
Result<Bytes> certificate_to_der(const X509* cert);
Result<Bytes> csr_to_der(const X509_REQ* csr);

// ---- certs-only (RFC 7030 §4.1.3 / RFC 5652 degenerate SignedData) ----
// The certificates of a certs-only PKCS#7, in the order they are stored. Error if it is not signedData
// or carries signerInfos.
Result<std::vector<X509Ptr>> certs_only_certificates(ByteView der);
Result<std::vector<Bytes>> certs_only_certificates_der(ByteView der);
// Builds a certs-only SignedData (no signers, no content) holding the given DER certificates in order.
Result<Bytes> make_certs_only(const std::vector<Bytes>& certificates_der);

// ---- private keys ----
// Accepts PKCS#8 PrivateKeyInfo, PKCS#1 RSAPrivateKey or SEC1 ECPrivateKey DER and returns PKCS#8 DER.
// An input that is already PKCS#8 is returned byte for byte.
Result<Bytes> normalize_private_key_to_pkcs8(ByteView der);

// ---- CSR checks ----
// Verifies the CSR self-signature (proof of possession, RFC 7030 §4.2.1).
Result<void> verify_csr_signature(const X509_REQ* csr);
// challengePassword attribute (1.2.840.113549.1.9.7) as bytes of its string value, if present.
Result<std::optional<std::string>> csr_challenge_password(const X509_REQ* csr);

// ---- identities ----
// DER of the subject Name, and the DER of the subjectAltName extension value (GeneralNames), empty if none.
struct SubjectIdentity {
    Bytes subject_der;
    Bytes san_der;
    bool operator==(const SubjectIdentity&) const = default;
};
Result<SubjectIdentity> certificate_identity(const X509* cert);
Result<SubjectIdentity> csr_identity(const X509_REQ* csr);
// RFC 7030 §4.2.2: subject and subjectAltName identical (X.509 name comparison, SAN as a set of names).
Result<bool> csr_matches_certificate_identity(const X509_REQ* csr, const X509* cert);

// One line: the RFC 2253 form of a name, for logs.
std::string name_to_string(const X509_NAME* name);

// True if `issuer` issued `subject` (name match and signature verifies).
bool is_issued_by(const X509* subject, const X509* issuer);
// True if the certificate's subject equals its issuer.
bool is_self_issued(const X509* cert);

}  // namespace estgw
