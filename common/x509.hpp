// DER helpers over OpenSSL: certificates, CSRs and identity comparison; x509.hpp also brings in the
// certs-only PKCS#7 (pkcs7.hpp) and key (keys.hpp) helpers.
// Every parser here takes bytes from the network: strict (whole input consumed) and fuzzed.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/keys.hpp"
#include "common/openssl.hpp"
#include "common/pkcs7.hpp"
#include "common/result.hpp"

namespace estgw {

// ---- parsing (the whole input must be exactly one DER object; trailing bytes are an error) ----
Result<X509Ptr> parse_certificate_der(ByteView der);
// A certificate to share read-only between threads: OpenSSL's extension cache is filled here, once, since
// filling it later is a write.
std::shared_ptr<const X509> share_certificate(X509Ptr cert);
Result<X509ReqPtr> parse_csr_der(ByteView der);

// ---- encoding ----
Result<Bytes> certificate_to_der(const X509* cert);
Result<Bytes> csr_to_der(const X509_REQ* csr);

// ---- CSR checks ----
// Verifies the CSR self-signature (proof of possession, RFC 7030 §4.2.1).
Result<void> verify_csr_signature(const X509_REQ* csr);
// The same with the request's key given (parse_csr_with_key), in the default library context.
Result<void> verify_csr_signature(const X509_REQ* csr, const EVP_PKEY* key);
// challengePassword attribute (1.2.840.113549.1.9.7) as bytes of its string value, if present. The value may
// be a UTF8String, PrintableString or IA5String; another type, several values or several attributes is
// BadRequest.
Result<std::optional<std::string>> csr_challenge_password(const X509_REQ* csr);

// ---- identities ----
// DER of the subject Name, and the DER of the subjectAltName extension value (GeneralNames), empty if none.
struct SubjectIdentity {
    Bytes subject_der;
    Bytes san_der;
    bool operator==(const SubjectIdentity&) const = default;
};
Result<SubjectIdentity> certificate_identity(const X509* cert);
// For a CSR the subjectAltName comes from the extensionRequest attribute (RFC 2985 §5.4.2).
Result<SubjectIdentity> csr_identity(const X509_REQ* csr);
// RFC 7030 §4.2.2: subject and subjectAltName identical (X.509 name comparison, SAN as a set of names;
// no SAN on either side is equal). A malformed subjectAltName is BadRequest.
Result<bool> csr_matches_certificate_identity(const X509_REQ* csr, const X509* cert);

// One line: the RFC 2253 form of a name, for logs. Empty for a null name.
std::string name_to_string(const X509_NAME* name);
// The subject's X520 serialNumber attribute (2.5.4.5) as UTF-8: what a BRSKI voucher names a device by (RFC
// 8995 §2.3.1). nullopt without one (or when it cannot be read as text).
std::optional<std::string> subject_serial_number(const X509* cert);

// True if `issuer` issued `subject` (name, key identifier and key usage match, and the signature verifies).
bool is_issued_by(const X509* subject, const X509* issuer);
// True if the certificate's subject equals its issuer.
bool is_self_issued(const X509* cert);
// True if the certificate's extendedKeyUsage lists `purpose_nid`, e.g. NID_cmcRA (RFC 7030 §3.7, RFC 9148
// §9.2). False when the extension is absent or unreadable.
bool has_extended_key_usage(const X509* cert, int purpose_nid);

}  // namespace estgw
