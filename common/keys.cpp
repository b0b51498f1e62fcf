#include "common/keys.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/objects.h>

namespace estgw {

namespace {

// d2i_PrivateKey decodes the algorithm's own structure (PKCS#1 RSAPrivateKey, SEC1 ECPrivateKey); these
// give it the d2i shape d2i_exactly expects.
EVP_PKEY* d2i_rsa_private_key(EVP_PKEY** key, const unsigned char** in, long length) {
    return d2i_PrivateKey(EVP_PKEY_RSA, key, in, length);
}
EVP_PKEY* d2i_ec_private_key(EVP_PKEY** key, const unsigned char** in, long length) {
    return d2i_PrivateKey(EVP_PKEY_EC, key, in, length);
}

}  // namespace

Result<Bytes> normalize_private_key_to_pkcs8(ByteView der) {
    if (auto framed = require_single_der_object(der, "private key"); !framed) return framed.error();
    // PrivateKeyInfo's second element is an AlgorithmIdentifier SEQUENCE where RSAPrivateKey has an INTEGER
    // and ECPrivateKey an OCTET STRING, so the three formats cannot be mistaken for each other.
    const bool is_pkcs8 = d2i_exactly<Pkcs8InfoPtr>(der, d2i_PKCS8_PRIV_KEY_INFO, "PKCS#8").ok();
    ERR_clear_error();
    if (is_pkcs8) return Bytes(der.begin(), der.end());
    for (auto* d2i : {d2i_rsa_private_key, d2i_ec_private_key}) {
        auto key = d2i_exactly<EvpPkeyPtr>(der, d2i, "private key");
        // Failed attempts only say "unsupported", and the OpenSSL 3 decoders leave such entries behind even
        // on success; the queue is cleared so they do not reach a later caller.
        ERR_clear_error();
        if (key) return private_key_to_pkcs8_der(key->get());
    }
    return make_error(Status::BadRequest,
                      "private key: not PKCS#8 PrivateKeyInfo, PKCS#1 RSAPrivateKey or SEC1 ECPrivateKey");
}

Result<EvpPkeyPtr> parse_private_key_der(ByteView der) {
    ESTGW_TRY(pkcs8, normalize_private_key_to_pkcs8(der));
    ESTGW_TRY(info, d2i_exactly<Pkcs8InfoPtr>(pkcs8, d2i_PKCS8_PRIV_KEY_INFO, "PKCS#8"));
    EvpPkeyPtr key(EVP_PKCS82PKEY(info.get()));
    if (!key) return openssl_error(Status::BadRequest, "private key", "unsupported algorithm or bad key");
    return key;
}

Result<Bytes> private_key_to_pkcs8_der(const EVP_PKEY* key) {
    if (key == nullptr) return make_error(Status::Internal, "private key: no key");
    Pkcs8InfoPtr info(EVP_PKEY2PKCS8(key));
    if (!info) return openssl_error(Status::Internal, "private key", "cannot encode as PKCS#8");
    return i2d_bytes(info.get(), i2d_PKCS8_PRIV_KEY_INFO);
}

Result<EvpPkeyPtr> parse_public_key_der(ByteView spki) {
    return d2i_exactly<EvpPkeyPtr>(spki, d2i_PUBKEY, "public key");
}

Result<Bytes> public_key_to_der(const EVP_PKEY* key) {
    return i2d_bytes(key, i2d_PUBKEY);
}

std::string key_description(const EVP_PKEY* key) {
    if (key == nullptr) return "none";
    const char* type = EVP_PKEY_get0_type_name(key);
    std::string out = type != nullptr ? type : OBJ_nid2sn(EVP_PKEY_get_base_id(key));
    char group[80];
    std::size_t group_length = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &group_length) ==
        1) {
        out += " ";
        out += std::string(group, group_length);
    } else if (EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS") || EVP_PKEY_is_a(key, "DSA")) {
        out += " " + std::to_string(EVP_PKEY_get_bits(key));
    }
    ERR_clear_error();
    return out;
}

const EVP_MD* signature_digest(const EVP_PKEY* key) {
    if (EVP_PKEY_is_a(key, "ED25519") || EVP_PKEY_is_a(key, "ED448")) return nullptr;
    if (EVP_PKEY_is_a(key, "EC")) {
        const int bits = EVP_PKEY_get_bits(key);
        if (bits > 384) return EVP_sha512();
        if (bits > 256) return EVP_sha384();
    }
    return EVP_sha256();
}

}  // namespace estgw
