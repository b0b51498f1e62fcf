// /att (RFC 7030 §4.5.2, RFC 9148 §4.1 and App. A.4) with the attribute layout of
// draft-ietf-lamps-rfc7030-csrattrs (RFC 9908) §3: key type as an attribute, extensions in one
// extensionRequest.
#include "certs/csrattrs.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "common/base64.hpp"
#include "common/pem.hpp"
#include "support/test_data.hpp"
#include "tests/certs/certs_fixtures.hpp"

namespace estgw::certs {
namespace {

using test::hex;

inline void free_types(STACK_OF(ASN1_TYPE) * s) {
    sk_ASN1_TYPE_pop_free(s, ASN1_TYPE_free);
}
using SequenceAnyPtr = std::unique_ptr<STACK_OF(ASN1_TYPE), OpensslDeleter<STACK_OF(ASN1_TYPE), free_types>>;
using AttributePtr = std::unique_ptr<X509_ATTRIBUTE, OpensslDeleter<X509_ATTRIBUTE, X509_ATTRIBUTE_free>>;
using BitStringPtr = std::unique_ptr<ASN1_BIT_STRING, OpensslDeleter<ASN1_BIT_STRING, ASN1_BIT_STRING_free>>;
using EkuPtr =
    std::unique_ptr<EXTENDED_KEY_USAGE, OpensslDeleter<EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free>>;

std::string dotted(const ASN1_OBJECT* object) {
    char text[80];
    OBJ_obj2txt(text, sizeof text, object, 1);
    return text;
}

// The CsrAttrs entries as OpenSSL decodes them (independently of csr_attribute_types).
SequenceAnyPtr decode(const Bytes& der) {
    const unsigned char* p = der.data();
    SequenceAnyPtr entries(d2i_ASN1_SEQUENCE_ANY(nullptr, &p, static_cast<long>(der.size())));
    EXPECT_NE(entries, nullptr);
    EXPECT_EQ(p, der.data() + der.size());
    return entries;
}

AttributePtr attribute_at(const STACK_OF(ASN1_TYPE) * entries, int index) {
    const ASN1_TYPE* entry = sk_ASN1_TYPE_value(entries, index);
    EXPECT_EQ(ASN1_TYPE_get(entry), V_ASN1_SEQUENCE);
    const unsigned char* p = entry->value.sequence->data;
    return AttributePtr(d2i_X509_ATTRIBUTE(nullptr, &p, entry->value.sequence->length));
}

void write_file(const std::filesystem::path& path, const std::string& contents) {
    std::ofstream(path, std::ios::binary) << contents;
}

TEST(DefaultCsrAttributes, IsOneDerSequenceOfKeyTypeAndExtensionRequest) {
    auto der = default_csr_attributes();
    ASSERT_TRUE(der.ok()) << der.error().message;
    auto types = csr_attribute_types(*der);
    ASSERT_TRUE(types.ok()) << types.error().message;
    EXPECT_EQ(*types, (std::vector<std::string>{kOidEcPublicKey, kOidExtensionRequest}));
    const SequenceAnyPtr entries = decode(*der);
    ASSERT_NE(entries, nullptr);
    EXPECT_EQ(sk_ASN1_TYPE_num(entries.get()), 2);
}

TEST(DefaultCsrAttributes, AsksForP256AsAttributeIdEcPublicKeyWithValueSecp256r1) {
    // RFC 9908 §3.3 (draft-ietf-lamps-rfc7030-csrattrs): Attribute { type id-ecPublicKey, values { curve } }.
    auto der = default_csr_attributes();
    ASSERT_TRUE(der.ok());
    const SequenceAnyPtr entries = decode(*der);
    const AttributePtr key_type = attribute_at(entries.get(), 0);
    ASSERT_NE(key_type, nullptr);
    EXPECT_EQ(dotted(X509_ATTRIBUTE_get0_object(key_type.get())), "1.2.840.10045.2.1");
    ASSERT_EQ(X509_ATTRIBUTE_count(key_type.get()), 1);
    const ASN1_TYPE* curve = X509_ATTRIBUTE_get0_type(key_type.get(), 0);
    ASSERT_EQ(ASN1_TYPE_get(curve), V_ASN1_OBJECT);
    EXPECT_EQ(dotted(curve->value.object), "1.2.840.10045.3.1.7");
}

TEST(DefaultCsrAttributes, PutsKeyUsageAndClientAuthIntoOneExtensionRequest) {
    auto der = default_csr_attributes();
    ASSERT_TRUE(der.ok());
    const SequenceAnyPtr entries = decode(*der);
    const AttributePtr request = attribute_at(entries.get(), 1);
    ASSERT_NE(request, nullptr);
    EXPECT_EQ(dotted(X509_ATTRIBUTE_get0_object(request.get())), "1.2.840.113549.1.9.14");
    ASSERT_EQ(X509_ATTRIBUTE_count(request.get()), 1);  // exactly one Extensions value
    const ASN1_TYPE* value = X509_ATTRIBUTE_get0_type(request.get(), 0);
    ASSERT_EQ(ASN1_TYPE_get(value), V_ASN1_SEQUENCE);
    const unsigned char* p = value->value.sequence->data;
    X509ExtensionStackPtr extensions(d2i_X509_EXTENSIONS(nullptr, &p, value->value.sequence->length));
    ASSERT_NE(extensions, nullptr);
    ASSERT_EQ(sk_X509_EXTENSION_num(extensions.get()), 2);

    X509_EXTENSION* key_usage = sk_X509_EXTENSION_value(extensions.get(), 0);
    EXPECT_EQ(OBJ_obj2nid(X509_EXTENSION_get_object(key_usage)), NID_key_usage);
    EXPECT_EQ(X509_EXTENSION_get_critical(key_usage), 1);
    BitStringPtr bits(static_cast<ASN1_BIT_STRING*>(X509V3_EXT_d2i(key_usage)));
    ASSERT_NE(bits, nullptr);
    EXPECT_EQ(ASN1_BIT_STRING_get_bit(bits.get(), 0), 1);  // digitalSignature
    EXPECT_EQ(ASN1_BIT_STRING_get_bit(bits.get(), 2), 0);

    X509_EXTENSION* eku = sk_X509_EXTENSION_value(extensions.get(), 1);
    EXPECT_EQ(OBJ_obj2nid(X509_EXTENSION_get_object(eku)), NID_ext_key_usage);
    EkuPtr purposes(static_cast<EXTENDED_KEY_USAGE*>(X509V3_EXT_d2i(eku)));
    ASSERT_NE(purposes, nullptr);
    ASSERT_EQ(sk_ASN1_OBJECT_num(purposes.get()), 1);
    EXPECT_EQ(OBJ_obj2nid(sk_ASN1_OBJECT_value(purposes.get(), 0)), NID_client_auth);
}

TEST(DefaultCsrAttributes, ListsChallengePasswordAsABareOidWhenTlsUniqueIsRequired) {
    // RFC 7030 §4.5.2, §3.5: the server asks for PoP linking by listing challengePassword.
    auto der = default_csr_attributes(CsrAttrsOptions{true});
    ASSERT_TRUE(der.ok());
    const SequenceAnyPtr entries = decode(*der);
    ASSERT_EQ(sk_ASN1_TYPE_num(entries.get()), 3);
    const ASN1_TYPE* first = sk_ASN1_TYPE_value(entries.get(), 0);
    ASSERT_EQ(ASN1_TYPE_get(first), V_ASN1_OBJECT);
    EXPECT_EQ(dotted(first->value.object), kOidChallengePassword);
}

TEST(CsrAttributeTypes, ReadsTheRfc9148AppendixA4Example) {
    auto types = csr_attribute_types(test::read_hex("rfc9148/a4-att-response.hex"));
    ASSERT_TRUE(types.ok()) << types.error().message;
    EXPECT_EQ(*types,
              (std::vector<std::string>{"1.3.6.1.1.1.1.22", "2.999.1", "1.2.840.113549.1.9.7", "2.999.2",
                                        "1.3.36.3.3.2.8.1.1.11", "2.16.840.1.101.3.4.2.2"}));
}

TEST(CsrAttributeTypes, EmptySequenceMeansNothingIsWanted) {
    auto types = csr_attribute_types(hex("3000"));
    ASSERT_TRUE(types.ok());
    EXPECT_TRUE(types->empty());
}

TEST(CsrAttributeTypes, RejectsAnythingButOidsAndAttributes) {
    for (const char* bad : {"3100",                    // a SET, not a SEQUENCE
                            "3003020105",              // an INTEGER entry
                            "3005300306012a",          // an Attribute without its SET of values
                            "3009300706012a31000500",  // something after the SET
                            "30073005310006012a",      // SET before the type
                            "30000000",                // trailing bytes
                            "3003060180"}) {           // a truncated OID
        auto types = csr_attribute_types(hex(bad));
        EXPECT_FALSE(types.ok()) << bad;
        if (!types.ok()) {
            EXPECT_EQ(types.status(), Status::BadRequest);
        }
    }
}

TEST(LoadCsrAttributes, ReadsDerPemAndBareBase64) {
    const fixtures::TempDir dir;
    const Bytes der = test::read_hex("rfc9148/a4-att-response.hex");
    write_file(dir.path() / "att.der", to_string(der));
    write_file(dir.path() / "att.pem", pem_encode(der, "CSR ATTRIBUTES"));
    write_file(dir.path() / "att.b64", base64_encode(der, 76) + "\n");
    for (const char* name : {"att.der", "att.pem", "att.b64"}) {
        auto loaded = load_csr_attributes(dir.path() / name);
        ASSERT_TRUE(loaded.ok()) << name << ": " << loaded.error().message;
        EXPECT_EQ(*loaded, der) << name;
    }
}

TEST(LoadCsrAttributes, RefusesAFileThatIsNotCsrAttrs) {
    const fixtures::TempDir dir;
    write_file(dir.path() / "integer.der", to_string(hex("020105")));
    write_file(dir.path() / "text", "not base64 at all!\n");
    write_file(dir.path() / "wrong.b64", base64_encode(hex("3003020105")));
    for (const char* name : {"integer.der", "text", "wrong.b64"}) {
        auto loaded = load_csr_attributes(dir.path() / name);
        EXPECT_EQ(loaded.status(), Status::BadRequest) << name;
    }
    EXPECT_EQ(load_csr_attributes(dir.path() / "missing").status(), Status::Internal);
}

TEST(LoadCsrAttributes, MustListChallengePasswordWhenTlsUniqueIsRequired) {
    const fixtures::TempDir dir;
    auto without = default_csr_attributes();
    auto with = default_csr_attributes(CsrAttrsOptions{true});
    ASSERT_TRUE(without.ok() && with.ok());
    write_file(dir.path() / "without.der", to_string(*without));
    write_file(dir.path() / "with.der", to_string(*with));
    EXPECT_EQ(load_csr_attributes(dir.path() / "without.der", CsrAttrsOptions{true}).status(),
              Status::BadRequest);
    EXPECT_TRUE(load_csr_attributes(dir.path() / "with.der", CsrAttrsOptions{true}).ok());
    EXPECT_TRUE(load_csr_attributes(dir.path() / "without.der").ok());
}

}  // namespace
}  // namespace estgw::certs
