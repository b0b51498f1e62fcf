#include "common/x509.hpp"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>

namespace estgw {

namespace {

using ExtendedKeyUsagePtr =
    std::unique_ptr<EXTENDED_KEY_USAGE, OpensslDeleter<EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free>>;

Error bad_request(std::string message) {
    return make_error(Status::BadRequest, std::move(message));
}

// ---- subjectAltName ----

// The value of the one subjectAltName extension among `extensions`, empty when there is none. RFC 5280
// §4.2 forbids a repeated extension; a second SAN is refused rather than guessing which one counts.
Result<Bytes> san_value(const STACK_OF(X509_EXTENSION) * extensions, std::string_view what) {
    const int index = X509v3_get_ext_by_NID(extensions, NID_subject_alt_name, -1);
    if (index < 0) return Bytes{};
    if (X509v3_get_ext_by_NID(extensions, NID_subject_alt_name, index) >= 0) {
        return bad_request(std::string(what) + ": more than one subjectAltName extension");
    }
    const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(X509v3_get_ext(extensions, index));
    const ByteView bytes(ASN1_STRING_get0_data(value), static_cast<std::size_t>(ASN1_STRING_length(value)));
    // Parsed once here so that an identity never carries a SAN the comparison would choke on.
    auto names =
        d2i_exactly<GeneralNamesPtr>(bytes, d2i_GENERAL_NAMES, std::string(what) + " subjectAltName");
    if (!names) return names.error();
    return Bytes(bytes.begin(), bytes.end());
}

Result<GeneralNamesPtr> parse_san(const Bytes& san_der) {
    if (san_der.empty()) return GeneralNamesPtr(sk_GENERAL_NAME_new_null());
    return d2i_exactly<GeneralNamesPtr>(san_der, d2i_GENERAL_NAMES, "subjectAltName");
}

// all_names_in is quadratic; a CSR stuffed with names must not buy seconds of CPU per request. Real
// certificates stay far below this (public CAs cap at about 100 names).
constexpr int kMaxComparedNames = 1000;

// Every name of `a` also occurs in `b` (GENERAL_NAME_cmp compares directoryName with X509_NAME_cmp, the
// rest by value).
bool all_names_in(const GENERAL_NAMES* a, const GENERAL_NAMES* b) {
    for (int i = 0; i < sk_GENERAL_NAME_num(a); ++i) {
        bool found = false;
        for (int j = 0; j < sk_GENERAL_NAME_num(b) && !found; ++j) {
            found = GENERAL_NAME_cmp(sk_GENERAL_NAME_value(a, i), sk_GENERAL_NAME_value(b, j)) == 0;
        }
        if (!found) return false;
    }
    return true;
}

// ---- challengePassword ----

bool is_printable_string(ByteView s) {
    // X.680 §41.4 PrintableString.
    constexpr std::string_view kPunctuation = " '()+,-./:=?";
    for (unsigned char c : s) {
        const bool alphanumeric = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alphanumeric && kPunctuation.find(static_cast<char>(c)) == std::string_view::npos) return false;
    }
    return true;
}

bool is_ia5_string(ByteView s) {
    for (unsigned char c : s) {
        if (c >= 0x80) return false;
    }
    return true;
}

bool is_utf8_string(ByteView s) {
    std::size_t i = 0;
    while (i < s.size()) {
        unsigned long code_point = 0;
        const int used = UTF8_getc(s.data() + i, static_cast<int>(s.size() - i), &code_point);
        if (used <= 0) return false;
        i += static_cast<std::size_t>(used);
    }
    return true;
}

// The DirectoryString choices a challengePassword may use here (RFC 2985 §5.4.1 allows more, but RFC 7030
// §3.5 fills it with base64, which all of these can hold).
struct PasswordStringType {
    int asn1_type;
    bool (*well_formed)(ByteView);
};
constexpr PasswordStringType kPasswordStringTypes[] = {
    {V_ASN1_UTF8STRING, is_utf8_string},
    {V_ASN1_PRINTABLESTRING, is_printable_string},
    {V_ASN1_IA5STRING, is_ia5_string},
};

}  // namespace

// ---- parsing and encoding ----

Result<X509Ptr> parse_certificate_der(ByteView der) {
    return d2i_exactly<X509Ptr>(der, d2i_X509, "certificate");
}

std::shared_ptr<const X509> share_certificate(X509Ptr cert) {
    if (!cert) return nullptr;
    X509_get_extension_flags(cert.get());
    return std::shared_ptr<const X509>(cert.release(),
                                       [](const X509* c) { X509_free(const_cast<X509*>(c)); });
}

Result<X509ReqPtr> parse_csr_der(ByteView der) {
    return d2i_exactly<X509ReqPtr>(der, d2i_X509_REQ, "CSR");
}

Result<Bytes> certificate_to_der(const X509* cert) {
    return i2d_bytes(cert, i2d_X509);
}

Result<Bytes> csr_to_der(const X509_REQ* csr) {
    return i2d_bytes(csr, i2d_X509_REQ);
}

// ---- CSR checks ----

Result<void> verify_csr_signature(const X509_REQ* csr) {
    if (csr == nullptr) return make_error(Status::Internal, "CSR signature: no CSR");
    // OpenSSL 3.0 takes these non-const; neither call modifies the request.
    auto* request = const_cast<X509_REQ*>(csr);
    return verify_csr_signature(csr, X509_REQ_get0_pubkey(request));
}

Result<void> verify_csr_signature(const X509_REQ* csr, const EVP_PKEY* key) {
    if (csr == nullptr) return make_error(Status::Internal, "CSR signature: no CSR");
    if (key == nullptr) return openssl_error(Status::BadRequest, "CSR signature", "public key unreadable");
    // OpenSSL 3.0 takes these non-const; neither call modifies the request. The default library context
    // explicitly: a request parsed by parse_csr_with_key carries one without algorithms.
    if (X509_REQ_verify_ex(const_cast<X509_REQ*>(csr), const_cast<EVP_PKEY*>(key), nullptr, nullptr) != 1) {
        return openssl_error(Status::BadRequest, "CSR signature",
                             "does not verify with the CSR's public key");
    }
    return {};
}

Result<std::optional<std::string>> csr_challenge_password(const X509_REQ* csr) {
    if (csr == nullptr) return make_error(Status::Internal, "challengePassword: no CSR");
    const int index = X509_REQ_get_attr_by_NID(csr, NID_pkcs9_challengePassword, -1);
    if (index < 0) return std::optional<std::string>{};
    if (X509_REQ_get_attr_by_NID(csr, NID_pkcs9_challengePassword, index) >= 0) {
        return bad_request("challengePassword: attribute present more than once");
    }
    // PKCS#9 (RFC 2985 §5.4.1): SINGLE VALUE, a DirectoryString; RFC 7030 §3.5 puts base64 in it.
    X509_ATTRIBUTE* attribute = X509_REQ_get_attr(csr, index);
    if (X509_ATTRIBUTE_count(attribute) != 1) {
        return bad_request("challengePassword: " + std::to_string(X509_ATTRIBUTE_count(attribute)) +
                           " values, expected one");
    }
    const ASN1_TYPE* value = X509_ATTRIBUTE_get0_type(attribute, 0);
    const int type = ASN1_TYPE_get(value);
    for (const PasswordStringType& allowed : kPasswordStringTypes) {
        if (allowed.asn1_type != type) continue;
        const ASN1_STRING* text = value->value.asn1_string;
        const ByteView bytes(ASN1_STRING_get0_data(text), static_cast<std::size_t>(ASN1_STRING_length(text)));
        if (!allowed.well_formed(bytes)) {
            return bad_request("challengePassword: characters not allowed in its string type");
        }
        return std::optional<std::string>(to_string(bytes));
    }
    return bad_request("challengePassword: ASN.1 type " + std::to_string(type) +
                       " is not UTF8String, PrintableString or IA5String");
}

// ---- identities ----

Result<SubjectIdentity> certificate_identity(const X509* cert) {
    if (cert == nullptr) return make_error(Status::Internal, "certificate identity: no certificate");
    SubjectIdentity identity;
    ESTGW_TRY(subject, i2d_bytes(X509_get_subject_name(cert), i2d_X509_NAME));
    ESTGW_TRY(san, san_value(X509_get0_extensions(cert), "certificate"));
    identity.subject_der = std::move(subject);
    identity.san_der = std::move(san);
    return identity;
}

Result<SubjectIdentity> csr_identity(const X509_REQ* csr) {
    if (csr == nullptr) return make_error(Status::Internal, "CSR identity: no CSR");
    SubjectIdentity identity;
    ESTGW_TRY(subject, i2d_bytes(X509_REQ_get_subject_name(csr), i2d_X509_NAME));
    // OpenSSL 3.0 takes the request non-const; it only reads the extensionRequest attribute.
    const X509ExtensionStackPtr extensions(X509_REQ_get_extensions(const_cast<X509_REQ*>(csr)));
    // OpenSSL 3 returns an empty stack when there is no extensionRequest, and null when it does not decode.
    if (!extensions) return openssl_error(Status::BadRequest, "CSR", "extensionRequest attribute malformed");
    ESTGW_TRY(san, san_value(extensions.get(), "CSR"));
    identity.subject_der = std::move(subject);
    identity.san_der = std::move(san);
    return identity;
}

Result<bool> csr_matches_certificate_identity(const X509_REQ* csr, const X509* cert) {
    ESTGW_TRY(requested, csr_identity(csr));
    ESTGW_TRY(current, certificate_identity(cert));
    // X509_NAME_cmp compares canonical encodings (case and white space folded), as RFC 5280 §7.1 asks.
    if (X509_NAME_cmp(X509_REQ_get_subject_name(csr), X509_get_subject_name(cert)) != 0) {
        ERR_clear_error();
        return false;
    }
    if (requested.san_der == current.san_der) return true;
    ESTGW_TRY(requested_names, parse_san(requested.san_der));
    ESTGW_TRY(current_names, parse_san(current.san_der));
    if (sk_GENERAL_NAME_num(requested_names.get()) > kMaxComparedNames ||
        sk_GENERAL_NAME_num(current_names.get()) > kMaxComparedNames) {
        return bad_request("subjectAltName: more than " + std::to_string(kMaxComparedNames) +
                           " names to compare");
    }
    return all_names_in(requested_names.get(), current_names.get()) &&
           all_names_in(current_names.get(), requested_names.get());
}

std::string name_to_string(const X509_NAME* name) {
    if (name == nullptr) return {};
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) {
        ERR_clear_error();
        return {};
    }
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    return length > 0 ? std::string(data, static_cast<std::size_t>(length)) : std::string();
}

std::optional<std::string> subject_serial_number(const X509* cert) {
    if (cert == nullptr) return std::nullopt;
    const X509_NAME* name = X509_get_subject_name(cert);
    const int index = X509_NAME_get_index_by_NID(name, NID_serialNumber, -1);
    if (index < 0) return std::nullopt;
    unsigned char* text = nullptr;
    const int length = ASN1_STRING_to_UTF8(&text, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index)));
    if (length < 0) {
        ERR_clear_error();
        return std::nullopt;
    }
    OpensslMallocPtr<unsigned char> owner(text);
    return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(length));
}

bool is_issued_by(const X509* subject, const X509* issuer) {
    if (subject == nullptr || issuer == nullptr) return false;
    // OpenSSL 3.0 takes these non-const (it caches decoded extensions); the certificates are not changed.
    auto* subject_cert = const_cast<X509*>(subject);
    auto* issuer_cert = const_cast<X509*>(issuer);
    EVP_PKEY* issuer_key = X509_get0_pubkey(issuer);
    const bool issued = X509_check_issued(issuer_cert, subject_cert) == X509_V_OK && issuer_key != nullptr &&
                        X509_verify(subject_cert, issuer_key) == 1;
    ERR_clear_error();
    return issued;
}

bool is_self_issued(const X509* cert) {
    if (cert == nullptr) return false;
    const bool same = X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)) == 0;
    ERR_clear_error();
    return same;
}

bool has_extended_key_usage(const X509* cert, int purpose_nid) {
    if (cert == nullptr) return false;
    ExtendedKeyUsagePtr usages(
        static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(cert, NID_ext_key_usage, nullptr, nullptr)));
    ERR_clear_error();
    if (!usages) return false;
    for (int i = 0; i < sk_ASN1_OBJECT_num(usages.get()); ++i) {
        if (OBJ_obj2nid(sk_ASN1_OBJECT_value(usages.get(), i)) == purpose_nid) return true;
    }
    return false;
}

}  // namespace estgw
