// Server-side key generation (RFC 7030 §4.4, RFC 9148 §4.8): a new key like the CSR's, else P-256.
#include "certs/keygen.hpp"

#include <gtest/gtest.h>

#include "support/test_pki.hpp"

namespace estgw::certs {

// GoogleTest names parameters with this (found by argument-dependent lookup, hence outside the anonymous
// namespace).
void PrintTo(const KeyType& type, std::ostream* out) {
    *out << key_type_name(type);
}

namespace {

class GenerateEachKeyType : public ::testing::TestWithParam<KeyType> {};

TEST_P(GenerateEachKeyType, MakesAKeyOfExactlyTheRequestedType) {
    auto key = generate_key(GetParam());
    ASSERT_TRUE(key.ok()) << key.error().message;
    auto type = key_type_of(key->get());
    ASSERT_TRUE(type.ok()) << type.error().message;
    EXPECT_EQ(*type, GetParam()) << key_type_name(*type);
}

INSTANTIATE_TEST_SUITE_P(EachSupportedType, GenerateEachKeyType,
                         ::testing::Values(KeyType{KeyAlgorithm::P256, 0}, KeyType{KeyAlgorithm::P384, 0},
                                           KeyType{KeyAlgorithm::P521, 0}, KeyType{KeyAlgorithm::Ed25519, 0},
                                           KeyType{KeyAlgorithm::Ed448, 0}, KeyType{KeyAlgorithm::Rsa, 2048}),
                         [](const ::testing::TestParamInfo<KeyType>& info) {
                             return key_type_name(info.param);
                         });

TEST(GenerateKey, GeneratesDifferentKeysEachTime) {
    auto a = generate_key(KeyType{KeyAlgorithm::P256, 0});
    auto b = generate_key(KeyType{KeyAlgorithm::P256, 0});
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_NE(EVP_PKEY_eq(a->get(), b->get()), 1);
}

TEST(GenerateKey, RefusesRsaSizesBeyondTheLimit) {
    const auto key = generate_key(KeyType{KeyAlgorithm::Rsa, kLargestGeneratedRsaBits + 1024});
    ASSERT_FALSE(key.ok());
    EXPECT_EQ(key.status(), Status::BadRequest);
}

TEST(GeneratedKeyType, FollowsTheCsrKeyWhenThePolicyAllowsIt) {
    const KeyPolicy policy = KeyPolicy::default_policy();
    EXPECT_EQ(generated_key_type(test::make_key(test::KeyKind::P384).get(), policy),
              (KeyType{KeyAlgorithm::P384, 0}));
    EXPECT_EQ(generated_key_type(test::make_key(test::KeyKind::Ed25519).get(), policy),
              (KeyType{KeyAlgorithm::Ed25519, 0}));
    EXPECT_EQ(generated_key_type(test::make_key(test::KeyKind::Rsa2048).get(), policy),
              (KeyType{KeyAlgorithm::Rsa, 2048}));
}

TEST(GeneratedKeyType, FallsBackToP256ForAbsentUnknownOrDisallowedKeys) {
    const KeyPolicy policy = KeyPolicy::default_policy();
    constexpr KeyType kP256{KeyAlgorithm::P256, 0};
    EvpPkeyPtr secp256k1(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp256k1"));
    EvpPkeyPtr p521(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521"));
    EXPECT_EQ(generated_key_type(nullptr, policy), kP256);
    EXPECT_EQ(generated_key_type(secp256k1.get(), policy), kP256);
    EXPECT_EQ(generated_key_type(p521.get(), policy), kP256);
}

TEST(GenerateKeyLike, MakesAFreshKeyOfTheCsrKeyType) {
    const EvpPkeyPtr csr_key = test::make_key(test::KeyKind::P384);
    auto key = generate_key_like(csr_key.get(), KeyPolicy::default_policy());
    ASSERT_TRUE(key.ok()) << key.error().message;
    EXPECT_EQ(key_type_name(*key_type_of(key->get())), "p384");
    EXPECT_NE(EVP_PKEY_eq(key->get(), csr_key.get()), 1);
}

}  // namespace
}  // namespace estgw::certs
