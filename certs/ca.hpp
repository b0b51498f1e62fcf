// The issuing CA of full-server mode: signs end-entity certificates (RFC 7030 §4.2, §4.4) and answers
// /crts (RFC 7030 §4.1.3).
//
// An IssuingCa is immutable once built, so issue() and the accessors may be called from any number of
// worker threads at once (OpenSSL 3 treats a shared EVP_PKEY and X509 as read-only while signing).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/openssl.hpp"
#include "common/result.hpp"

namespace estgw::certs {

// An extension copied into the certificate as given, e.g. id-pe-masa-url (RFC 8995 §2.3.2).
struct CustomExtension {
    std::string oid;  // dotted, "1.3.6.1.5.5.7.1.32"
    bool critical = false;
    Bytes value_der;  // the DER that goes into extnValue
};

struct IssuanceProfile {
    int validity_days = 365;  // cut to the CA certificate's notAfter
    // notAfter 99991231235959Z instead ("no well-defined expiration date", RFC 5280 §4.1.2.5), as 802.1AR
    // IDevIDs have; validity_days is then ignored. Still cut to the CA's notAfter, so the CA needs it too.
    bool no_well_defined_expiration = false;
    // extendedKeyUsage purposes (NID_client_auth, NID_server_auth, NID_cmcRA, ...); empty: no extension.
    std::vector<int> extended_key_usages{NID_client_auth};
    std::vector<CustomExtension> extra_extensions;
};

// What a certificate is issued for when there is no CSR to copy it from (or the key is not the CSR's).
struct IssueRequest {
    const X509_NAME* subject = nullptr;                // may be empty when subject_alt_names is not
    const GENERAL_NAMES* subject_alt_names = nullptr;  // null or empty: no subjectAltName
    const EVP_PKEY* public_key = nullptr;
    // The SubjectPublicKeyInfo DER of public_key when the caller has it already (a CSR's), copied as is;
    // empty: encoded from public_key.
    ByteView public_key_der{};
};

// A certificate as issued: its DER and the fields the issuance store records, without an X509 object (parsing
// the certificate back would decode its public key again, OpenSSL 3.0's costliest step).
struct IssuedCertificate {
    Bytes der;
    std::string serial_hex;       // as serial_hex() prints it
    std::string subject;          // RFC 2253, as name_to_string() prints it
    std::int64_t not_before = 0;  // Unix seconds
    std::int64_t not_after = 0;
};

// What the CA puts into every certificate it signs, encoded once (see ca.cpp).
struct IssuerParts;

class IssuingCa {
  public:
    // The first certificate of `cert_file` (PEM) is the CA; the ones after it are its chain towards the
    // root. `key_file` holds the CA's unencrypted private key (PKCS#8, PKCS#1 or SEC1 PEM), which must match.
    static Result<IssuingCa> load(const std::filesystem::path& cert_file,
                                  const std::filesystem::path& key_file);
    static Result<IssuingCa> from_pem(std::string_view cert_pem, std::string_view key_pem);
    // The certificate must be a CA certificate (basicConstraints cA, keyCertSign when keyUsage is present)
    // and `key` its private key.
    static Result<IssuingCa> create(X509Ptr certificate, EvpPkeyPtr key, std::vector<X509Ptr> chain = {});
    // A new self-signed root: basicConstraints critical cA, keyUsage critical keyCertSign + cRLSign +
    // digitalSignature (it also signs server-generated key packages, RFC 7030 §4.4.2), SKI, AKI. With
    // `no_well_defined_expiration` its notAfter is 99991231235959Z (a manufacturer CA of IDevIDs).
    static Result<IssuingCa> create_self_signed(const X509_NAME* subject, EvpPkeyPtr key, int validity_days,
                                                bool no_well_defined_expiration = false);

    // A certificate for the CSR's subject, subjectAltName and public key. Only the subjectAltName of the
    // extensionRequest is honoured; every other extension comes from `profile`:
    //  - serial: 16 random octets with the top bit cleared (positive, RFC 5280 §4.1.2.2); uniqueness is the
    //    store's constraint, so a caller that meets a duplicate issues again;
    //  - notBefore now − 5 minutes (clock skew of constrained devices), notAfter now + validity_days, cut to
    //    the CA's notAfter;
    //  - basicConstraints cA FALSE; keyUsage critical: digitalSignature (+ keyEncipherment for RSA);
    //    extendedKeyUsage from the profile; SKI (SHA-1 of the key, RFC 5280 §4.2.1.2 method 1); AKI = CA SKI;
    //  - subjectAltName copied, critical when the subject is empty (RFC 5280 §4.2.1.6).
    // The CSR signature is not checked here (certs/csr_policy.hpp does). An empty subject without
    // subjectAltName, or an unreadable one, is BadRequest.
    Result<X509Ptr> issue(const X509_REQ* csr, const IssuanceProfile& profile) const;
    // The same names, but for `public_key` (server-side key generation, RFC 7030 §4.4.1).
    Result<X509Ptr> issue(const X509_REQ* csr, const EVP_PKEY* public_key,
                          const IssuanceProfile& profile) const;
    Result<X509Ptr> issue(const IssueRequest& request, const IssuanceProfile& profile) const;
    // The same certificates, as DER with the fields of the issuance record: what full-server enrollment uses.
    // `public_key` null: the CSR's. With `key_is_the_csrs` the given key is the CSR's own (made by
    // parse_csr_with_key), and the CSR's SubjectPublicKeyInfo is copied as received.
    Result<IssuedCertificate> issue_der(const X509_REQ* csr, const EVP_PKEY* public_key,
                                        const IssuanceProfile& profile, bool key_is_the_csrs = false) const;
    Result<IssuedCertificate> issue_der(const IssueRequest& request, const IssuanceProfile& profile) const;

    const X509* certificate() const { return certificate_.get(); }
    const EVP_PKEY* private_key() const { return key_.get(); }
    // The CA certificate and then its chain, DER: what /crts returns (RFC 7030 §4.1.3).
    Result<std::vector<Bytes>> ca_certificates_der() const;
    // The same as a certs-only PKCS#7 (Content-Format 281).
    Result<Bytes> cacerts_response() const;

  private:
    IssuingCa(X509Ptr certificate, EvpPkeyPtr key, std::vector<X509Ptr> chain,
              std::shared_ptr<const IssuerParts> parts)
        : certificate_(std::move(certificate)),
          key_(std::move(key)),
          chain_(std::move(chain)),
          parts_(std::move(parts)) {}

    X509Ptr certificate_;
    EvpPkeyPtr key_;
    std::vector<X509Ptr> chain_;
    std::shared_ptr<const IssuerParts> parts_;
};

// A certs-only PKCS#7 (RFC 7030 §4.1.3, Content-Format 281) holding one certificate given as DER, written
// without parsing it: the same bytes as make_certs_only_from_parsed() gives for the parsed certificate.
Bytes certs_only_der(ByteView certificate_der);

// RFC 7030 §4.2.2: a re-enrollment with the same SubjectPublicKeyInfo is a renewal, otherwise a rekey.
Result<bool> same_public_key(const X509_REQ* csr, const X509* current);
// The same for the CSR's key given (parse_csr_with_key).
Result<bool> same_public_key(const EVP_PKEY* requested, const X509* current);

// The certificate's serial number in uppercase hex, as `openssl x509 -serial` prints it ("4F1C...").
std::string serial_hex(const X509* cert);

}  // namespace estgw::certs
