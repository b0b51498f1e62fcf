#include "certs/key_policy.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>

#include <algorithm>
#include <cctype>

#include "common/keys.hpp"

namespace estgw::certs {

namespace {

// One row per named (non-RSA) algorithm: the policy token and how OpenSSL 3 names the key.
struct NamedAlgorithm {
    KeyAlgorithm algorithm;
    std::string_view token;
    std::string_view openssl_type;   // EVP_PKEY_is_a name
    std::string_view openssl_group;  // OSSL_PKEY_PARAM_GROUP_NAME for EC keys, empty otherwise
};
constexpr NamedAlgorithm kNamedAlgorithms[] = {
    {KeyAlgorithm::P256, "p256", "EC", "prime256v1"}, {KeyAlgorithm::P384, "p384", "EC", "secp384r1"},
    {KeyAlgorithm::P521, "p521", "EC", "secp521r1"},  {KeyAlgorithm::Ed25519, "ed25519", "ED25519", ""},
    {KeyAlgorithm::Ed448, "ed448", "ED448", ""},
};

constexpr std::string_view kRsaToken = "rsa";
// Below 1024 bits nothing is secure; above 16384 OpenSSL refuses to verify anyway.
constexpr int kSmallestRsaMinimum = 1024;
constexpr int kLargestRsaMinimum = 16384;

const NamedAlgorithm* find_named(KeyAlgorithm algorithm) {
    for (const NamedAlgorithm& row : kNamedAlgorithms) {
        if (row.algorithm == algorithm) return &row;
    }
    return nullptr;
}

// "P-256 " → "p256", "RSA>=2048" → "rsa2048".
std::string normalize_token(std::string_view token) {
    std::string out;
    for (char c : token) {
        if (c == '-' || c == '>' || c == '=' || c == '_' || std::isspace(static_cast<unsigned char>(c)))
            continue;
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

std::string ec_group_name(const EVP_PKEY* key) {
    char group[80];
    std::size_t length = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &length) != 1) {
        ERR_clear_error();
        return {};
    }
    return std::string(group, length);
}

}  // namespace

std::string key_type_name(const KeyType& type) {
    if (type.algorithm == KeyAlgorithm::Rsa) return std::string(kRsaToken) + std::to_string(type.rsa_bits);
    const NamedAlgorithm* row = find_named(type.algorithm);
    return row != nullptr ? std::string(row->token) : std::string("unknown");
}

Result<KeyType> key_type_of(const EVP_PKEY* key) {
    if (key == nullptr) return make_error(Status::BadRequest, "key type: no key");
    // Only rsaEncryption keys: an RSA-PSS-restricted key cannot be used the way a client certificate's key
    // is expected to be (TLS 1.2 PKCS#1 v1.5 signatures), so it is not what "rsaN" admits.
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
        return KeyType{KeyAlgorithm::Rsa, EVP_PKEY_get_bits(key)};
    }
    const std::string group = EVP_PKEY_is_a(key, "EC") ? ec_group_name(key) : std::string();
    for (const NamedAlgorithm& row : kNamedAlgorithms) {
        if (!EVP_PKEY_is_a(key, std::string(row.openssl_type).c_str())) continue;
        if (row.openssl_group.empty() || row.openssl_group == group) return KeyType{row.algorithm, 0};
    }
    return make_error(Status::BadRequest, "key type " + key_description(key) + " is not supported");
}

KeyPolicy KeyPolicy::default_policy() {
    KeyPolicy policy;
    policy.algorithms_ = {KeyAlgorithm::P256, KeyAlgorithm::P384, KeyAlgorithm::Ed25519};
    policy.rsa_min_bits_ = 2048;
    return policy;
}

Result<KeyPolicy> KeyPolicy::parse(std::string_view text) {
    KeyPolicy policy;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find(',', start);
        if (end == std::string_view::npos) end = text.size();
        const std::string raw(text.substr(start, end - start));
        const std::string token = normalize_token(raw);
        start = end + 1;
        if (token.empty()) {
            if (end == text.size() && raw.find_first_not_of(" \t") == std::string::npos) break;
            return make_error(Status::BadRequest, "key types: empty entry in '" + std::string(text) + "'");
        }
        if (token.rfind(kRsaToken, 0) == 0) {
            const std::string digits = token.substr(kRsaToken.size());
            const bool numeric = !digits.empty() && digits.size() <= 5 &&
                                 std::all_of(digits.begin(), digits.end(), [](char c) {
                                     return std::isdigit(static_cast<unsigned char>(c));
                                 });
            const int bits = numeric ? std::stoi(digits) : 0;
            if (bits < kSmallestRsaMinimum || bits > kLargestRsaMinimum) {
                return make_error(Status::BadRequest, "key types: '" + raw + "': rsaN needs N from " +
                                                          std::to_string(kSmallestRsaMinimum) + " to " +
                                                          std::to_string(kLargestRsaMinimum));
            }
            if (policy.rsa_min_bits_ != 0) {
                return make_error(Status::BadRequest, "key types: RSA is listed twice ('" + raw + "')");
            }
            policy.rsa_min_bits_ = bits;
            continue;
        }
        const auto* row = std::find_if(std::begin(kNamedAlgorithms), std::end(kNamedAlgorithms),
                                       [&](const NamedAlgorithm& r) { return r.token == token; });
        if (row == std::end(kNamedAlgorithms)) {
            return make_error(Status::BadRequest, "key types: unknown key type '" + raw +
                                                      "' (known: p256, p384, p521, ed25519, ed448, rsaN)");
        }
        if (std::find(policy.algorithms_.begin(), policy.algorithms_.end(), row->algorithm) ==
            policy.algorithms_.end()) {
            policy.algorithms_.push_back(row->algorithm);
        }
    }
    if (policy.algorithms_.empty() && policy.rsa_min_bits_ == 0) {
        return make_error(Status::BadRequest, "key types: the list allows no key type");
    }
    return policy;
}

bool KeyPolicy::allows(const KeyType& type) const {
    if (type.algorithm == KeyAlgorithm::Rsa) return rsa_min_bits_ != 0 && type.rsa_bits >= rsa_min_bits_;
    return std::find(algorithms_.begin(), algorithms_.end(), type.algorithm) != algorithms_.end();
}

Result<void> KeyPolicy::check(const EVP_PKEY* key) const {
    auto type = key_type_of(key);
    if (!type) return make_error(Status::BadRequest, type.error().message + " (allowed: " + describe() + ")");
    if (!allows(*type)) {
        return make_error(Status::BadRequest, "key type " + key_type_name(*type) +
                                                  " is not allowed by this CA (allowed: " + describe() + ")");
    }
    return {};
}

std::string KeyPolicy::describe() const {
    std::string out;
    for (KeyAlgorithm algorithm : algorithms_) {
        if (!out.empty()) out += ",";
        out += key_type_name(KeyType{algorithm, 0});
    }
    if (rsa_min_bits_ != 0) {
        if (!out.empty()) out += ",";
        out += key_type_name(KeyType{KeyAlgorithm::Rsa, rsa_min_bits_});
    }
    return out;
}

}  // namespace estgw::certs
