// The key part of /skg and /skc: PKCS#8 (Content-Format 284) or, when the CSR names a decryption key,
// EnvelopedData over SignedData over the key (Content-Format 280; RFC 7030 §4.4.1.1, §4.4.1.2, §4.4.2;
// RFC 9148 §4.8; RFC 5958 §4).
#include "certs/key_envelope.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "common/keys.hpp"
#include "common/x509.hpp"
#include "support/test_data.hpp"
#include "support/test_pki.hpp"
#include "tests/certs/certs_fixtures.hpp"

namespace estgw::certs {
namespace {

using test::hex;
using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, OpensslDeleter<ASN1_OBJECT, ASN1_OBJECT_free>>;
inline void free_algorithms(X509_ALGORS* s) {
    sk_X509_ALGOR_pop_free(s, X509_ALGOR_free);
}
using AlgorithmsPtr = std::unique_ptr<X509_ALGORS, OpensslDeleter<X509_ALGORS, free_algorithms>>;
inline void free_types(STACK_OF(ASN1_TYPE) * s) {
    sk_ASN1_TYPE_pop_free(s, ASN1_TYPE_free);
}
using SequenceAnyPtr = std::unique_ptr<STACK_OF(ASN1_TYPE), OpensslDeleter<STACK_OF(ASN1_TYPE), free_types>>;

const Bytes kKekId = to_bytes("device-kek-1");
const Bytes kKek128 = hex("000102030405060708090a0b0c0d0e0f");
const Bytes kKek256 = hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");

Bytes octets(const ASN1_OCTET_STRING* s) {
    if (s == nullptr) return {};
    return Bytes(ASN1_STRING_get0_data(s), ASN1_STRING_get0_data(s) + ASN1_STRING_length(s));
}

Bytes ski_of(X509* cert) {
    return octets(X509_get0_subject_key_id(cert));
}

// SMIMECapabilities (RFC 8551 §2.5.2) listing the algorithms, without parameters.
void add_capabilities(X509_REQ* csr, std::initializer_list<int> nids) {
    AlgorithmsPtr capabilities(sk_X509_ALGOR_new_null());
    for (int nid : nids)
        ASSERT_EQ(PKCS7_simple_smimecap(capabilities.get(), nid, 0), 1);
    auto der = i2d_bytes(capabilities.get(), i2d_X509_ALGORS);
    ASSERT_TRUE(der.ok());
    ASSERT_EQ(X509_REQ_add1_attr_by_NID(csr, NID_SMIMECapabilities, V_ASN1_SEQUENCE, der->data(),
                                        static_cast<int>(der->size())),
              1);
}

void add_identifier(X509_REQ* csr, const char* oid, const Bytes& id) {
    const Asn1ObjectPtr type(OBJ_txt2obj(oid, 1));
    ASSERT_EQ(X509_REQ_add1_attr_by_OBJ(csr, type.get(), V_ASN1_OCTET_STRING, id.data(),
                                        static_cast<int>(id.size())),
              1);
}

bool contains(const Bytes& haystack, const Bytes& needle) {
    return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) != haystack.end();
}

class KeyEnvelope : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        ca_ = std::make_unique<IssuingCa>(fixtures::make_ca("CN=estgw envelope CA"));
        rsa_key_ = test::make_key(test::KeyKind::Rsa2048).release();
        ec_key_ = test::make_key(test::KeyKind::P256).release();
        rsa_cert_ = test::make_certificate("CN=rsa recipient", rsa_key_, nullptr, rsa_key_).release();
        ec_cert_ = test::make_certificate("CN=ec recipient", ec_key_, nullptr, ec_key_).release();
    }
    static void TearDownTestSuite() {
        ca_.reset();
        X509_free(rsa_cert_);
        X509_free(ec_cert_);
        EVP_PKEY_free(rsa_key_);
        EVP_PKEY_free(ec_key_);
    }

    // A /skg CSR from a P-256 key; `decorate` adds attributes before it is signed.
    template <class Decorate>
    X509ReqPtr csr(Decorate decorate) {
        X509ReqPtr request = test::make_csr("CN=device", {"DNS:device.example"}, csr_key_.get());
        decorate(request.get());
        test::sign_csr(request.get(), csr_key_.get());
        return request;
    }

    EnvelopeKeys keys() const {
        EnvelopeKeys keys;
        keys.symmetric = {SymmetricKey{to_bytes("other"), kKek256}, SymmetricKey{kKekId, kKek128}};
        keys.recipient_certificates = {ec_cert_, rsa_cert_};
        return keys;
    }

    // The protection a CSR naming `id` under the attribute `identifier` and listing `capabilities` asks for,
    // resolved against keys(), which the fixture keeps: a symmetric plan points into it.
    Result<KeyProtectionPlan> resolve(const char* identifier, const Bytes& id,
                                      std::initializer_list<int> capabilities,
                                      const EnvelopeKeys* with = nullptr) {
        const X509ReqPtr request = csr([&](X509_REQ* r) {
            add_identifier(r, identifier, id);
            add_capabilities(r, capabilities);
        });
        return resolve_key_protection(request.get(), with ? *with : envelope_keys_);
    }
    const EnvelopeKeys envelope_keys_ = keys();

    // What /skg does: resolve the protection, and only then use the (here pre-made) generated key.
    Result<ServerKeyPart> answer(const X509_REQ* request, const EnvelopeKeys& envelope_keys) {
        ESTGW_TRY(plan, resolve_key_protection(request, envelope_keys));
        return server_key_part(plan, generated_.get(), *ca_);
    }

    // Checks the SignedData layer (RFC 7030 §4.4.2): signed by the CA, eContentType id-ct-KP-aKeyPackage,
    // content an AsymmetricKeyPackage holding exactly the generated key's PKCS#8.
    void expect_signed_key_package(const Bytes& signed_data) {
        const unsigned char* p = signed_data.data();
        CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(signed_data.size())));
        ASSERT_NE(cms, nullptr);
        EXPECT_EQ(OBJ_obj2nid(CMS_get0_type(cms.get())), NID_pkcs7_signed);
        char content_type[64];
        OBJ_obj2txt(content_type, sizeof content_type, CMS_get0_eContentType(cms.get()), 1);
        EXPECT_STREQ(content_type, kOidAsymmetricKeyPackage);
        X509StorePtr store(X509_STORE_new());
        X509_STORE_add_cert(store.get(), const_cast<X509*>(ca_->certificate()));
        BioPtr content(BIO_new(BIO_s_mem()));
        ASSERT_EQ(CMS_verify(cms.get(), nullptr, store.get(), nullptr, content.get(), CMS_BINARY), 1)
            << openssl_errors();
        char* data = nullptr;
        const long length = BIO_get_mem_data(content.get(), &data);
        const Bytes package(data, data + length);
        // AsymmetricKeyPackage ::= SEQUENCE SIZE (1..MAX) OF OneAsymmetricKey: one element, the PKCS#8.
        const unsigned char* q = package.data();
        SequenceAnyPtr elements(d2i_ASN1_SEQUENCE_ANY(nullptr, &q, static_cast<long>(package.size())));
        ASSERT_NE(elements, nullptr);
        EXPECT_EQ(q, package.data() + package.size());
        ASSERT_EQ(sk_ASN1_TYPE_num(elements.get()), 1);
        const ASN1_TYPE* key = sk_ASN1_TYPE_value(elements.get(), 0);
        ASSERT_EQ(ASN1_TYPE_get(key), V_ASN1_SEQUENCE);
        auto pkcs8 = private_key_to_pkcs8_der(generated_.get());
        ASSERT_TRUE(pkcs8.ok());
        EXPECT_EQ(octets(key->value.sequence), *pkcs8);
    }

    static CmsPtr parse_envelope(const Bytes& der) {
        const unsigned char* p = der.data();
        CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
        EXPECT_NE(cms, nullptr);
        if (cms) {
            EXPECT_EQ(OBJ_obj2nid(CMS_get0_type(cms.get())), NID_pkcs7_enveloped);
            EXPECT_EQ(OBJ_obj2nid(CMS_get0_eContentType(cms.get())), NID_pkcs7_signed);
        }
        return cms;
    }

    static CMS_RecipientInfo* only_recipient(CMS_ContentInfo* cms) {
        STACK_OF(CMS_RecipientInfo)* recipients = CMS_get0_RecipientInfos(cms);
        EXPECT_EQ(sk_CMS_RecipientInfo_num(recipients), 1);
        return sk_CMS_RecipientInfo_value(recipients, 0);
    }

    static Bytes decrypt_with(CMS_ContentInfo* cms, EVP_PKEY* key, X509* cert) {
        BioPtr out(BIO_new(BIO_s_mem()));
        EXPECT_EQ(CMS_decrypt(cms, key, cert, nullptr, out.get(), CMS_BINARY), 1) << openssl_errors();
        char* data = nullptr;
        const long length = BIO_get_mem_data(out.get(), &data);
        return Bytes(data, data + length);
    }

    static std::unique_ptr<IssuingCa> ca_;
    static EVP_PKEY* rsa_key_;
    static EVP_PKEY* ec_key_;
    static X509* rsa_cert_;
    static X509* ec_cert_;
    EvpPkeyPtr csr_key_ = test::make_key();
    EvpPkeyPtr generated_ = test::make_key();
};

std::unique_ptr<IssuingCa> KeyEnvelope::ca_;
EVP_PKEY* KeyEnvelope::rsa_key_ = nullptr;
EVP_PKEY* KeyEnvelope::ec_key_ = nullptr;
X509* KeyEnvelope::rsa_cert_ = nullptr;
X509* KeyEnvelope::ec_cert_ = nullptr;

// ---- plain PKCS#8 ----

TEST_F(KeyEnvelope, WithoutADecryptKeyIdentifierTheKeyIsPlainPkcs8) {
    const X509ReqPtr request = csr([](X509_REQ*) {});
    auto part = answer(request.get(), keys());
    ASSERT_TRUE(part.ok()) << part.error().message;
    EXPECT_EQ(part->format, ContentFormat::Pkcs8);
    EXPECT_EQ(part->body, *private_key_to_pkcs8_der(generated_.get()));
}

TEST_F(KeyEnvelope, APlainRequestResolvesWithoutAnyKeysConfigured) {
    const X509ReqPtr request = csr([](X509_REQ*) {});
    const EnvelopeKeys none;
    auto plan = resolve_key_protection(request.get(), none);
    ASSERT_TRUE(plan.ok()) << plan.error().message;
    EXPECT_EQ(plan->kind, KeyProtection::None);
}

TEST_F(KeyEnvelope, SmimeCapabilitiesAloneDoNotAskForEncryption) {
    const X509ReqPtr request = csr([](X509_REQ* r) { add_capabilities(r, {NID_aes_128_cbc}); });
    auto protection = requested_key_protection(request.get());
    ASSERT_TRUE(protection.ok());
    EXPECT_EQ(protection->kind, KeyProtection::None);
}

TEST_F(KeyEnvelope, TheRfc9148AppendixA3RequestAsksForAPlainKey) {
    auto request = parse_csr_der(test::read_hex("rfc9148/a3-skg-request.hex"));
    ASSERT_TRUE(request.ok());
    auto protection = requested_key_protection(request->get());
    ASSERT_TRUE(protection.ok()) << protection.error().message;
    EXPECT_EQ(protection->kind, KeyProtection::None);
}

// ---- kekri: DecryptKeyIdentifier (RFC 7030 §4.4.1.1) ----

TEST_F(KeyEnvelope, DecryptKeyIdentifierGivesKekriThatDecryptsToTheSignedKey) {
    const X509ReqPtr request = csr([](X509_REQ* r) {
        add_identifier(r, kOidDecryptKeyIdentifier, kKekId);
        add_capabilities(r, {NID_aes_128_cbc, NID_id_aes128_wrap});
    });
    auto part = answer(request.get(), keys());
    ASSERT_TRUE(part.ok()) << part.error().message;
    EXPECT_EQ(part->format, ContentFormat::ServerGeneratedKey);
    const CmsPtr cms = parse_envelope(part->body);
    ASSERT_NE(cms, nullptr);
    CMS_RecipientInfo* recipient = only_recipient(cms.get());
    ASSERT_EQ(CMS_RecipientInfo_type(recipient), CMS_RECIPINFO_KEK);
    X509_ALGOR* wrap = nullptr;
    ASN1_OCTET_STRING* id = nullptr;
    ASSERT_EQ(CMS_RecipientInfo_kekri_get0_id(recipient, &wrap, &id, nullptr, nullptr, nullptr), 1);
    EXPECT_EQ(octets(id), kKekId);
    const ASN1_OBJECT* wrap_oid = nullptr;
    X509_ALGOR_get0(&wrap_oid, nullptr, nullptr, wrap);
    EXPECT_EQ(OBJ_obj2nid(wrap_oid), NID_id_aes128_wrap);

    ASSERT_EQ(CMS_decrypt_set1_key(cms.get(), const_cast<std::uint8_t*>(kKek128.data()), kKek128.size(),
                                   kKekId.data(), kKekId.size()),
              1);
    expect_signed_key_package(decrypt_with(cms.get(), nullptr, nullptr));
}

TEST_F(KeyEnvelope, ContentCipherMatchesTheSharedKeyStrength) {
    const Bytes id = to_bytes("other");  // the AES-256 key of keys()
    const X509ReqPtr request = csr([&](X509_REQ* r) {
        add_identifier(r, kOidDecryptKeyIdentifier, id);
        add_capabilities(r, {NID_aes_128_cbc, NID_aes_256_cbc});
    });
    auto part = answer(request.get(), keys());
    ASSERT_TRUE(part.ok()) << part.error().message;
    EXPECT_TRUE(contains(part->body, hex("060960864801650304012a")));   // aes256-CBC
    EXPECT_FALSE(contains(part->body, hex("0609608648016503040102")));  // not aes128-CBC
    EXPECT_TRUE(contains(part->body, hex("060960864801650304012d")));   // id-aes256-wrap
}

TEST_F(KeyEnvelope, DecryptKeyIdentifierResolvesToTheNamedSharedKeyBeforeAnyKeyExists) {
    auto plan = resolve(kOidDecryptKeyIdentifier, kKekId, {NID_aes_128_cbc, NID_aes_256_cbc});
    ASSERT_TRUE(plan.ok()) << plan.error().message;
    EXPECT_EQ(plan->kind, KeyProtection::Symmetric);
    ASSERT_NE(plan->shared_key, nullptr);
    EXPECT_EQ(plan->shared_key->id, kKekId);
    EXPECT_EQ(plan->content_cipher, EVP_aes_128_cbc());  // the 128-bit shared key's strength
}

// The refusal comes from resolving alone, which takes no key: a server that resolves first generates none.
TEST_F(KeyEnvelope, UnknownDecryptKeyIdentifierIsRefusedWhileResolvingNamingTheIdentifier) {
    auto plan = resolve(kOidDecryptKeyIdentifier, to_bytes("nobody"), {NID_aes_128_cbc});
    ASSERT_FALSE(plan.ok());
    EXPECT_EQ(plan.status(), Status::BadRequest);
    EXPECT_NE(
        plan.error().message.find("no shared key with DecryptKeyIdentifier " + to_hex(to_bytes("nobody"))),
        std::string::npos)
        << plan.error().message;
}

TEST_F(KeyEnvelope, DecryptKeyIdentifierWithoutSharedKeysConfiguredIsRefusedWhileResolving) {
    EnvelopeKeys no_shared_keys = keys();
    no_shared_keys.symmetric.clear();
    auto plan = resolve(kOidDecryptKeyIdentifier, kKekId, {NID_aes_128_cbc}, &no_shared_keys);
    ASSERT_FALSE(plan.ok());
    EXPECT_EQ(plan.status(), Status::BadRequest);
    EXPECT_NE(plan.error().message.find("shares no symmetric keys"), std::string::npos)
        << plan.error().message;
    EXPECT_NE(plan.error().message.find(to_hex(kKekId)), std::string::npos) << plan.error().message;
}

TEST_F(KeyEnvelope, KekriNeedsAWrapTheClientLists) {
    const X509ReqPtr request = csr([](X509_REQ* r) {
        add_identifier(r, kOidDecryptKeyIdentifier, kKekId);         // a 128-bit key
        add_capabilities(r, {NID_aes_128_cbc, NID_id_aes256_wrap});  // but only the 256-bit wrap
    });
    EXPECT_EQ(answer(request.get(), keys()).status(), Status::BadRequest);
}

// ---- ktri / kari: AsymmetricDecryptKeyIdentifier (RFC 7030 §4.4.1.2) ----

TEST_F(KeyEnvelope, AsymmetricIdentifierOfAnRsaCertificateGivesKtri) {
    const X509ReqPtr request = csr([](X509_REQ* r) {
        add_identifier(r, kOidAsymmetricDecryptKeyIdentifier, ski_of(rsa_cert_));
        add_capabilities(r, {NID_aes_128_cbc});
    });
    auto part = answer(request.get(), keys());
    ASSERT_TRUE(part.ok()) << part.error().message;
    EXPECT_EQ(part->format, ContentFormat::ServerGeneratedKey);
    const CmsPtr cms = parse_envelope(part->body);
    ASSERT_NE(cms, nullptr);
    CMS_RecipientInfo* recipient = only_recipient(cms.get());
    ASSERT_EQ(CMS_RecipientInfo_type(recipient), CMS_RECIPINFO_TRANS);
    ASN1_OCTET_STRING* key_id = nullptr;
    ASSERT_EQ(CMS_RecipientInfo_ktri_get0_signer_id(recipient, &key_id, nullptr, nullptr), 1);
    EXPECT_EQ(octets(key_id), ski_of(rsa_cert_));
    expect_signed_key_package(decrypt_with(cms.get(), rsa_key_, rsa_cert_));
}

TEST_F(KeyEnvelope, KtriUsesRsaesOaepWhenTheClientListsIt) {
    const X509ReqPtr request = csr([](X509_REQ* r) {
        add_identifier(r, kOidAsymmetricDecryptKeyIdentifier, ski_of(rsa_cert_));
        add_capabilities(r, {NID_aes_128_cbc, NID_rsaesOaep});
    });
    auto part = answer(request.get(), keys());
    ASSERT_TRUE(part.ok()) << part.error().message;
    const CmsPtr cms = parse_envelope(part->body);
    ASSERT_NE(cms, nullptr);
    X509_ALGOR* algorithm = nullptr;
    ASSERT_EQ(CMS_RecipientInfo_ktri_get0_algs(only_recipient(cms.get()), nullptr, nullptr, &algorithm), 1);
    const ASN1_OBJECT* oid = nullptr;
    X509_ALGOR_get0(&oid, nullptr, nullptr, algorithm);
    EXPECT_EQ(OBJ_obj2nid(oid), NID_rsaesOaep);
    expect_signed_key_package(decrypt_with(cms.get(), rsa_key_, rsa_cert_));
}

TEST_F(KeyEnvelope, AsymmetricIdentifierOfAnEcCertificateGivesKari) {
    const X509ReqPtr request = csr([](X509_REQ* r) {
        add_identifier(r, kOidAsymmetricDecryptKeyIdentifier, ski_of(ec_cert_));
        add_capabilities(r, {NID_aes_256_cbc, NID_aes_128_cbc});
    });
    auto part = answer(request.get(), keys());
    ASSERT_TRUE(part.ok()) << part.error().message;
    const CmsPtr cms = parse_envelope(part->body);
    ASSERT_NE(cms, nullptr);
    CMS_RecipientInfo* recipient = only_recipient(cms.get());
    ASSERT_EQ(CMS_RecipientInfo_type(recipient), CMS_RECIPINFO_AGREE);
    STACK_OF(CMS_RecipientEncryptedKey)* encrypted_keys = CMS_RecipientInfo_kari_get0_reks(recipient);
    ASSERT_EQ(sk_CMS_RecipientEncryptedKey_num(encrypted_keys), 1);
    ASN1_OCTET_STRING* key_id = nullptr;
    ASSERT_EQ(CMS_RecipientEncryptedKey_get0_id(sk_CMS_RecipientEncryptedKey_value(encrypted_keys, 0),
                                                &key_id, nullptr, nullptr, nullptr, nullptr),
              1);
    EXPECT_EQ(octets(key_id), ski_of(ec_cert_));
    // A P-256 recipient has 128-bit strength: aes128-CBC, though aes256-CBC is listed first.
    EXPECT_TRUE(contains(part->body, hex("0609608648016503040102")));
    expect_signed_key_package(decrypt_with(cms.get(), ec_key_, ec_cert_));
}

TEST_F(KeyEnvelope, AsymmetricIdentifierResolvesToTheNamedCertificateBeforeAnyKeyExists) {
    auto plan =
        resolve(kOidAsymmetricDecryptKeyIdentifier, ski_of(rsa_cert_), {NID_aes_128_cbc, NID_rsaesOaep});
    ASSERT_TRUE(plan.ok()) << plan.error().message;
    EXPECT_EQ(plan->kind, KeyProtection::Asymmetric);
    ASSERT_NE(plan->recipient, nullptr);
    EXPECT_EQ(X509_cmp(plan->recipient.get(), rsa_cert_), 0);
    EXPECT_TRUE(plan->oaep);
}

// As for the symmetric case, resolving alone refuses it: no key is involved.
TEST_F(KeyEnvelope, UnknownSubjectKeyIdentifierIsRefusedWhileResolving) {
    auto plan = resolve(kOidAsymmetricDecryptKeyIdentifier, hex("0102030405060708090a0b0c0d0e0f1011121314"),
                        {NID_aes_128_cbc});
    ASSERT_FALSE(plan.ok());
    EXPECT_EQ(plan.status(), Status::BadRequest);
    EXPECT_NE(plan.error().message.find("0102030405060708090a0b0c0d0e0f1011121314"), std::string::npos)
        << plan.error().message;
    EXPECT_NE(plan.error().message.find("2 candidate"), std::string::npos) << plan.error().message;
}

// ---- malformed requests ----

TEST_F(KeyEnvelope, AnIdentifierWithoutSmimeCapabilitiesIsBadRequest) {
    const X509ReqPtr request = csr([](X509_REQ* r) { add_identifier(r, kOidDecryptKeyIdentifier, kKekId); });
    EXPECT_EQ(answer(request.get(), keys()).status(), Status::BadRequest);
}

TEST_F(KeyEnvelope, SmimeCapabilitiesWithoutAesCbcAreBadRequest) {
    const X509ReqPtr request = csr([](X509_REQ* r) {
        add_identifier(r, kOidDecryptKeyIdentifier, kKekId);
        add_capabilities(r, {NID_des_ede3_cbc, NID_id_aes128_wrap});
    });
    auto part = answer(request.get(), keys());
    ASSERT_FALSE(part.ok());
    EXPECT_EQ(part.status(), Status::BadRequest);
    EXPECT_NE(part.error().message.find("aes128-CBC"), std::string::npos);
}

TEST_F(KeyEnvelope, BothIdentifiersAtOnceAreBadRequest) {
    const X509ReqPtr request = csr([](X509_REQ* r) {
        add_identifier(r, kOidDecryptKeyIdentifier, kKekId);
        add_identifier(r, kOidAsymmetricDecryptKeyIdentifier, ski_of(ec_cert_));
        add_capabilities(r, {NID_aes_128_cbc});
    });
    EXPECT_EQ(requested_key_protection(request.get()).status(), Status::BadRequest);
}

TEST_F(KeyEnvelope, AnIdentifierThatIsNotAnOctetStringIsBadRequest) {
    const X509ReqPtr request = csr([](X509_REQ* r) {
        const Asn1ObjectPtr type(OBJ_txt2obj(kOidDecryptKeyIdentifier, 1));
        const std::string text = "kek";
        ASSERT_EQ(X509_REQ_add1_attr_by_OBJ(r, type.get(), V_ASN1_UTF8STRING,
                                            reinterpret_cast<const unsigned char*>(text.data()), 3),
                  1);
        add_capabilities(r, {NID_aes_128_cbc});
    });
    EXPECT_EQ(requested_key_protection(request.get()).status(), Status::BadRequest);
}

// ---- the shared key table ----

TEST(SymmetricKeys, ParsesHexPairsSkippingCommentsAndBlankLines) {
    auto keys = parse_symmetric_keys(
        "# id key\n\n6b656b31 000102030405060708090a0b0c0d0e0f  # AES-128\n"
        "  02   000102030405060708090a0b0c0d0e0f1011121314151617\n");
    ASSERT_TRUE(keys.ok()) << keys.error().message;
    ASSERT_EQ(keys->size(), 2u);
    EXPECT_EQ((*keys)[0].id, to_bytes("kek1"));
    EXPECT_EQ((*keys)[0].key, kKek128);
    EXPECT_EQ((*keys)[1].id, hex("02"));
    EXPECT_EQ((*keys)[1].key.size(), 24u);
}

TEST(SymmetricKeys, RejectsBadLinesNamingTheLineButNotTheKey) {
    for (const char* text :
         {"01 0001", "01", "zz 000102030405060708090a0b0c0d0e0f", "01 000102030405060708090a0b0c0d0e0f extra",
          "01 000102030405060708090a0b0c0d0e0f\n01 000102030405060708090a0b0c0d0e0f"}) {
        auto keys = parse_symmetric_keys(text);
        ASSERT_FALSE(keys.ok()) << text;
        EXPECT_NE(keys.error().message.find("line"), std::string::npos);
        EXPECT_EQ(keys.error().message.find("0001020304"), std::string::npos);
    }
}

}  // namespace
}  // namespace estgw::certs
