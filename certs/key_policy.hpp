// Which public keys the CA certifies (--key-types) and what a key is, in words a configuration file uses.
//
// Syntax: a comma-separated list of p256, p384, p521, ed25519, ed448 and rsaN, where rsaN allows RSA keys
// of at least N bits (N from 1024 to 16384). Case, spaces, '-' and ">=" are ignored, so "P-256, RSA>=2048"
// means the same as "p256,rsa2048". The default is "p256,p384,ed25519,rsa2048".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/openssl.hpp"
#include "common/result.hpp"

namespace estgw::certs {

enum class KeyAlgorithm { P256, P384, P521, Ed25519, Ed448, Rsa };

struct KeyType {
    KeyAlgorithm algorithm = KeyAlgorithm::P256;
    int rsa_bits = 0;  // RSA only: the modulus size

    bool operator==(const KeyType&) const = default;
};

// "p256", "ed25519", "rsa3072": the policy token that names exactly this key type.
std::string key_type_name(const KeyType& type);

// What `key` is. Keys the list above cannot name (secp256k1, brainpool, explicit EC parameters, DSA,
// RSA-PSS-only keys, X25519, ...) are BadRequest.
Result<KeyType> key_type_of(const EVP_PKEY* key);

class KeyPolicy {
  public:
    // "p256,p384,ed25519,rsa2048".
    static KeyPolicy default_policy();
    // The syntax in the file comment. An empty list, an unknown name or two rsaN entries is BadRequest.
    static Result<KeyPolicy> parse(std::string_view text);

    bool allows(const KeyType& type) const;
    // OK, or BadRequest (4.00) naming the key and what is allowed.
    Result<void> check(const EVP_PKEY* key) const;
    // The canonical spelling, e.g. "p256,p384,ed25519,rsa2048"; parse(describe()) gives the same policy.
    std::string describe() const;

  private:
    std::vector<KeyAlgorithm> algorithms_;  // named algorithms other than RSA, in configuration order
    int rsa_min_bits_ = 0;                  // 0: RSA not allowed
};

}  // namespace estgw::certs
