// --key-types: which public keys full-server mode certifies (RFC 9148 §3: secp256r1 MUST be supported;
// disallowed keys get 4.00 Bad Request, RFC 9148 §4.5).
#include "certs/key_policy.hpp"

#include <gtest/gtest.h>

#include "support/test_pki.hpp"

namespace estgw::certs {
namespace {

EvpPkeyPtr ec_key(const char* curve) {
    EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
    EXPECT_NE(key, nullptr) << curve;
    return key;
}

EvpPkeyPtr rsa_key(int bits) {
    EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)));
    EXPECT_NE(key, nullptr) << bits;
    return key;
}

TEST(KeyPolicy, DefaultAllowsP256P384Ed25519AndRsa2048) {
    const KeyPolicy policy = KeyPolicy::default_policy();
    EXPECT_TRUE(policy.check(test::make_key(test::KeyKind::P256).get()).ok());
    EXPECT_TRUE(policy.check(test::make_key(test::KeyKind::P384).get()).ok());
    EXPECT_TRUE(policy.check(test::make_key(test::KeyKind::Ed25519).get()).ok());
    EXPECT_TRUE(policy.check(test::make_key(test::KeyKind::Rsa2048).get()).ok());
}

TEST(KeyPolicy, DefaultRejectsP521Rsa1024AndSecp256k1WithBadRequest) {
    const KeyPolicy policy = KeyPolicy::default_policy();
    for (const EvpPkeyPtr& key : {ec_key("P-521"), rsa_key(1024), ec_key("secp256k1")}) {
        const auto checked = policy.check(key.get());
        ASSERT_FALSE(checked.ok());
        EXPECT_EQ(checked.status(), Status::BadRequest);
        EXPECT_NE(checked.error().message.find("p256,p384,ed25519,rsa2048"), std::string::npos)
            << checked.error().message;
    }
}

TEST(KeyPolicy, DefaultRejectsEd448) {
    EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED448"));
    EXPECT_EQ(KeyPolicy::default_policy().check(key.get()).status(), Status::BadRequest);
}

TEST(KeyPolicy, DescribesTheDefaultCanonically) {
    EXPECT_EQ(KeyPolicy::default_policy().describe(), "p256,p384,ed25519,rsa2048");
}

TEST(KeyPolicy, ParsesTheCanonicalSyntax) {
    auto policy = KeyPolicy::parse("p256,p521,ed448,rsa3072");
    ASSERT_TRUE(policy.ok()) << policy.error().message;
    EXPECT_EQ(policy->describe(), "p256,p521,ed448,rsa3072");
    EXPECT_TRUE(policy->allows(KeyType{KeyAlgorithm::P521, 0}));
    EXPECT_FALSE(policy->allows(KeyType{KeyAlgorithm::P384, 0}));
    EXPECT_TRUE(policy->check(ec_key("P-521").get()).ok());
}

TEST(KeyPolicy, AcceptsTheSpellingOfTheDocumentation) {
    auto policy = KeyPolicy::parse(" P-256, P-384 ,Ed25519, RSA>=2048 ");
    ASSERT_TRUE(policy.ok()) << policy.error().message;
    EXPECT_EQ(policy->describe(), KeyPolicy::default_policy().describe());
}

TEST(KeyPolicy, RsaMinimumIsInclusive) {
    auto exactly = KeyPolicy::parse("rsa2048");
    auto larger = KeyPolicy::parse("rsa3072");
    ASSERT_TRUE(exactly.ok() && larger.ok());
    EXPECT_TRUE(exactly->allows(KeyType{KeyAlgorithm::Rsa, 2048}));
    EXPECT_TRUE(exactly->allows(KeyType{KeyAlgorithm::Rsa, 4096}));
    EXPECT_FALSE(exactly->allows(KeyType{KeyAlgorithm::Rsa, 2047}));
    EXPECT_FALSE(larger->allows(KeyType{KeyAlgorithm::Rsa, 2048}));
    EXPECT_FALSE(exactly->allows(KeyType{KeyAlgorithm::P256, 0}));
}

TEST(KeyPolicy, TrailingCommaIsTolerated) {
    auto policy = KeyPolicy::parse("p256,");
    ASSERT_TRUE(policy.ok()) << policy.error().message;
    EXPECT_EQ(policy->describe(), "p256");
}

TEST(KeyPolicy, RejectsMalformedLists) {
    for (const char* text : {"", " ", "p256,,p384", "p255", "rsa", "rsa512", "rsa99999", "rsa2048,rsa3072",
                             "x25519", "rsa2048x"}) {
        const auto policy = KeyPolicy::parse(text);
        EXPECT_FALSE(policy.ok()) << "'" << text << "'";
        if (!policy.ok()) {
            EXPECT_EQ(policy.status(), Status::BadRequest);
        }
    }
}

TEST(KeyTypeOf, NamesEachSupportedKey) {
    auto p256 = key_type_of(test::make_key(test::KeyKind::P256).get());
    auto p384 = key_type_of(test::make_key(test::KeyKind::P384).get());
    auto ed25519 = key_type_of(test::make_key(test::KeyKind::Ed25519).get());
    auto rsa = key_type_of(test::make_key(test::KeyKind::Rsa2048).get());
    ASSERT_TRUE(p256.ok() && p384.ok() && ed25519.ok() && rsa.ok());
    EXPECT_EQ(key_type_name(*p256), "p256");
    EXPECT_EQ(key_type_name(*p384), "p384");
    EXPECT_EQ(key_type_name(*ed25519), "ed25519");
    EXPECT_EQ(key_type_name(*rsa), "rsa2048");
}

TEST(KeyTypeOf, UnknownCurveIsBadRequest) {
    const auto type = key_type_of(ec_key("brainpoolP256r1").get());
    ASSERT_FALSE(type.ok());
    EXPECT_EQ(type.status(), Status::BadRequest);
}

TEST(KeyTypeOf, X25519IsNotASigningKeyTypeHere) {
    EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
    EXPECT_FALSE(key_type_of(key.get()).ok());
}

}  // namespace
}  // namespace estgw::certs
