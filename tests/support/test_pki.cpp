#include "support/test_pki.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <atomic>
#include <stdexcept>

#include "common/keys.hpp"
#include "common/pem.hpp"
#include "common/pem_file.hpp"
#include "support/process.hpp"
#include "support/test_data.hpp"

namespace estgw::test {

namespace {

using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, OpensslDeleter<GENERAL_NAME, GENERAL_NAME_free>>;

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("test PKI: " + what + " " + openssl_errors());
}

void check(bool ok, const std::string& what) {
    if (!ok) fail(what);
}

void add_extension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
    X509ExtensionPtr extension(X509V3_EXT_nconf_nid(nullptr, ctx, nid, value.c_str()));
    check(extension != nullptr, "extension " + value);
    check(X509_add_ext(cert, extension.get(), -1) == 1, "X509_add_ext");
}

// Builds and signs a certificate; `san` (may be null) is copied in as is.
X509Ptr build_certificate(const X509_NAME* subject, EVP_PKEY* subject_key, const X509* issuer,
                          EVP_PKEY* issuer_key, const CertOptions& options, const X509_EXTENSION* san) {
    static std::atomic<long> next_serial{1000};
    X509Ptr cert(X509_new());
    check(cert != nullptr, "X509_new");
    check(X509_set_version(cert.get(), X509_VERSION_3) == 1, "version");
    const long serial = options.serial != 0 ? options.serial : next_serial++;
    check(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial) == 1, "serial");
    check(X509_set_subject_name(cert.get(), subject) == 1, "subject");
    check(X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : subject) == 1,
          "issuer");
    check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), options.not_before_offset_seconds) != nullptr,
          "notBefore");
    check(X509_gmtime_adj(X509_getm_notAfter(cert.get()), options.days * 24 * 3600) != nullptr, "notAfter");
    check(X509_set_pubkey(cert.get(), subject_key) == 1, "public key");

    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer != nullptr ? const_cast<X509*>(issuer) : cert.get(), cert.get(), nullptr,
                   nullptr, 0);
    if (options.ca) {
        add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE");
        add_extension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_extension(cert.get(), &ctx, NID_basic_constraints, "CA:FALSE");
        add_extension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    }
    add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash");
    add_extension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
    if (!options.extended_key_usage.empty()) {
        add_extension(cert.get(), &ctx, NID_ext_key_usage, options.extended_key_usage);
    }
    if (san != nullptr) {
        check(X509_add_ext(cert.get(), const_cast<X509_EXTENSION*>(san), -1) == 1, "copy subjectAltName");
    } else if (!options.sans.empty()) {
        const X509ExtensionPtr extension = make_san_extension(options.sans);
        check(X509_add_ext(cert.get(), extension.get(), -1) == 1, "subjectAltName");
    }
    check(X509_sign(cert.get(), issuer_key, signature_digest(issuer_key)) > 0, "X509_sign");
    return cert;
}

}  // namespace

EvpPkeyPtr make_key(KeyKind kind) {
    EvpPkeyPtr key;
    switch (kind) {
        case KeyKind::P256:
            key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
            break;
        case KeyKind::P384:
            key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
            break;
        case KeyKind::Rsa2048:
            key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
            break;
        case KeyKind::Ed25519:
            key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
            break;
    }
    check(key != nullptr, "key generation");
    return key;
}

X509NamePtr make_name(const std::string& text) {
    X509NamePtr name(X509_NAME_new());
    check(name != nullptr, "X509_NAME_new");
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find(',', start);
        if (end == std::string::npos) end = text.size();
        const std::string entry = text.substr(start, end - start);
        const std::size_t equals = entry.find('=');
        if (equals == std::string::npos) fail("name entry without '=': " + entry);
        const std::string field = entry.substr(0, equals);
        const std::string value = entry.substr(equals + 1);
        check(X509_NAME_add_entry_by_txt(name.get(), field.c_str(), MBSTRING_UTF8,
                                         reinterpret_cast<const unsigned char*>(value.data()),
                                         static_cast<int>(value.size()), -1, 0) == 1,
              "name entry " + entry);
        start = end + 1;
    }
    return name;
}

X509ExtensionPtr make_san_extension(const std::vector<std::string>& sans) {
    struct Kind {
        std::string_view prefix;
        int type;
    };
    static constexpr Kind kKinds[] = {
        {"DNS:", GEN_DNS}, {"IP:", GEN_IPADD}, {"email:", GEN_EMAIL}, {"URI:", GEN_URI}, {"RID:", GEN_RID},
    };
    GeneralNamesPtr names(sk_GENERAL_NAME_new_null());
    check(names != nullptr, "GENERAL_NAMES");
    for (const std::string& san : sans) {
        GeneralNamePtr name;
        if (san.rfind("dirName:", 0) == 0) {
            name.reset(GENERAL_NAME_new());
            check(name != nullptr, "GENERAL_NAME_new");
            GENERAL_NAME_set0_value(name.get(), GEN_DIRNAME, make_name(san.substr(8)).release());
        } else {
            for (const Kind& kind : kKinds) {
                if (san.rfind(kind.prefix, 0) != 0) continue;
                const std::string value = san.substr(kind.prefix.size());
                name.reset(a2i_GENERAL_NAME(nullptr, nullptr, nullptr, kind.type, value.c_str(), 0));
            }
        }
        check(name != nullptr, "subjectAltName entry " + san);
        check(sk_GENERAL_NAME_push(names.get(), name.get()) > 0, "push GENERAL_NAME");
        name.release();  // now owned by the stack
    }
    X509ExtensionPtr extension(X509V3_EXT_i2d(NID_subject_alt_name, 0, names.get()));
    check(extension != nullptr, "subjectAltName extension");
    return extension;
}

CertOptions expired(CertOptions options) {
    options.not_before_offset_seconds = -2 * 24 * 3600;
    options.days = -1;
    return options;
}

X509Ptr make_certificate(const std::string& subject, EVP_PKEY* subject_key, const X509* issuer,
                         EVP_PKEY* issuer_key, const CertOptions& options) {
    const X509NamePtr name = make_name(subject);
    return build_certificate(name.get(), subject_key, issuer, issuer_key, options, nullptr);
}

X509Ptr make_self_signed_ca(const std::string& subject, EVP_PKEY* key) {
    CertOptions options;
    options.ca = true;
    return make_certificate(subject, key, nullptr, key, options);
}

X509ReqPtr make_csr(const std::string& subject, const std::vector<std::string>& sans, EVP_PKEY* key,
                    const std::optional<std::string>& challenge_password) {
    X509ReqPtr csr(X509_REQ_new());
    check(csr != nullptr, "X509_REQ_new");
    check(X509_REQ_set_version(csr.get(), X509_REQ_VERSION_1) == 1, "CSR version");
    const X509NamePtr name = make_name(subject);
    check(X509_REQ_set_subject_name(csr.get(), name.get()) == 1, "CSR subject");
    check(X509_REQ_set_pubkey(csr.get(), key) == 1, "CSR public key");
    if (!sans.empty()) {
        X509ExtensionStackPtr extensions(sk_X509_EXTENSION_new_null());
        check(extensions != nullptr, "extension stack");
        X509ExtensionPtr san = make_san_extension(sans);
        check(sk_X509_EXTENSION_push(extensions.get(), san.get()) > 0, "push extension");
        san.release();  // now owned by the stack
        check(X509_REQ_add_extensions(csr.get(), extensions.get()) == 1, "CSR extensionRequest");
    }
    if (challenge_password) {
        add_csr_string_attribute(csr.get(), NID_pkcs9_challengePassword, V_ASN1_UTF8STRING,
                                 *challenge_password);
    }
    sign_csr(csr.get(), key);
    return csr;
}

void add_csr_string_attribute(X509_REQ* csr, int nid, int asn1_type, const std::string& value) {
    check(X509_REQ_add1_attr_by_NID(csr, nid, asn1_type, reinterpret_cast<const unsigned char*>(value.data()),
                                    static_cast<int>(value.size())) == 1,
          "CSR attribute");
}

void sign_csr(X509_REQ* csr, EVP_PKEY* key) {
    check(X509_REQ_sign(csr, key, signature_digest(key)) > 0, "X509_REQ_sign");
}

X509Ptr issue_cert(const X509_REQ* csr, const X509* ca, EVP_PKEY* ca_key, const CertOptions& options) {
    auto* request = const_cast<X509_REQ*>(csr);
    EVP_PKEY* key = X509_REQ_get0_pubkey(request);
    check(key != nullptr, "CSR public key");
    X509ExtensionStackPtr extensions(X509_REQ_get_extensions(request));
    const int san_index = X509v3_get_ext_by_NID(extensions.get(), NID_subject_alt_name, -1);
    const X509_EXTENSION* san = san_index >= 0 ? X509v3_get_ext(extensions.get(), san_index) : nullptr;
    CertOptions no_sans = options;
    no_sans.sans.clear();
    return build_certificate(X509_REQ_get_subject_name(csr), key, ca, ca_key, no_sans, san);
}

Bytes to_der(const X509* cert) {
    auto der = i2d_bytes(cert, i2d_X509);
    check(der.ok(), "i2d_X509");
    return *der;
}

Bytes to_der(const X509_REQ* csr) {
    auto der = i2d_bytes(csr, i2d_X509_REQ);
    check(der.ok(), "i2d_X509_REQ");
    return *der;
}

std::string certs_pem(std::initializer_list<const X509*> certs) {
    std::string pem;
    for (const X509* cert : certs)
        pem += pem_encode(to_der(cert), "CERTIFICATE");
    return pem;
}

std::string key_pem(const EVP_PKEY* key) {
    auto der = private_key_to_pkcs8_der(key);
    if (!der) fail("PKCS#8 " + der.error().message);
    return pem_encode(*der, "PRIVATE KEY");
}

void write_cert_file(const std::string& path, std::initializer_list<const X509*> certs) {
    write_file(path, certs_pem(certs));
}

void write_cert_file(const std::string& path, ByteView der) {
    write_file(path, pem_encode(der, "CERTIFICATE"));
}

void write_key_file(const std::string& path, const EVP_PKEY* key) {
    write_file(path, key_pem(key));
    if (::chmod(path.c_str(), 0600) != 0) throw std::runtime_error("cannot chmod 0600 " + path);
}

Bytes read_pem_der(const std::string& relative, std::string* label) {
    const std::string text = read_text(relative);
    BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long length = 0;
    const bool read = bio != nullptr && PEM_read_bio(bio.get(), &name, &header, &data, &length) == 1;
    const OpensslMallocPtr<char> name_owner(name);
    const OpensslMallocPtr<char> header_owner(header);
    const OpensslMallocPtr<unsigned char> data_owner(data);
    check(read, "PEM " + relative);
    Bytes der(data, data + length);
    if (label != nullptr) *label = name;
    return der;
}

X509Ptr read_certificate_hex(const std::string& relative) {
    const Bytes der = read_hex(relative);
    const unsigned char* p = der.data();
    X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    check(cert != nullptr, "certificate " + relative);
    return cert;
}

X509Ptr load_certificate(const std::string& path) {
    auto certificates = load_certificates(path);
    if (!certificates) throw std::runtime_error(certificates.error().message);
    return std::move(certificates->front());
}

EvpPkeyPtr load_key(const std::string& path) {
    auto key = load_private_key(path);
    if (!key) throw std::runtime_error(key.error().message);
    return std::move(*key);
}

}  // namespace estgw::test
