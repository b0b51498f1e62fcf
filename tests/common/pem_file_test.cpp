// The one PEM loader of certificates and keys (common/pem_file) and the signature hash per key type.
#include "common/pem_file.hpp"

#include <gtest/gtest.h>

#include "common/keys.hpp"
#include "common/pem.hpp"
#include "support/test_data.hpp"
#include "support/test_pki.hpp"

namespace estgw {
namespace {

std::string cert_pem(const X509* cert) {
    return pem_encode(test::to_der(cert), "CERTIFICATE");
}

std::string key_pem(const EVP_PKEY* key) {
    return pem_encode(private_key_to_pkcs8_der(key).value(), "PRIVATE KEY");
}

TEST(CertificatesFromPem, ReturnsEveryCertificateInFileOrder) {
    auto key = test::make_key();
    auto root = test::make_self_signed_ca("CN=Root", key.get());
    auto leaf = test::make_certificate("CN=Leaf", key.get(), root.get(), key.get());
    auto certs = certificates_from_pem("comment\n" + cert_pem(leaf.get()) + cert_pem(root.get()));
    ASSERT_TRUE(certs.ok()) << certs.error().message;
    ASSERT_EQ(certs->size(), 2u);
    EXPECT_EQ(test::to_der((*certs)[0].get()), test::to_der(leaf.get()));
    EXPECT_EQ(test::to_der((*certs)[1].get()), test::to_der(root.get()));
}

TEST(CertificatesFromPem, RefusesAnyOtherBlock) {
    auto key = test::make_key();
    auto root = test::make_self_signed_ca("CN=Root", key.get());
    auto certs = certificates_from_pem(cert_pem(root.get()) + key_pem(key.get()));
    ASSERT_FALSE(certs.ok());
    EXPECT_EQ(certs.status(), Status::BadRequest);
    EXPECT_NE(certs.error().message.find("'PRIVATE KEY' block"), std::string::npos) << certs.error().message;
}

TEST(CertificatesFromPem, RefusesTextWithoutCertificate) {
    EXPECT_FALSE(certificates_from_pem("").ok());
    EXPECT_FALSE(certificates_from_pem(pem_encode(test::hex("3000"), "CERTIFICATE")).ok());
}

// `openssl ecparam -genkey` writes an "EC PARAMETERS" block before the key.
TEST(PrivateKeyFromPem, IgnoresParameterBlocksAroundTheKey) {
    auto key = test::make_key();
    auto loaded = private_key_from_pem(pem_encode(test::hex("06082a8648ce3d030107"), "EC PARAMETERS") +
                                       key_pem(key.get()));
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    EXPECT_EQ(EVP_PKEY_eq(loaded->get(), key.get()), 1);
}

TEST(PrivateKeyFromPem, RefusesAnEncryptedKeyTwoKeysOrNone) {
    auto key = test::make_key();
    auto encrypted = private_key_from_pem(pem_encode(test::hex("3000"), "ENCRYPTED PRIVATE KEY"));
    ASSERT_FALSE(encrypted.ok());
    EXPECT_NE(encrypted.error().message.find("encrypted"), std::string::npos);
    auto two = private_key_from_pem(key_pem(key.get()) + key_pem(key.get()));
    ASSERT_FALSE(two.ok());
    EXPECT_NE(two.error().message.find("more than one"), std::string::npos);
    EXPECT_FALSE(private_key_from_pem("no key here").ok());
}

TEST(LoadCertificates, NamesTheFileThatCannotBeRead) {
    auto certs = load_certificates("/nonexistent/estgw-test.crt");
    ASSERT_FALSE(certs.ok());
    EXPECT_NE(certs.error().message.find("/nonexistent/estgw-test.crt"), std::string::npos);
    auto key = load_private_key("/nonexistent/estgw-test.key");
    ASSERT_FALSE(key.ok());
    EXPECT_NE(key.error().message.find("/nonexistent/estgw-test.key"), std::string::npos);
}

TEST(CheckKeyMatches, RefusesTheKeyOfAnotherCertificate) {
    auto key = test::make_key();
    auto other = test::make_key();
    auto root = test::make_self_signed_ca("CN=Root", key.get());
    EXPECT_TRUE(check_key_matches(root.get(), key.get()).ok());
    auto wrong = check_key_matches(root.get(), other.get());
    ASSERT_FALSE(wrong.ok());
    EXPECT_NE(wrong.error().message.find("does not match"), std::string::npos);
}

// RFC 5480 §4: the hash follows the curve; EdDSA hashes the message itself.
TEST(SignatureDigest, FollowsTheKeyStrength) {
    EXPECT_EQ(signature_digest(test::make_key(test::KeyKind::P256).get()), EVP_sha256());
    EXPECT_EQ(signature_digest(test::make_key(test::KeyKind::P384).get()), EVP_sha384());
    EvpPkeyPtr p521(EVP_EC_gen("P-521"));
    EXPECT_EQ(signature_digest(p521.get()), EVP_sha512());
    EXPECT_EQ(signature_digest(test::make_key(test::KeyKind::Ed25519).get()), nullptr);
    EXPECT_EQ(signature_digest(test::make_key(test::KeyKind::Rsa2048).get()), EVP_sha256());
}

}  // namespace
}  // namespace estgw
