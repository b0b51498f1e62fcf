#include "gateway/dtls_credentials.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <vector>

#include "common/x509.hpp"

namespace estgw::gateway {

namespace {

// Every certificate of a PEM file, in file order.
Result<std::vector<X509Ptr>> read_certificates(const std::string& path, std::string_view what) {
    BioPtr bio(BIO_new_file(path.c_str(), "r"));
    if (!bio)
        return make_error(Status::BadRequest, std::string(what) + " '" + path + "': " + openssl_errors());
    std::vector<X509Ptr> certificates;
    while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
        certificates.emplace_back(cert);
    }
    ERR_clear_error();  // the end of the file reads as "no start line"
    if (certificates.empty())
        return make_error(Status::BadRequest, std::string(what) + " '" + path + "' holds no PEM certificate");
    return certificates;
}

bool push(STACK_OF(X509) * stack, const X509* cert) {
    auto* shared = const_cast<X509*>(cert);
    if (X509_up_ref(shared) != 1) return false;
    if (sk_X509_push(stack, shared) <= 0) {
        X509_free(shared);
        return false;
    }
    return true;
}

}  // namespace

Result<DtlsCredentials> DtlsCredentials::load(const std::string& cert_file, const std::string& key_file,
                                              const std::string& trust_file) {
    ESTGW_TRY(certificates, read_certificates(cert_file, "--cert"));

    BioPtr key_bio(BIO_new_file(key_file.c_str(), "r"));
    if (!key_bio) return make_error(Status::BadRequest, "--key '" + key_file + "': " + openssl_errors());
    EvpPkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
    if (!key) {
        openssl_errors();
        return make_error(Status::BadRequest,
                          "--key '" + key_file + "' is not an unencrypted PEM private key");
    }
    if (X509_check_private_key(certificates.front().get(), key.get()) != 1) {
        openssl_errors();
        return make_error(Status::BadRequest,
                          "--key '" + key_file + "' does not match the certificate in '" + cert_file + "'");
    }

    DtlsCredentials c;
    c.chain_.reset(sk_X509_new_null());
    if (!c.chain_) return make_error(Status::Internal, "out of memory");
    c.certificate_ = std::move(certificates.front());
    c.key_ = std::move(key);
    for (std::size_t i = 1; i < certificates.size(); ++i) {
        if (!push(c.chain_.get(), certificates[i].get()))
            return make_error(Status::Internal, "out of memory");
    }
    if (certificates.size() == 1 && !trust_file.empty()) {
        ESTGW_TRY(anchors, read_certificates(trust_file, "--client-ca"));
        const X509* current = c.certificate_.get();
        // Bounded like a verification depth; a loop of cross-signed certificates ends here too.
        for (int depth = 0; depth < 8 && !is_self_issued(current); ++depth) {
            const X509* issuer = nullptr;
            for (const auto& a : anchors) {
                if (is_issued_by(current, a.get())) {
                    issuer = a.get();
                    break;
                }
            }
            if (issuer == nullptr || is_self_issued(issuer)) break;
            if (!push(c.chain_.get(), issuer)) return make_error(Status::Internal, "out of memory");
            current = issuer;
        }
    }
    return c;
}

bool DtlsCredentials::install(SSL* ssl) const {
    // override = 1: replace anything set before; the chain is copied with shared (up-referenced) entries.
    return SSL_use_cert_and_key(ssl, certificate_.get(), key_.get(), chain_.get(), 1) == 1;
}

std::size_t DtlsCredentials::chain_length() const {
    return static_cast<std::size_t>(sk_X509_num(chain_.get()));
}

}  // namespace estgw::gateway
