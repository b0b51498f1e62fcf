// A CSR parsed without OpenSSL 3.0's key decoders: the key made from the SubjectPublicKeyInfo must be the
// very key that signed the request, for every key type a pledge may use.
#include "common/csr_with_key.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/x509.hpp"
#include "support/test_pki.hpp"

namespace estgw {
namespace {

Bytes csr_der(const X509_REQ* csr) {
    auto der = csr_to_der(csr);
    EXPECT_TRUE(der.ok());
    return der.ok() ? *der : Bytes{};
}

TEST(CsrWithKey, KeyIsTheOneThatSignedTheRequestForEveryKeyType) {
    for (test::KeyKind kind :
         {test::KeyKind::P256, test::KeyKind::P384, test::KeyKind::Ed25519, test::KeyKind::Rsa2048}) {
        const EvpPkeyPtr key = test::make_key(kind);
        const X509ReqPtr csr = test::make_csr("CN=device", {"DNS:device.example"}, key.get());
        auto parsed = parse_csr_with_key(csr_der(csr.get()));
        ASSERT_TRUE(parsed.ok()) << parsed.error().message;
        ASSERT_NE(parsed->public_key, nullptr);
        EXPECT_EQ(EVP_PKEY_eq(parsed->public_key.get(), key.get()), 1);
        EXPECT_TRUE(verify_csr_signature(parsed->request.get(), parsed->public_key.get()).ok());
        EXPECT_EQ(X509_NAME_cmp(X509_REQ_get_subject_name(parsed->request.get()),
                                X509_REQ_get_subject_name(csr.get())),
                  0);
    }
}

TEST(CsrWithKey, SubjectPublicKeyInfoIsKeptAsReceived) {
    const EvpPkeyPtr key = test::make_key();
    const X509ReqPtr csr = test::make_csr("CN=device", {}, key.get());
    auto parsed = parse_csr_with_key(csr_der(csr.get()));
    ASSERT_TRUE(parsed.ok());
    auto kept = csr_public_key_der(parsed->request.get());
    auto encoded = i2d_bytes(key.get(), i2d_PUBKEY);
    ASSERT_TRUE(kept.ok() && encoded.ok());
    EXPECT_EQ(*kept, *encoded);
}

TEST(CsrWithKey, PointOffTheCurveLeavesNoKeyAndTheSignatureUnverified) {
    const EvpPkeyPtr key = test::make_key();
    const X509ReqPtr csr = test::make_csr("CN=device", {}, key.get());
    Bytes der = csr_der(csr.get());
    auto spki = i2d_bytes(key.get(), i2d_PUBKEY);
    ASSERT_TRUE(spki.ok());
    auto at = std::search(der.begin(), der.end(), spki->begin(), spki->end());
    ASSERT_NE(at, der.end());
    *(at + static_cast<std::ptrdiff_t>(spki->size()) - 1) ^= 0x01;  // the last octet of y
    auto parsed = parse_csr_with_key(der);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(parsed->public_key, nullptr);
    auto verified = verify_csr_signature(parsed->request.get(), parsed->public_key.get());
    ASSERT_FALSE(verified.ok());
    EXPECT_EQ(verified.error().status, Status::BadRequest);
}

TEST(CsrWithKey, SignatureByAnotherKeyDoesNotVerify) {
    const EvpPkeyPtr key = test::make_key();
    const EvpPkeyPtr other = test::make_key();
    const X509ReqPtr csr = test::make_csr("CN=device", {}, key.get());
    auto parsed = parse_csr_with_key(csr_der(csr.get()));
    ASSERT_TRUE(parsed.ok());
    EXPECT_FALSE(verify_csr_signature(parsed->request.get(), other.get()).ok());
}

TEST(CsrWithKey, RefusesTrailingBytesAndGarbage) {
    const EvpPkeyPtr key = test::make_key();
    const X509ReqPtr csr = test::make_csr("CN=device", {}, key.get());
    Bytes der = csr_der(csr.get());
    der.push_back(0x00);
    EXPECT_FALSE(parse_csr_with_key(der).ok());
    const Bytes garbage{0x30, 0x03, 0x02, 0x01, 0x00};
    auto parsed = parse_csr_with_key(garbage);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.error().status, Status::BadRequest);
}

}  // namespace
}  // namespace estgw
