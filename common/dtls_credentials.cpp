#include "common/dtls_credentials.hpp"

#include <vector>

#include "common/pem_file.hpp"
#include "common/x509.hpp"

namespace estgw {

namespace {

Error option_error(std::string_view option, const Error& e) {
    return make_error(Status::BadRequest, std::string(option) + " " + e.message);
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
    auto certificates = load_certificates(cert_file);
    if (!certificates) return option_error("--cert", certificates.error());
    auto key = load_private_key(key_file);
    if (!key) return option_error("--key", key.error());
    if (auto matches = check_key_matches(certificates->front().get(), key->get()); !matches)
        return option_error("--key", matches.error());

    DtlsCredentials c;
    c.chain_.reset(sk_X509_new_null());
    if (!c.chain_) return make_error(Status::Internal, "out of memory");
    c.certificate_ = std::move(certificates->front());
    c.key_ = std::move(*key);
    for (std::size_t i = 1; i < certificates->size(); ++i) {
        if (!push(c.chain_.get(), (*certificates)[i].get()))
            return make_error(Status::Internal, "out of memory");
    }
    if (certificates->size() == 1 && !trust_file.empty()) {
        auto anchors = load_certificates(trust_file);
        if (!anchors) return option_error("--client-ca", anchors.error());
        const X509* current = c.certificate_.get();
        // Bounded like a verification depth; a loop of cross-signed certificates ends here too.
        for (int depth = 0; depth < 8 && !is_self_issued(current); ++depth) {
            const X509* issuer = nullptr;
            for (const auto& a : *anchors) {
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

}  // namespace estgw
