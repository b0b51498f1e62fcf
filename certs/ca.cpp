#include "certs/ca.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include <ctime>

#include "common/keys.hpp"
#include "common/pem.hpp"
#include "common/pem_file.hpp"
#include "common/small_file.hpp"
#include "common/x509.hpp"

namespace estgw::certs {

namespace {

using BasicConstraintsPtr =
    std::unique_ptr<BASIC_CONSTRAINTS, OpensslDeleter<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free>>;
using AuthorityKeyIdPtr =
    std::unique_ptr<AUTHORITY_KEYID, OpensslDeleter<AUTHORITY_KEYID, AUTHORITY_KEYID_free>>;
using BitStringPtr = std::unique_ptr<ASN1_BIT_STRING, OpensslDeleter<ASN1_BIT_STRING, ASN1_BIT_STRING_free>>;
using OctetStringPtr =
    std::unique_ptr<ASN1_OCTET_STRING, OpensslDeleter<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>>;
using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, OpensslDeleter<ASN1_OBJECT, ASN1_OBJECT_free>>;
inline void free_object_stack(STACK_OF(ASN1_OBJECT) * s) {
    sk_ASN1_OBJECT_pop_free(s, ASN1_OBJECT_free);
}
using ObjectStackPtr =
    std::unique_ptr<STACK_OF(ASN1_OBJECT), OpensslDeleter<STACK_OF(ASN1_OBJECT), free_object_stack>>;

// Device clocks drift, and a certificate that is "not yet valid" for a few seconds fails the first DTLS
// handshake after enrollment; five minutes of backdating covers that without meaningfully extending validity.
constexpr long kBackdateSeconds = 5 * 60;
constexpr int kSerialOctets = 16;
constexpr int kLongestValidityDays = 100 * 366;
constexpr const char* kNoWellDefinedExpiration = "99991231235959Z";  // RFC 5280 §4.1.2.5

// RFC 5280 §4.2.1.3 bit positions.
constexpr int kDigitalSignature = 0;
constexpr int kKeyEncipherment = 2;
constexpr int kKeyCertSign = 5;
constexpr int kCrlSign = 6;

Error internal(std::string_view what) {
    return openssl_error(Status::Internal, "certificate issuance", what);
}

// Everything that differs between the CA's own certificate and the ones it issues.
struct CertificateSpec {
    int validity_days = 365;
    bool no_well_defined_expiration = false;
    bool ca = false;
    const std::vector<int>* extended_key_usages = nullptr;
    const std::vector<CustomExtension>* extra_extensions = nullptr;
};

Result<void> set_random_serial(X509* cert) {
    unsigned char octets[kSerialOctets];
    BignumPtr serial;
    do {
        if (RAND_bytes(octets, sizeof octets) != 1) return internal("no random serial");
        octets[0] &= 0x7f;  // DER INTEGER: a set top bit would make the serial negative
        serial.reset(BN_bin2bn(octets, sizeof octets, nullptr));
        if (!serial) return internal("serial number");
    } while (BN_is_zero(serial.get()));
    if (BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) == nullptr) return internal("serial");
    return {};
}

Result<void> add_extension(X509* cert, int nid, void* value, bool critical) {
    if (X509_add1_ext_i2d(cert, nid, value, critical ? 1 : 0, X509V3_ADD_DEFAULT) != 1) {
        return internal(std::string("extension ") + OBJ_nid2sn(nid));
    }
    return {};
}

Result<void> add_key_usage(X509* cert, bool ca, const EVP_PKEY* subject_key) {
    BitStringPtr usage(ASN1_BIT_STRING_new());
    if (!usage) return internal("keyUsage");
    std::vector<int> bits{kDigitalSignature};
    if (ca) {
        bits.insert(bits.end(), {kKeyCertSign, kCrlSign});
    } else if (EVP_PKEY_get_base_id(subject_key) == EVP_PKEY_RSA) {
        bits.push_back(kKeyEncipherment);  // RSA key transport (TLS 1.2 RSA suites, CMS ktri)
    }
    for (int bit : bits) {
        if (ASN1_BIT_STRING_set_bit(usage.get(), bit, 1) != 1) return internal("keyUsage bit");
    }
    return add_extension(cert, NID_key_usage, usage.get(), true);
}

Result<void> add_extended_key_usage(X509* cert, const std::vector<int>& purposes) {
    if (purposes.empty()) return {};
    ObjectStackPtr usages(sk_ASN1_OBJECT_new_null());
    if (!usages) return internal("extendedKeyUsage");
    for (int nid : purposes) {
        Asn1ObjectPtr purpose(OBJ_nid2obj(nid));
        if (!purpose)
            return make_error(Status::Internal, "extendedKeyUsage: unknown NID " + std::to_string(nid));
        if (sk_ASN1_OBJECT_push(usages.get(), purpose.get()) <= 0) return internal("extendedKeyUsage");
        purpose.release();  // now owned by the stack
    }
    return add_extension(cert, NID_ext_key_usage, usages.get(), false);
}

// RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING contents.
Result<OctetStringPtr> key_identifier(const X509* cert) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (X509_pubkey_digest(cert, EVP_sha1(), digest, &length) != 1) return internal("key identifier");
    OctetStringPtr id(ASN1_OCTET_STRING_new());
    if (!id || ASN1_OCTET_STRING_set(id.get(), digest, static_cast<int>(length)) != 1) {
        return internal("key identifier");
    }
    return id;
}

Result<void> add_key_identifiers(X509* cert, const X509* issuer) {
    ESTGW_TRY(subject_id, key_identifier(cert));
    if (auto r = add_extension(cert, NID_subject_key_identifier, subject_id.get(), false); !r) return r;
    AuthorityKeyIdPtr authority(AUTHORITY_KEYID_new());
    if (!authority) return internal("authorityKeyIdentifier");
    // OpenSSL 3.0 takes the certificate non-const because it caches decoded extensions; the CA's cache was
    // filled when the IssuingCa was built, so concurrent issuers only read it here.
    const ASN1_OCTET_STRING* issuer_id =
        issuer != nullptr ? X509_get0_subject_key_id(const_cast<X509*>(issuer)) : subject_id.get();
    if (issuer_id != nullptr) {
        authority->keyid = ASN1_OCTET_STRING_dup(issuer_id);
    } else {
        ESTGW_TRY(computed, key_identifier(issuer));
        authority->keyid = computed.release();
    }
    if (authority->keyid == nullptr) return internal("authorityKeyIdentifier");
    return add_extension(cert, NID_authority_key_identifier, authority.get(), false);
}

Result<void> add_custom_extension(X509* cert, const CustomExtension& extension) {
    Asn1ObjectPtr oid(OBJ_txt2obj(extension.oid.c_str(), 1));
    if (!oid) return make_error(Status::Internal, "extension OID '" + extension.oid + "' is not dotted");
    OctetStringPtr value(ASN1_OCTET_STRING_new());
    if (!value || ASN1_OCTET_STRING_set(value.get(), extension.value_der.data(),
                                        static_cast<int>(extension.value_der.size())) != 1) {
        return internal("extension value");
    }
    X509ExtensionPtr ext(
        X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), extension.critical ? 1 : 0, value.get()));
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) return internal("extension " + extension.oid);
    return {};
}

Result<void> set_validity(X509* cert, const X509* issuer, const CertificateSpec& spec) {
    const int days = spec.validity_days;
    if (!spec.no_well_defined_expiration && (days < 1 || days > kLongestValidityDays)) {
        return make_error(Status::Internal, "validity of " + std::to_string(days) + " days is out of range");
    }
    const std::time_t now = std::time(nullptr);
    if (ASN1_TIME_adj(X509_getm_notBefore(cert), now, 0, -kBackdateSeconds) == nullptr)
        return internal("validity");
    // The 15-character form sets a GeneralizedTime, which RFC 5280 §4.1.2.5 requires from 2050 on.
    if (spec.no_well_defined_expiration
            ? ASN1_TIME_set_string(X509_getm_notAfter(cert), kNoWellDefinedExpiration) != 1
            : ASN1_TIME_adj(X509_getm_notAfter(cert), now, days, 0) == nullptr) {
        return internal("validity");
    }
    if (issuer == nullptr) return {};
    const ASN1_TIME* issuer_end = X509_get0_notAfter(issuer);
    std::time_t check = now;
    if (X509_cmp_time(issuer_end, &check) <= 0) {
        return make_error(Status::Internal, "the CA certificate has expired");
    }
    // A certificate cannot outlive its issuer's: chain validation would fail at the CA's expiry anyway.
    if (ASN1_TIME_compare(X509_get0_notAfter(cert), issuer_end) > 0 &&
        X509_set1_notAfter(cert, issuer_end) != 1) {
        return internal("notAfter");
    }
    return {};
}

// Builds and signs one certificate; `issuer` null means self-signed by `signing_key`.
Result<X509Ptr> build_certificate(const IssueRequest& request, const X509* issuer,
                                  const EVP_PKEY* signing_key, const CertificateSpec& spec) {
    if (request.subject == nullptr || request.public_key == nullptr) {
        return make_error(Status::Internal, "certificate issuance: no subject or public key");
    }
    const bool has_sans =
        request.subject_alt_names != nullptr && sk_GENERAL_NAME_num(request.subject_alt_names) > 0;
    const bool empty_subject = X509_NAME_entry_count(request.subject) == 0;
    if (empty_subject && !has_sans) {
        return make_error(Status::BadRequest, "the request names no subject and no subjectAltName");
    }
    X509Ptr cert(X509_new());
    if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) return internal("X509_new");
    if (auto r = set_random_serial(cert.get()); !r) return r.error();
    if (X509_set_subject_name(cert.get(), request.subject) != 1 ||
        X509_set_issuer_name(cert.get(),
                             issuer != nullptr ? X509_get_subject_name(issuer) : request.subject) != 1) {
        return internal("names");
    }
    // X509_set_pubkey only encodes the key (and takes a reference); it does not change it.
    if (X509_set_pubkey(cert.get(), const_cast<EVP_PKEY*>(request.public_key)) != 1) {
        return openssl_error(Status::BadRequest, "certificate issuance", "public key cannot be encoded");
    }
    if (auto r = set_validity(cert.get(), issuer, spec); !r) return r.error();

    BasicConstraintsPtr constraints(BASIC_CONSTRAINTS_new());
    if (!constraints) return internal("basicConstraints");
    constraints->ca = spec.ca ? 0xff : 0;
    if (auto r = add_extension(cert.get(), NID_basic_constraints, constraints.get(), true); !r)
        return r.error();
    if (auto r = add_key_usage(cert.get(), spec.ca, request.public_key); !r) return r.error();
    if (spec.extended_key_usages != nullptr) {
        if (auto r = add_extended_key_usage(cert.get(), *spec.extended_key_usages); !r) return r.error();
    }
    if (auto r = add_key_identifiers(cert.get(), issuer); !r) return r.error();
    if (has_sans) {
        // RFC 5280 §4.2.1.6: with an empty subject the names are the identity, so the extension is critical.
        auto* names = const_cast<GENERAL_NAMES*>(request.subject_alt_names);
        if (auto r = add_extension(cert.get(), NID_subject_alt_name, names, empty_subject); !r)
            return r.error();
    }
    if (spec.extra_extensions != nullptr) {
        for (const CustomExtension& extension : *spec.extra_extensions) {
            if (auto r = add_custom_extension(cert.get(), extension); !r) return r.error();
        }
    }
    // X509_sign creates its own signing context from the key; the shared key itself is not modified.
    auto* key = const_cast<EVP_PKEY*>(signing_key);
    if (X509_sign(cert.get(), key, signature_digest(signing_key)) <= 0) return internal("X509_sign");
    return cert;
}

// The subjectAltName requested in the CSR's extensionRequest (RFC 2985 §5.4.2); an empty stack when none.
Result<GeneralNamesPtr> requested_subject_alt_names(const X509_REQ* csr) {
    ESTGW_TRY(identity, csr_identity(csr));
    if (identity.san_der.empty()) return GeneralNamesPtr(sk_GENERAL_NAME_new_null());
    return d2i_exactly<GeneralNamesPtr>(identity.san_der, d2i_GENERAL_NAMES, "CSR subjectAltName");
}

}  // namespace

Result<IssuingCa> IssuingCa::load(const std::filesystem::path& cert_file,
                                  const std::filesystem::path& key_file) {
    ESTGW_TRY(cert_pem, read_small_file(cert_file, "CA certificate"));
    ESTGW_TRY(key_pem, read_small_file(key_file, "CA key"));
    auto ca = from_pem(cert_pem, key_pem);
    if (!ca) {
        return make_error(ca.error().status,
                          cert_file.string() + " / " + key_file.string() + ": " + ca.error().message);
    }
    return ca;
}

Result<IssuingCa> IssuingCa::from_pem(std::string_view cert_pem, std::string_view key_pem) {
    auto certificates = certificates_from_pem(cert_pem);
    if (!certificates)
        return make_error(Status::Internal, "CA certificate file: " + certificates.error().message);
    auto key = private_key_from_pem(key_pem);
    if (!key) return make_error(Status::Internal, "CA key file: " + key.error().message);

    X509Ptr ca = std::move(certificates->front());
    certificates->erase(certificates->begin());
    return create(std::move(ca), std::move(*key), std::move(*certificates));
}

Result<IssuingCa> IssuingCa::create(X509Ptr certificate, EvpPkeyPtr key, std::vector<X509Ptr> chain) {
    if (!certificate || !key) return make_error(Status::Internal, "CA: no certificate or key");
    // Also fills OpenSSL's per-certificate extension cache now, before worker threads share the object.
    const uint32_t flags = X509_get_extension_flags(certificate.get());
    if ((flags & EXFLAG_INVALID) != 0)
        return make_error(Status::Internal, "CA certificate has invalid extensions");
    if ((flags & EXFLAG_CA) == 0) {
        return make_error(Status::Internal, "the CA certificate " +
                                                name_to_string(X509_get_subject_name(certificate.get())) +
                                                " lacks basicConstraints cA TRUE");
    }
    if ((flags & EXFLAG_KUSAGE) != 0 && (X509_get_key_usage(certificate.get()) & KU_KEY_CERT_SIGN) == 0) {
        return make_error(Status::Internal, "the CA certificate's keyUsage lacks keyCertSign");
    }
    if (auto matches = check_key_matches(certificate.get(), key.get()); !matches)
        return make_error(Status::Internal, "CA: " + matches.error().message);
    for (const X509Ptr& cert : chain)
        X509_get_extension_flags(cert.get());
    ERR_clear_error();
    return IssuingCa(std::move(certificate), std::move(key), std::move(chain));
}

Result<IssuingCa> IssuingCa::create_self_signed(const X509_NAME* subject, EvpPkeyPtr key, int validity_days,
                                                bool no_well_defined_expiration) {
    if (!key) return make_error(Status::Internal, "CA: no key");
    const IssueRequest request{subject, nullptr, key.get()};
    CertificateSpec spec;
    spec.validity_days = validity_days;
    spec.no_well_defined_expiration = no_well_defined_expiration;
    spec.ca = true;
    ESTGW_TRY(cert, build_certificate(request, nullptr, key.get(), spec));
    return create(std::move(cert), std::move(key));
}

Result<X509Ptr> IssuingCa::issue(const X509_REQ* csr, const IssuanceProfile& profile) const {
    if (csr == nullptr) return make_error(Status::Internal, "certificate issuance: no CSR");
    // OpenSSL 3.0 takes the request non-const; it decodes the key once and caches it in the request.
    const EVP_PKEY* key = X509_REQ_get0_pubkey(const_cast<X509_REQ*>(csr));
    if (key == nullptr) return openssl_error(Status::BadRequest, "CSR", "public key unreadable");
    return issue(csr, key, profile);
}

Result<X509Ptr> IssuingCa::issue(const X509_REQ* csr, const EVP_PKEY* public_key,
                                 const IssuanceProfile& profile) const {
    if (csr == nullptr) return make_error(Status::Internal, "certificate issuance: no CSR");
    ESTGW_TRY(names, requested_subject_alt_names(csr));
    const IssueRequest request{X509_REQ_get_subject_name(csr), names.get(), public_key};
    return issue(request, profile);
}

Result<X509Ptr> IssuingCa::issue(const IssueRequest& request, const IssuanceProfile& profile) const {
    CertificateSpec spec;
    spec.validity_days = profile.validity_days;
    spec.no_well_defined_expiration = profile.no_well_defined_expiration;
    spec.extended_key_usages = &profile.extended_key_usages;
    spec.extra_extensions = &profile.extra_extensions;
    return build_certificate(request, certificate_.get(), key_.get(), spec);
}

Result<std::vector<Bytes>> IssuingCa::ca_certificates_der() const {
    std::vector<Bytes> out;
    ESTGW_TRY(own, certificate_to_der(certificate_.get()));
    out.push_back(std::move(own));
    for (const X509Ptr& cert : chain_) {
        ESTGW_TRY(der, certificate_to_der(cert.get()));
        out.push_back(std::move(der));
    }
    return out;
}

Result<Bytes> IssuingCa::cacerts_response() const {
    std::vector<const X509*> certificates{certificate_.get()};
    for (const X509Ptr& cert : chain_)
        certificates.push_back(cert.get());
    return make_certs_only_from_parsed(certificates);
}

Result<bool> same_public_key(const X509_REQ* csr, const X509* current) {
    if (csr == nullptr || current == nullptr)
        return make_error(Status::Internal, "same_public_key: no input");
    const EVP_PKEY* requested = X509_REQ_get0_pubkey(const_cast<X509_REQ*>(csr));
    const EVP_PKEY* existing = X509_get0_pubkey(current);
    if (requested == nullptr || existing == nullptr) {
        return openssl_error(Status::BadRequest, "re-enrollment", "public key unreadable");
    }
    ESTGW_TRY(requested_spki, public_key_to_der(requested));
    ESTGW_TRY(existing_spki, public_key_to_der(existing));
    return requested_spki == existing_spki;
}

std::string serial_hex(const X509* cert) {
    if (cert == nullptr) return {};
    BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
    if (!serial) {
        ERR_clear_error();
        return {};
    }
    OpensslMallocPtr<char> text(BN_bn2hex(serial.get()));
    return text ? std::string(text.get()) : std::string();
}

}  // namespace estgw::certs
