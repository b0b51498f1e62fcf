#include "certs/ca.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "certs/der_writer.hpp"
#include "common/csr_with_key.hpp"
#include "common/der.hpp"
#include "common/keys.hpp"
#include "common/pem.hpp"
#include "common/pem_file.hpp"
#include "common/small_file.hpp"
#include "common/x509.hpp"

namespace estgw::certs {

namespace {

using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, OpensslDeleter<ASN1_OBJECT, ASN1_OBJECT_free>>;

// Device clocks drift, and a certificate that is "not yet valid" for a few seconds fails the first DTLS
// handshake after enrollment; five minutes of backdating covers that without meaningfully extending validity.
constexpr long kBackdateSeconds = 5 * 60;
constexpr int kSerialOctets = 16;
constexpr int kLongestValidityDays = 100 * 366;
constexpr std::string_view kNoWellDefinedExpiration = "99991231235959Z";  // RFC 5280 §4.1.2.5
constexpr std::int64_t kNoWellDefinedExpirationSeconds = 253402300799;    // the same instant, Unix seconds

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

Bytes to_bytes(std::string_view text) {
    return Bytes(text.begin(), text.end());
}

// As serial_hex() prints a serial: uppercase, whole octets.
std::string upper_hex(ByteView octets) {
    std::string out = to_hex(octets);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](char c) { return c >= 'a' ? char(c - 'a' + 'A') : c; });
    return out;
}

Result<Bytes> object_der(const ASN1_OBJECT* object, std::string_view what) {
    if (object == nullptr) return internal(what);
    return i2d_bytes(object, i2d_ASN1_OBJECT);
}

// Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } (RFC 5280 §4.1).
Bytes extension(ByteView oid_der, bool critical, ByteView value) {
    static constexpr std::uint8_t kTrue[] = {der::kBoolean, 0x01, 0xff};
    return der::tlv(der::kSequence, der::concat({oid_der, critical ? ByteView(kTrue) : ByteView(),
                                                 der::tlv(der::kOctetString, value)}));
}

Result<Bytes> extension(int nid, bool critical, ByteView value) {
    ESTGW_TRY(oid, object_der(OBJ_nid2obj(nid), "extension OID"));
    return extension(oid, critical, value);
}

// A BIT STRING of named bits (X.690 §11.2.2: no trailing zero bits), as keyUsage is.
Bytes named_bits(const std::vector<int>& bits) {
    int highest = 0;
    for (int bit : bits)
        highest = std::max(highest, bit);
    Bytes content(1 + static_cast<std::size_t>(highest / 8 + 1), 0);
    for (int bit : bits)
        content[1 + static_cast<std::size_t>(bit / 8)] |= static_cast<std::uint8_t>(0x80 >> (bit % 8));
    int unused = 0;
    while (unused < 7 && (content.back() & (1 << unused)) == 0)
        ++unused;
    content[0] = static_cast<std::uint8_t>(unused);
    return der::tlv(der::kBitString, content);
}

// RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 (as ASN1_TIME_adj chooses).
Result<Bytes> time_der(std::int64_t seconds) {
    const auto t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    if (gmtime_r(&t, &tm) == nullptr) return make_error(Status::Internal, "certificate time out of range");
    const int year = tm.tm_year + 1900;
    char text[32];
    const bool utc = year >= 1950 && year < 2050;
    if (!utc && (year < 0 || year > 9999))
        return make_error(Status::Internal, "certificate time out of range");
    std::snprintf(text, sizeof text, utc ? "%02d%02d%02d%02d%02d%02dZ" : "%04d%02d%02d%02d%02d%02dZ",
                  utc ? year % 100 : year, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return der::tlv(utc ? der::kUtcTime : der::kGeneralizedTime, to_bytes(text));
}

Result<std::int64_t> unix_seconds(const ASN1_TIME* time) {
    std::tm tm{};
    if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return internal("certificate time unreadable");
    return static_cast<std::int64_t>(timegm(&tm));
}

// RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING contents (without the unused-bits
// octet), read from the SubjectPublicKeyInfo DER.
Result<Bytes> key_identifier(ByteView spki_der) {
    ESTGW_TRY(outer, read_der_header(spki_der));
    DerReader spki(spki_der.subspan(outer.header_length, outer.content_length), "SubjectPublicKeyInfo");
    if (auto algorithm = spki.next(der::kSequence, "algorithm"); !algorithm) return algorithm.error();
    ESTGW_TRY(bits, spki.next(der::kBitString, "subjectPublicKey"));
    if (bits.empty()) return make_error(Status::BadRequest, "SubjectPublicKeyInfo: empty subjectPublicKey");
    Bytes digest(SHA_DIGEST_LENGTH);
    if (SHA1(bits.data() + 1, bits.size() - 1, digest.data()) == nullptr) return internal("key identifier");
    return digest;
}

}  // namespace

// What the CA puts into every certificate it signs, encoded once when the IssuingCa is built: before, each
// issuance asked OpenSSL for the issuer name, key identifier and notAfter, and X509_sign fetched the
// signature and digest implementations anew (OpenSSL 3.0 takes provider locks for each fetch).
struct IssuerParts {
    Bytes name_der;
    Bytes key_id;  // the CA's subjectKeyIdentifier: the issued certificates' authorityKeyIdentifier
    std::int64_t not_after = 0;
    Bytes not_after_der;
    Bytes signature_algorithm_der;  // AlgorithmIdentifier, as the signature provider names it
    // Initialised once with the CA key and digest; each signature starts from a copy (EVP_MD_CTX_copy_ex only
    // reads it, so workers share it).
    EvpMdCtxPtr signing_template;
};

namespace {

// A signing context for `key` with the digest signature_digest() picks.
Result<EvpMdCtxPtr> signing_context(const EVP_PKEY* key) {
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, signature_digest(key), nullptr,
                                   const_cast<EVP_PKEY*>(key)) != 1) {
        return internal("signing context");
    }
    return ctx;
}

Result<Bytes> signature_algorithm(EVP_MD_CTX* ctx) {
    unsigned char buffer[128];
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, buffer, sizeof buffer),
        OSSL_PARAM_construct_end()};
    if (EVP_PKEY_CTX_get_params(EVP_MD_CTX_get_pkey_ctx(ctx), params) != 1 ||
        !OSSL_PARAM_modified(&params[0])) {
        return internal("signature AlgorithmIdentifier");
    }
    return Bytes(buffer, buffer + params[0].return_size);
}

// What signing with `key` needs, for a self-signed certificate.
Result<std::shared_ptr<IssuerParts>> signing_parts(const EVP_PKEY* key) {
    auto parts = std::make_shared<IssuerParts>();
    ESTGW_TRY(ctx, signing_context(key));
    ESTGW_TRY(algorithm, signature_algorithm(ctx.get()));
    parts->signature_algorithm_der = std::move(algorithm);
    parts->signing_template = std::move(ctx);
    return parts;
}

Result<std::shared_ptr<IssuerParts>> issuer_parts(const X509* cert, const EVP_PKEY* key) {
    ESTGW_TRY(parts, signing_parts(key));
    ESTGW_TRY(name, i2d_bytes(X509_get_subject_name(cert), i2d_X509_NAME));
    parts->name_der = std::move(name);
    // OpenSSL 3.0 takes the certificate non-const because it caches decoded extensions; create() filled it.
    const ASN1_OCTET_STRING* id = X509_get0_subject_key_id(const_cast<X509*>(cert));
    if (id != nullptr) {
        parts->key_id.assign(ASN1_STRING_get0_data(id), ASN1_STRING_get0_data(id) + ASN1_STRING_length(id));
    } else {
        ESTGW_TRY(spki, i2d_bytes(X509_get_X509_PUBKEY(cert), i2d_X509_PUBKEY));
        ESTGW_TRY(computed, key_identifier(spki));
        parts->key_id = std::move(computed);
    }
    ESTGW_TRY(end, unix_seconds(X509_get0_notAfter(cert)));
    parts->not_after = end;
    ESTGW_TRY(end_der, i2d_bytes(X509_get0_notAfter(cert), i2d_ASN1_TIME));
    parts->not_after_der = std::move(end_der);
    return parts;
}

Result<Bytes> sign(ByteView tbs, const EVP_PKEY* key, const EVP_MD_CTX* signing_template) {
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx) return internal("signing context");
    if (signing_template == nullptr || EVP_MD_CTX_copy_ex(ctx.get(), signing_template) != 1) {
        // A provider whose signature context cannot be duplicated: start afresh (OpenSSL 3.0's ECDSA, as
        // measured, copies; the unit tests sign with EC, Ed25519 and RSA CA keys either way).
        ERR_clear_error();
        ESTGW_TRY(fresh, signing_context(key));
        ctx = std::move(fresh);
    }
    std::size_t length = static_cast<std::size_t>(EVP_PKEY_get_size(key));
    Bytes signature(length);
    if (EVP_DigestSign(ctx.get(), signature.data(), &length, tbs.data(), tbs.size()) != 1) {
        return internal("signature");
    }
    signature.resize(length);
    return signature;
}

Result<Bytes> key_usage_extension(bool ca, const EVP_PKEY* subject_key) {
    std::vector<int> bits{kDigitalSignature};
    if (ca) {
        bits.insert(bits.end(), {kKeyCertSign, kCrlSign});
    } else if (EVP_PKEY_get_base_id(subject_key) == EVP_PKEY_RSA) {
        bits.push_back(kKeyEncipherment);  // RSA key transport (TLS 1.2 RSA suites, CMS ktri)
    }
    return extension(NID_key_usage, true, named_bits(bits));
}

Result<Bytes> extended_key_usage_extension(const std::vector<int>& purposes) {
    Bytes oids;
    for (int nid : purposes) {
        const ASN1_OBJECT* purpose = OBJ_nid2obj(nid);
        if (purpose == nullptr || OBJ_length(purpose) == 0) {
            ERR_clear_error();
            return make_error(Status::Internal, "extendedKeyUsage: unknown NID " + std::to_string(nid));
        }
        ESTGW_TRY(oid, object_der(purpose, "extendedKeyUsage"));
        oids.insert(oids.end(), oid.begin(), oid.end());
    }
    return extension(NID_ext_key_usage, false, der::tlv(der::kSequence, oids));
}

Result<Bytes> custom_extension(const CustomExtension& custom) {
    Asn1ObjectPtr oid(OBJ_txt2obj(custom.oid.c_str(), 1));
    if (!oid) return make_error(Status::Internal, "extension OID '" + custom.oid + "' is not dotted");
    ESTGW_TRY(oid_der, object_der(oid.get(), "extension OID"));
    return extension(oid_der, custom.critical, custom.value_der);
}

struct Validity {
    std::int64_t not_before = 0;
    std::int64_t not_after = 0;
    Bytes der;  // Validity ::= SEQUENCE { notBefore, notAfter }
};

Result<Validity> validity(const IssuerParts* issuer, const CertificateSpec& spec) {
    const int days = spec.validity_days;
    if (!spec.no_well_defined_expiration && (days < 1 || days > kLongestValidityDays)) {
        return make_error(Status::Internal, "validity of " + std::to_string(days) + " days is out of range");
    }
    const std::int64_t now = std::time(nullptr);
    Validity v;
    v.not_before = now - kBackdateSeconds;
    ESTGW_TRY(begin, time_der(v.not_before));
    Bytes end;
    if (spec.no_well_defined_expiration) {
        // The 15-character form is a GeneralizedTime, which RFC 5280 §4.1.2.5 requires from 2050 on.
        v.not_after = kNoWellDefinedExpirationSeconds;
        end = der::tlv(der::kGeneralizedTime, to_bytes(kNoWellDefinedExpiration));
    } else {
        v.not_after = now + std::int64_t{days} * 24 * 60 * 60;
        ESTGW_TRY(encoded, time_der(v.not_after));
        end = std::move(encoded);
    }
    if (issuer != nullptr) {
        if (issuer->not_after <= now) return make_error(Status::Internal, "the CA certificate has expired");
        // A certificate cannot outlive its issuer's: chain validation would fail at the CA's expiry anyway.
        if (v.not_after > issuer->not_after) {
            v.not_after = issuer->not_after;
            end = issuer->not_after_der;
        }
    }
    v.der = der::tlv(der::kSequence, der::concat({begin, end}));
    return v;
}

// Writes and signs one certificate (RFC 5280 §4.1) with `signing_key`; self-signed, only the signature parts
// of `signer` are used.
Result<IssuedCertificate> write_certificate(const IssueRequest& request, const IssuerParts& signer,
                                            bool self_signed, const EVP_PKEY* signing_key,
                                            const CertificateSpec& spec) {
    if (request.subject == nullptr || request.public_key == nullptr) {
        return make_error(Status::Internal, "certificate issuance: no subject or public key");
    }
    const bool has_sans =
        request.subject_alt_names != nullptr && sk_GENERAL_NAME_num(request.subject_alt_names) > 0;
    const bool empty_subject = X509_NAME_entry_count(request.subject) == 0;
    if (empty_subject && !has_sans) {
        return make_error(Status::BadRequest, "the request names no subject and no subjectAltName");
    }
    IssuedCertificate issued;
    unsigned char serial[kSerialOctets];
    do {
        if (RAND_bytes(serial, sizeof serial) != 1) return internal("no random serial");
        serial[0] &= 0x7f;  // DER INTEGER: a set top bit would make the serial negative
    } while (std::all_of(std::begin(serial), std::end(serial), [](unsigned char c) { return c == 0; }));
    ByteView magnitude(serial, sizeof serial);
    while (magnitude.size() > 1 && magnitude.front() == 0)
        magnitude = magnitude.subspan(1);
    issued.serial_hex = upper_hex(magnitude);

    ESTGW_TRY(subject, i2d_bytes(request.subject, i2d_X509_NAME));
    Bytes public_key;
    if (!request.public_key_der.empty()) {
        public_key.assign(request.public_key_der.begin(), request.public_key_der.end());
    } else {
        auto encoded = i2d_bytes(request.public_key, i2d_PUBKEY);
        if (!encoded) {
            return openssl_error(Status::BadRequest, "certificate issuance", "public key cannot be encoded");
        }
        public_key = std::move(*encoded);
    }
    ESTGW_TRY(subject_key_id, key_identifier(public_key));
    ESTGW_TRY(times, validity(self_signed ? nullptr : &signer, spec));
    issued.not_before = times.not_before;
    issued.not_after = times.not_after;

    // The extensions in the order the OpenSSL-built certificates had them.
    static constexpr std::uint8_t kNotACa[] = {der::kSequence, 0x00};
    static constexpr std::uint8_t kACa[] = {der::kSequence, 0x03, der::kBoolean, 0x01, 0xff};
    std::vector<Bytes> extensions;
    ESTGW_TRY(constraints,
              extension(NID_basic_constraints, true, spec.ca ? ByteView(kACa) : ByteView(kNotACa)));
    extensions.push_back(std::move(constraints));
    ESTGW_TRY(usage, key_usage_extension(spec.ca, request.public_key));
    extensions.push_back(std::move(usage));
    if (spec.extended_key_usages != nullptr && !spec.extended_key_usages->empty()) {
        ESTGW_TRY(purposes, extended_key_usage_extension(*spec.extended_key_usages));
        extensions.push_back(std::move(purposes));
    }
    ESTGW_TRY(ski, extension(NID_subject_key_identifier, false, der::tlv(der::kOctetString, subject_key_id)));
    extensions.push_back(std::move(ski));
    const Bytes& authority_key_id = self_signed ? subject_key_id : signer.key_id;
    ESTGW_TRY(aki, extension(NID_authority_key_identifier, false,
                             der::tlv(der::kSequence, der::tlv(der::kContext0, authority_key_id))));
    extensions.push_back(std::move(aki));
    if (has_sans) {
        ESTGW_TRY(names, i2d_bytes(request.subject_alt_names, i2d_GENERAL_NAMES));
        // RFC 5280 §4.2.1.6: with an empty subject the names are the identity, so the extension is critical.
        ESTGW_TRY(san, extension(NID_subject_alt_name, empty_subject, names));
        extensions.push_back(std::move(san));
    }
    if (spec.extra_extensions != nullptr) {
        for (const CustomExtension& custom : *spec.extra_extensions) {
            ESTGW_TRY(encoded, custom_extension(custom));
            extensions.push_back(std::move(encoded));
        }
    }
    Bytes all_extensions;
    for (const Bytes& e : extensions)
        all_extensions.insert(all_extensions.end(), e.begin(), e.end());

    static constexpr std::uint8_t kVersion3[] = {der::kContext0Constructed, 0x03, der::kInteger, 0x01, 0x02};
    const Bytes tbs = der::tlv(
        der::kSequence,
        der::concat({kVersion3, der::unsigned_integer(magnitude), signer.signature_algorithm_der,
                     self_signed ? ByteView(subject) : ByteView(signer.name_der), times.der, subject,
                     public_key,
                     der::tlv(der::kContext3Constructed, der::tlv(der::kSequence, all_extensions))}));
    ESTGW_TRY(signature, sign(tbs, signing_key, signer.signing_template.get()));
    Bytes signature_bits{0x00};  // no unused bits
    signature_bits.insert(signature_bits.end(), signature.begin(), signature.end());
    issued.der = der::tlv(der::kSequence, der::concat({tbs, signer.signature_algorithm_der,
                                                       der::tlv(der::kBitString, signature_bits)}));
    issued.subject = name_to_string(request.subject);
    return issued;
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
    auto parts = issuer_parts(certificate.get(), key.get());
    if (!parts) return make_error(Status::Internal, "CA: " + parts.error().message);
    return IssuingCa(std::move(certificate), std::move(key), std::move(chain), std::move(*parts));
}

Result<IssuingCa> IssuingCa::create_self_signed(const X509_NAME* subject, EvpPkeyPtr key, int validity_days,
                                                bool no_well_defined_expiration) {
    if (!key) return make_error(Status::Internal, "CA: no key");
    const IssueRequest request{subject, nullptr, key.get(), {}};
    CertificateSpec spec;
    spec.validity_days = validity_days;
    spec.no_well_defined_expiration = no_well_defined_expiration;
    spec.ca = true;
    ESTGW_TRY(signer, signing_parts(key.get()));
    ESTGW_TRY(issued, write_certificate(request, *signer, true, key.get(), spec));
    ESTGW_TRY(cert, parse_certificate_der(issued.der));
    return create(std::move(cert), std::move(key));
}

Result<X509Ptr> IssuingCa::issue(const X509_REQ* csr, const IssuanceProfile& profile) const {
    return issue(csr, nullptr, profile);
}

Result<X509Ptr> IssuingCa::issue(const X509_REQ* csr, const EVP_PKEY* public_key,
                                 const IssuanceProfile& profile) const {
    ESTGW_TRY(issued, issue_der(csr, public_key, profile));
    return parse_certificate_der(issued.der);
}

Result<X509Ptr> IssuingCa::issue(const IssueRequest& request, const IssuanceProfile& profile) const {
    ESTGW_TRY(issued, issue_der(request, profile));
    return parse_certificate_der(issued.der);
}

Result<IssuedCertificate> IssuingCa::issue_der(const X509_REQ* csr, const EVP_PKEY* public_key,
                                               const IssuanceProfile& profile, bool key_is_the_csrs) const {
    if (csr == nullptr) return make_error(Status::Internal, "certificate issuance: no CSR");
    ESTGW_TRY(names, requested_subject_alt_names(csr));
    IssueRequest request{X509_REQ_get_subject_name(csr), names.get(), public_key, {}};
    Bytes csr_key_der;
    if (key_is_the_csrs || public_key == nullptr) {
        // OpenSSL 3.0 takes the request non-const; it decoded the key once, when the CSR was parsed.
        if (public_key == nullptr) request.public_key = X509_REQ_get0_pubkey(const_cast<X509_REQ*>(csr));
        if (request.public_key == nullptr)
            return openssl_error(Status::BadRequest, "CSR", "public key unreadable");
        // The CSR's SubjectPublicKeyInfo as it came: X509_set_pubkey would encode the key afresh, and
        // decode it again (half the cost of an issuance in OpenSSL 3.0).
        ESTGW_TRY(spki, csr_public_key_der(csr));
        csr_key_der = std::move(spki);
        request.public_key_der = csr_key_der;
    }
    return issue_der(request, profile);
}

Result<IssuedCertificate> IssuingCa::issue_der(const IssueRequest& request,
                                               const IssuanceProfile& profile) const {
    CertificateSpec spec;
    spec.validity_days = profile.validity_days;
    spec.no_well_defined_expiration = profile.no_well_defined_expiration;
    spec.extended_key_usages = &profile.extended_key_usages;
    spec.extra_extensions = &profile.extra_extensions;
    return write_certificate(request, *parts_, false, key_.get(), spec);
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
    return same_public_key(X509_REQ_get0_pubkey(const_cast<X509_REQ*>(csr)), current);
}

Result<bool> same_public_key(const EVP_PKEY* requested, const X509* current) {
    if (current == nullptr) return make_error(Status::Internal, "same_public_key: no input");
    const EVP_PKEY* existing = X509_get0_pubkey(current);
    if (requested == nullptr || existing == nullptr) {
        return openssl_error(Status::BadRequest, "re-enrollment", "public key unreadable");
    }
    ESTGW_TRY(requested_spki, public_key_to_der(requested));
    ESTGW_TRY(existing_spki, public_key_to_der(existing));
    return requested_spki == existing_spki;
}

Bytes certs_only_der(ByteView certificate_der) {
    // ContentInfo { id-signedData, [0] SignedData { version 1, digestAlgorithms {}, encapContentInfo
    // { id-data }, certificates [0] IMPLICIT, signerInfos {} } } (RFC 5652 §5.1), as OpenSSL writes it.
    static constexpr std::uint8_t kSignedData[] = {der::kOid, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                                   0xf7,      0x0d, 0x01, 0x07, 0x02};
    static constexpr std::uint8_t kVersion1[] = {der::kInteger, 0x01, 0x01};
    static constexpr std::uint8_t kEmptySet[] = {der::kSet, 0x00};
    static constexpr std::uint8_t kDataContent[] = {der::kSequence, 0x0b, der::kOid, 0x09, 0x2a, 0x86, 0x48,
                                                    0x86,           0xf7, 0x0d,      0x01, 0x07, 0x01};
    const Bytes signed_data = der::tlv(
        der::kSequence, der::concat({kVersion1, kEmptySet, kDataContent,
                                     der::tlv(der::kContext0Constructed, certificate_der), kEmptySet}));
    return der::tlv(der::kSequence,
                    der::concat({kSignedData, der::tlv(der::kContext0Constructed, signed_data)}));
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
