#include "certs/keygen.hpp"

#include <openssl/err.h>

namespace estgw::certs {

Result<EvpPkeyPtr> generate_key(const KeyType& type) {
    EvpPkeyPtr key;
    switch (type.algorithm) {
        case KeyAlgorithm::P256:
            key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
            break;
        case KeyAlgorithm::P384:
            key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
            break;
        case KeyAlgorithm::P521:
            key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521"));
            break;
        case KeyAlgorithm::Ed25519:
            key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
            break;
        case KeyAlgorithm::Ed448:
            key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED448"));
            break;
        case KeyAlgorithm::Rsa:
            if (type.rsa_bits < 1024 || type.rsa_bits > kLargestGeneratedRsaBits) {
                return make_error(Status::BadRequest, "key generation: RSA size " +
                                                          std::to_string(type.rsa_bits) + " out of range");
            }
            key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(type.rsa_bits)));
            break;
    }
    if (!key) return openssl_error(Status::Internal, "key generation", key_type_name(type) + " failed");
    return key;
}

KeyType generated_key_type(const EVP_PKEY* csr_key, const KeyPolicy& policy) {
    constexpr KeyType kFallback{KeyAlgorithm::P256, 0};
    if (csr_key == nullptr) return kFallback;
    auto type = key_type_of(csr_key);
    if (!type || !policy.allows(*type)) return kFallback;
    if (type->algorithm == KeyAlgorithm::Rsa && type->rsa_bits > kLargestGeneratedRsaBits) return kFallback;
    return *type;
}

Result<EvpPkeyPtr> generate_key_like(const EVP_PKEY* csr_key, const KeyPolicy& policy) {
    return generate_key(generated_key_type(csr_key, policy));
}

}  // namespace estgw::certs
