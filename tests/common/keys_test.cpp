// Private key formats a server-keygen answer may carry (RFC 9148 §4.8, RFC 7030 §4.4.2: PKCS#8) and the ones
// an upstream CA or a configuration file may hand us instead (PKCS#1, SEC1).
#include "common/keys.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pkcs12.h>

#include "common/x509.hpp"
#include "support/test_data.hpp"
#include "support/test_pki.hpp"

namespace estgw {
namespace {

using test::hex;
using X509SigPtr = std::unique_ptr<X509_SIG, OpensslDeleter<X509_SIG, X509_SIG_free>>;

// The algorithm's own structure, which OpenSSL 3.0's i2d_PrivateKey still writes for RSA and EC keys.
Bytes type_specific_der(const EVP_PKEY* key) {
    auto der = i2d_bytes(key, i2d_PrivateKey);
    EXPECT_TRUE(der.ok());
    return der.ok() ? *der : Bytes{};
}

// PrivateKeyInfo starts SEQUENCE { INTEGER 0, SEQUENCE ...; RSAPrivateKey and ECPrivateKey do not.
bool looks_like_pkcs8(const Bytes& der) {
    const auto outer = read_der_header(der);
    if (!outer) return false;
    const ByteView content = ByteView(der).subspan(outer->header_length);
    return content.size() > 3 && content[0] == 0x02 && content[1] == 0x01 && content[3] == 0x30;
}

void expect_pkcs8_of(const Bytes& pkcs8, const EVP_PKEY* original) {
    const unsigned char* p = pkcs8.data();
    Pkcs8InfoPtr info(d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(pkcs8.size())));
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(p, pkcs8.data() + pkcs8.size());
    EvpPkeyPtr decoded(EVP_PKCS82PKEY(info.get()));
    ASSERT_NE(decoded, nullptr);
    EXPECT_EQ(EVP_PKEY_eq(decoded.get(), original), 1);
}

// ---- normalize_private_key_to_pkcs8 ----

TEST(NormalizePrivateKey, ReturnsRfc9148A3Pkcs8ByteForByte) {
    // RFC 9148 App. A.3: the /skg key part is already PKCS#8 (Content-Format 284).
    const Bytes pkcs8 = test::read_hex("rfc9148/a3-skg-response-key-284.hex");
    const auto normalized = normalize_private_key_to_pkcs8(pkcs8);
    ASSERT_TRUE(normalized.ok()) << normalized.error().message;
    EXPECT_EQ(*normalized, pkcs8);
}

TEST(NormalizePrivateKey, ReturnsCbrskiRegistrarPkcs8KeyByteForByte) {
    // cBRSKI App. C.1.2 ships the registrar key as "PRIVATE KEY" (PKCS#8).
    std::string label;
    const Bytes pkcs8 = test::read_pem_der("brski/appC1-registrar-key.pem", &label);
    ASSERT_EQ(label, "PRIVATE KEY");
    const auto normalized = normalize_private_key_to_pkcs8(pkcs8);
    ASSERT_TRUE(normalized.ok()) << normalized.error().message;
    EXPECT_EQ(*normalized, pkcs8);
}

TEST(NormalizePrivateKey, ReturnsPkcs8OfAnUnknownAlgorithmUnchanged) {
    // PrivateKeyInfo { 0, { 1.2.3.4 }, OCTET STRING 01020304 }: relayed, not understood.
    const Bytes pkcs8 = hex("3010020100300506032a0304040401020304");
    const auto normalized = normalize_private_key_to_pkcs8(pkcs8);
    ASSERT_TRUE(normalized.ok()) << normalized.error().message;
    EXPECT_EQ(*normalized, pkcs8);
}

TEST(NormalizePrivateKey, ConvertsPkcs1RsaPrivateKeyToPkcs8OfTheSameKey) {
    // RFC 8017 App. A.1.2 RSAPrivateKey → RFC 5958 PrivateKeyInfo.
    const EvpPkeyPtr key = test::make_key(test::KeyKind::Rsa2048);
    const Bytes pkcs1 = type_specific_der(key.get());
    ASSERT_FALSE(looks_like_pkcs8(pkcs1));
    const auto normalized = normalize_private_key_to_pkcs8(pkcs1);
    ASSERT_TRUE(normalized.ok()) << normalized.error().message;
    EXPECT_TRUE(looks_like_pkcs8(*normalized));
    expect_pkcs8_of(*normalized, key.get());
    EXPECT_EQ(ERR_peek_error(), 0u) << "the failed PKCS#8 attempt must not stay queued";
}

TEST(NormalizePrivateKey, ConvertsSec1EcPrivateKeyToPkcs8OfTheSameKey) {
    // RFC 5915 ECPrivateKey → RFC 5958 PrivateKeyInfo (RFC 5915 §2 is how PKCS#8 wraps it).
    const EvpPkeyPtr key = test::make_key(test::KeyKind::P384);
    const Bytes sec1 = type_specific_der(key.get());
    ASSERT_FALSE(looks_like_pkcs8(sec1));
    const auto normalized = normalize_private_key_to_pkcs8(sec1);
    ASSERT_TRUE(normalized.ok()) << normalized.error().message;
    EXPECT_TRUE(looks_like_pkcs8(*normalized));
    expect_pkcs8_of(*normalized, key.get());
    EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(NormalizePrivateKey, ConvertsTheCbrskiPledgeSec1KeyToOneMatchingItsIdevid) {
    // cBRSKI App. C.1.1 ships the pledge key as "EC PRIVATE KEY" (SEC1); App. C.2.1 is its certificate.
    std::string label;
    const Bytes sec1 = test::read_pem_der("brski/appC1-pledge-idevid-key.pem", &label);
    ASSERT_EQ(label, "EC PRIVATE KEY");
    const auto normalized = normalize_private_key_to_pkcs8(sec1);
    ASSERT_TRUE(normalized.ok()) << normalized.error().message;
    const X509Ptr idevid = test::read_certificate_hex("brski/appC2-pledge-idevid-cert.hex");
    expect_pkcs8_of(*normalized, X509_get0_pubkey(idevid.get()));
}

TEST(NormalizePrivateKey, RejectsTrailingByte) {
    Bytes pkcs8 = test::read_hex("rfc9148/a3-skg-response-key-284.hex");
    pkcs8.push_back(0x00);
    const auto normalized = normalize_private_key_to_pkcs8(pkcs8);
    ASSERT_FALSE(normalized.ok());
    EXPECT_EQ(normalized.status(), Status::BadRequest);
    EXPECT_NE(normalized.error().message.find("trailing"), std::string::npos) << normalized.error().message;
}

TEST(NormalizePrivateKey, RejectsTrailingByteAfterSec1Key) {
    const EvpPkeyPtr key = test::make_key();
    Bytes sec1 = type_specific_der(key.get());
    sec1.push_back(0x00);
    EXPECT_EQ(normalize_private_key_to_pkcs8(sec1).status(), Status::BadRequest);
}

TEST(NormalizePrivateKey, RejectsTruncatedInput) {
    Bytes pkcs8 = test::read_hex("rfc9148/a3-skg-response-key-284.hex");
    pkcs8.pop_back();
    EXPECT_EQ(normalize_private_key_to_pkcs8(pkcs8).status(), Status::BadRequest);
}

TEST(NormalizePrivateKey, RejectsEmptyInput) {
    EXPECT_EQ(normalize_private_key_to_pkcs8(ByteView{}).status(), Status::BadRequest);
}

TEST(NormalizePrivateKey, RejectsACertificate) {
    const auto normalized = normalize_private_key_to_pkcs8(test::read_hex("brski/appC2-masa-ca-cert.hex"));
    ASSERT_FALSE(normalized.ok());
    EXPECT_EQ(normalized.status(), Status::BadRequest);
    EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(NormalizePrivateKey, RejectsEncryptedPkcs8) {
    // RFC 5958 EncryptedPrivateKeyInfo: the gateway never decrypts keys (RFC 9148 §5).
    const EvpPkeyPtr key = test::make_key();
    Pkcs8InfoPtr info(EVP_PKEY2PKCS8(key.get()));
    ASSERT_NE(info, nullptr);
    X509SigPtr encrypted(PKCS8_encrypt(-1, EVP_aes_128_cbc(), "secret", 6, nullptr, 0, 1000, info.get()));
    ASSERT_NE(encrypted, nullptr);
    const auto der = i2d_bytes(encrypted.get(), i2d_X509_SIG);
    ASSERT_TRUE(der.ok());
    EXPECT_EQ(normalize_private_key_to_pkcs8(*der).status(), Status::BadRequest);
}

// ---- parse_private_key_der / private_key_to_pkcs8_der ----

TEST(ParsePrivateKey, ReadsRfc9148A3KeyMatchingTheA2CsrKey) {
    // RFC 9148 App. A.3: the example server-generated key equals the A.2 CSR key.
    const auto key = parse_private_key_der(test::read_hex("rfc9148/a3-skg-response-key-284.hex"));
    ASSERT_TRUE(key.ok()) << key.error().message;
    const auto csr = parse_csr_der(test::read_hex("rfc9148/a2-sen-request.hex"));
    ASSERT_TRUE(csr.ok());
    EXPECT_EQ(EVP_PKEY_eq(key->get(), X509_REQ_get0_pubkey(csr->get())), 1);
    EXPECT_EQ(key_description(key->get()), "EC prime256v1");
}

TEST(ParsePrivateKey, ReadsSec1) {
    const EvpPkeyPtr original = test::make_key();
    const auto key = parse_private_key_der(type_specific_der(original.get()));
    ASSERT_TRUE(key.ok()) << key.error().message;
    EXPECT_EQ(EVP_PKEY_eq(key->get(), original.get()), 1);
}

TEST(ParsePrivateKey, RejectsPkcs8OfAnUnknownAlgorithm) {
    EXPECT_EQ(parse_private_key_der(hex("3010020100300506032a0304040401020304")).status(),
              Status::BadRequest);
}

TEST(ParsePrivateKey, RejectsGarbage) {
    EXPECT_EQ(parse_private_key_der(hex("3003020101")).status(), Status::BadRequest);
}

TEST(PrivateKeyToPkcs8, RoundTripsAnEd25519Key) {
    const EvpPkeyPtr key = test::make_key(test::KeyKind::Ed25519);
    const auto pkcs8 = private_key_to_pkcs8_der(key.get());
    ASSERT_TRUE(pkcs8.ok()) << pkcs8.error().message;
    const auto normalized = normalize_private_key_to_pkcs8(*pkcs8);
    ASSERT_TRUE(normalized.ok());
    EXPECT_EQ(*normalized, *pkcs8);
    const auto parsed = parse_private_key_der(*pkcs8);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(EVP_PKEY_eq(parsed->get(), key.get()), 1);
}

TEST(PrivateKeyToPkcs8, RejectsNullKey) {
    EXPECT_EQ(private_key_to_pkcs8_der(nullptr).status(), Status::Internal);
}

TEST(PrivateKeyToPkcs8, RejectsAPublicKey) {
    const EvpPkeyPtr key = test::make_key();
    const auto spki = public_key_to_der(key.get());
    ASSERT_TRUE(spki.ok());
    const auto public_only = parse_public_key_der(*spki);
    ASSERT_TRUE(public_only.ok());
    EXPECT_FALSE(private_key_to_pkcs8_der(public_only->get()).ok());
}

// ---- public keys ----

TEST(PublicKey, RoundTripsSubjectPublicKeyInfo) {
    const EvpPkeyPtr key = test::make_key();
    const auto spki = public_key_to_der(key.get());
    ASSERT_TRUE(spki.ok());
    const auto parsed = parse_public_key_der(*spki);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(EVP_PKEY_eq(parsed->get(), key.get()), 1);
    EXPECT_EQ(public_key_to_der(parsed->get()).value(), *spki);
}

TEST(PublicKey, EqualSpkiForTheCsrAndTheCertificateOfRfc9148A2) {
    // RFC 7030 §4.2.2: the same SubjectPublicKeyInfo means renewal rather than rekey.
    const auto csr = parse_csr_der(test::read_hex("rfc9148/a2-sen-request.hex"));
    const auto issued = certs_only_certificates(test::read_hex("rfc9148/a2-sen-response.hex"));
    ASSERT_TRUE(csr.ok() && issued.ok() && issued->size() == 1u);
    EXPECT_EQ(public_key_to_der(X509_REQ_get0_pubkey(csr->get())).value(),
              public_key_to_der(X509_get0_pubkey(issued->front().get())).value());
}

TEST(PublicKey, RejectsTrailingByte) {
    const EvpPkeyPtr key = test::make_key();
    Bytes spki = public_key_to_der(key.get()).value();
    spki.push_back(0);
    EXPECT_EQ(parse_public_key_der(spki).status(), Status::BadRequest);
}

TEST(PublicKey, RejectsAPrivateKeyStructure) {
    EXPECT_EQ(parse_public_key_der(test::read_hex("rfc9148/a3-skg-response-key-284.hex")).status(),
              Status::BadRequest);
}

TEST(PublicKey, EncodingNullKeyIsAnInternalError) {
    EXPECT_EQ(public_key_to_der(nullptr).status(), Status::Internal);
}

// ---- key_description ----

TEST(KeyDescription, NamesCurveOrSize) {
    EXPECT_EQ(key_description(test::make_key(test::KeyKind::P256).get()), "EC prime256v1");
    EXPECT_EQ(key_description(test::make_key(test::KeyKind::P384).get()), "EC secp384r1");
    EXPECT_EQ(key_description(test::make_key(test::KeyKind::Ed25519).get()), "ED25519");
    EXPECT_EQ(key_description(nullptr), "none");
}

TEST(KeyDescription, GivesRsaModulusSize) {
    // 1024 bits keeps the test fast; the size is only read back.
    EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(1024)));
    ASSERT_NE(key, nullptr);
    EXPECT_EQ(key_description(key.get()), "RSA 1024");
}

}  // namespace
}  // namespace estgw
