// The issuing CA of full-server mode: what goes into an issued certificate (RFC 7030 §4.2, RFC 5280 §4) and
// what /crts returns (RFC 7030 §4.1.3).
#include "certs/ca.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include <ctime>
#include <set>
#include <thread>

#include "certs/store.hpp"
#include "common/pem.hpp"
#include "common/pkcs7.hpp"
#include "common/x509.hpp"
#include "support/process.hpp"
#include "support/test_data.hpp"
#include "support/test_pki.hpp"
#include "tests/certs/certs_fixtures.hpp"

namespace estgw::certs {
namespace {

using fixtures::make_ca;
using fixtures::TempDir;
using fixtures::verify_chain;

X509Ptr issue_for(const IssuingCa& ca, const std::string& subject, const std::vector<std::string>& sans,
                  EVP_PKEY* key, const IssuanceProfile& profile = {}) {
    const X509ReqPtr csr = test::make_csr(subject, sans, key);
    auto cert = ca.issue(csr.get(), profile);
    EXPECT_TRUE(cert.ok()) << cert.error().message;
    return cert.ok() ? std::move(*cert) : X509Ptr{};
}

std::time_t unix_time(const ASN1_TIME* time) {
    std::tm tm{};
    EXPECT_EQ(ASN1_TIME_to_tm(time, &tm), 1);
    return timegm(&tm);
}

bool extension_is_critical(const X509* cert, int nid) {
    const int index = X509_get_ext_by_NID(cert, nid, -1);
    EXPECT_GE(index, 0) << OBJ_nid2sn(nid);
    return index >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, index)) == 1;
}

Bytes octets(const ASN1_OCTET_STRING* s) {
    if (s == nullptr) return {};
    return Bytes(ASN1_STRING_get0_data(s), ASN1_STRING_get0_data(s) + ASN1_STRING_length(s));
}

// ---- serial numbers (RFC 5280 §4.1.2.2) ----

TEST(IssuingCa, SerialsArePositiveAtMost127BitsAndDistinctOver200Issues) {
    const IssuingCa ca = make_ca();
    const EvpPkeyPtr key = test::make_key();
    const X509ReqPtr csr = test::make_csr("CN=device", {}, key.get());
    std::set<std::string> serials;
    for (int i = 0; i < 200; ++i) {
        auto cert = ca.issue(csr.get(), IssuanceProfile{});
        ASSERT_TRUE(cert.ok()) << cert.error().message;
        const BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert->get()), nullptr));
        ASSERT_NE(serial, nullptr);
        EXPECT_FALSE(BN_is_negative(serial.get()));
        EXPECT_LE(BN_num_bits(serial.get()), 127);
        EXPECT_GT(BN_num_bits(serial.get()), 64);  // random, not a counter (fails with p ≈ 2^-62)
        serials.insert(serial_hex(cert->get()));
    }
    EXPECT_EQ(serials.size(), 200u);
}

TEST(IssuingCa, SerialHexIsUppercaseLikeOpensslX509Serial) {
    const EvpPkeyPtr key = test::make_key();
    test::CertOptions options;
    options.serial = 0xabcdef;
    const X509Ptr cert = test::make_certificate("CN=x", key.get(), nullptr, key.get(), options);
    EXPECT_EQ(serial_hex(cert.get()), "ABCDEF");
}

// ---- names: RFC 7030 §4.2.1, RFC 5280 §4.2.1.6 ----

TEST(IssuingCa, CopiesSubjectAndSubjectAltNameFromTheCsr) {
    const IssuingCa ca = make_ca();
    const EvpPkeyPtr key = test::make_key();
    const X509ReqPtr csr =
        test::make_csr("CN=device-7,O=Example", {"DNS:device-7.example", "IP:192.0.2.7"}, key.get());
    auto cert = ca.issue(csr.get(), IssuanceProfile{});
    ASSERT_TRUE(cert.ok()) << cert.error().message;
    auto same = csr_matches_certificate_identity(csr.get(), cert->get());
    ASSERT_TRUE(same.ok());
    EXPECT_TRUE(*same);
    EXPECT_EQ(name_to_string(X509_get_subject_name(cert->get())), "O=Example,CN=device-7");
    EXPECT_FALSE(extension_is_critical(cert->get(), NID_subject_alt_name));
    EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(cert->get()), X509_get_subject_name(ca.certificate())), 0);
}

TEST(IssuingCa, EmptySubjectMakesTheSubjectAltNameCritical) {
    const IssuingCa ca = make_ca();
    const EvpPkeyPtr key = test::make_key();
    const X509Ptr cert = issue_for(ca, "", {"DNS:only-a-san.example"}, key.get());
    ASSERT_NE(cert, nullptr);
    EXPECT_TRUE(extension_is_critical(cert.get(), NID_subject_alt_name));
}

TEST(IssuingCa, RefusesEmptySubjectWithoutSubjectAltName) {
    const IssuingCa ca = make_ca();
    const EvpPkeyPtr key = test::make_key();
    const X509ReqPtr csr = test::make_csr("", {}, key.get());
    auto cert = ca.issue(csr.get(), IssuanceProfile{});
    ASSERT_FALSE(cert.ok());
    EXPECT_EQ(cert.status(), Status::BadRequest);
}

// ---- extensions ----

TEST(IssuingCa, ExtendedKeyUsageIsClientAuthOnlyByDefault) {
    const IssuingCa ca = make_ca();
    const EvpPkeyPtr key = test::make_key();
    const X509Ptr cert = issue_for(ca, "CN=device", {}, key.get());
    ASSERT_NE(cert, nullptr);
    EXPECT_TRUE(has_extended_key_usage(cert.get(), NID_client_auth));
    EXPECT_FALSE(has_extended_key_usage(cert.get(), NID_server_auth));
    EXPECT_FALSE(has_extended_key_usage(cert.get(), NID_cmcRA));
    EXPECT_EQ(X509_get_extended_key_usage(cert.get()), static_cast<uint32_t>(XKU_SSL_CLIENT));
}

TEST(IssuingCa, ProfileChoosesTheExtendedKeyUsages) {
    const IssuingCa ca = make_ca();
    const EvpPkeyPtr key = test::make_key();
    IssuanceProfile profile;
    profile.extended_key_usages = {NID_server_auth, NID_client_auth, NID_cmcRA};
    const X509Ptr cert = issue_for(ca, "CN=registrar", {"DNS:localhost"}, key.get(), profile);
    ASSERT_NE(cert, nullptr);
    for (int nid : {NID_server_auth, NID_client_auth, NID_cmcRA}) {
        EXPECT_TRUE(has_extended_key_usage(cert.get(), nid)) << OBJ_nid2sn(nid);
    }
}

TEST(IssuingCa, KeyUsageIsCriticalDigitalSignatureForEcKeys) {
    const IssuingCa ca = make_ca();
    const EvpPkeyPtr key = test::make_key(test::KeyKind::P384);
    const X509Ptr cert = issue_for(ca, "CN=device", {}, key.get());
    ASSERT_NE(cert, nullptr);
    EXPECT_EQ(X509_get_key_usage(cert.get()), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
    EXPECT_TRUE(extension_is_critical(cert.get(), NID_key_usage));
}

TEST(IssuingCa, KeyUsageAddsKeyEnciphermentForRsaKeys) {
    const IssuingCa ca = make_ca();
    const EvpPkeyPtr key = test::make_key(test::KeyKind::Rsa2048);
    const X509Ptr cert = issue_for(ca, "CN=device", {}, key.get());
    ASSERT_NE(cert, nullptr);
    EXPECT_EQ(X509_get_key_usage(cert.get()),
              static_cast<uint32_t>(KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
}

TEST(IssuingCa, BasicConstraintsSayNotACa) {
    const IssuingCa ca = make_ca();
    const EvpPkeyPtr key = test::make_key();
    const X509Ptr cert = issue_for(ca, "CN=device", {}, key.get());
    ASSERT_NE(cert, nullptr);
    const uint32_t flags = X509_get_extension_flags(cert.get());
    EXPECT_NE(flags & EXFLAG_BCONS, 0u);
    EXPECT_EQ(flags & EXFLAG_CA, 0u);
}

TEST(IssuingCa, AuthorityKeyIdentifierIsTheCaSubjectKeyIdentifier) {
    // RFC 5280 §4.2.1.1.
    const IssuingCa ca = make_ca();
    const EvpPkeyPtr key = test::make_key();
    const X509Ptr cert = issue_for(ca, "CN=device", {}, key.get());
    ASSERT_NE(cert, nullptr);
    const Bytes ca_ski = octets(X509_get0_subject_key_id(const_cast<X509*>(ca.certificate())));
    ASSERT_FALSE(ca_ski.empty());
    EXPECT_EQ(octets(X509_get0_authority_key_id(cert.get())), ca_ski);
}

TEST(IssuingCa, SubjectKeyIdentifierIsSha1OfThePublicKey) {
    // RFC 5280 §4.2.1.2 method (1).
    const IssuingCa ca = make_ca();
    const EvpPkeyPtr key = test::make_key();
    const X509Ptr cert = issue_for(ca, "CN=device", {}, key.get());
    ASSERT_NE(cert, nullptr);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    ASSERT_EQ(X509_pubkey_digest(cert.get(), EVP_sha1(), digest, &length), 1);
    EXPECT_EQ(octets(X509_get0_subject_key_id(cert.get())), Bytes(digest, digest + length));
    EXPECT_FALSE(extension_is_critical(cert.get(), NID_subject_key_identifier));
}

TEST(IssuingCa, CustomExtensionIsCopiedAsGiven) {
    const IssuingCa ca = make_ca();
    const EvpPkeyPtr key = test::make_key();
    IssuanceProfile profile;
    const Bytes value = test::hex("160568656c6c6f");  // IA5String "hello"
    profile.extra_extensions = {CustomExtension{"1.3.6.1.5.5.7.1.32", false, value}};
    const X509Ptr cert = issue_for(ca, "CN=device", {}, key.get(), profile);
    ASSERT_NE(cert, nullptr);
    const X509_EXTENSION* ext = X509_get_ext(cert.get(), X509_get_ext_count(cert.get()) - 1);
    char oid[64];
    OBJ_obj2txt(oid, sizeof oid, X509_EXTENSION_get_object(const_cast<X509_EXTENSION*>(ext)), 1);
    EXPECT_STREQ(oid, "1.3.6.1.5.5.7.1.32");
    EXPECT_EQ(octets(X509_EXTENSION_get_data(const_cast<X509_EXTENSION*>(ext))), value);
}

// ---- validity ----

TEST(IssuingCa, ValidityRunsValidityDaysFromNowBackdatedFiveMinutes) {
    const IssuingCa ca = make_ca();
    const EvpPkeyPtr key = test::make_key();
    IssuanceProfile profile;
    profile.validity_days = 30;
    const std::time_t before = std::time(nullptr);
    const X509Ptr cert = issue_for(ca, "CN=device", {}, key.get(), profile);
    const std::time_t after = std::time(nullptr);
    ASSERT_NE(cert, nullptr);
    const std::time_t not_before = unix_time(X509_get0_notBefore(cert.get()));
    const std::time_t not_after = unix_time(X509_get0_notAfter(cert.get()));
    EXPECT_GE(not_before, before - 300);
    EXPECT_LE(not_before, after - 300);
    EXPECT_GE(not_after, before + 30 * 86400);
    EXPECT_LE(not_after, after + 30 * 86400);
}

TEST(IssuingCa, ValidityIsCutToTheCaNotAfter) {
    const X509NamePtr name = test::make_name("CN=short-lived CA");
    auto ca = IssuingCa::create_self_signed(name.get(), test::make_key(), 10);
    ASSERT_TRUE(ca.ok()) << ca.error().message;
    const EvpPkeyPtr key = test::make_key();
    const X509Ptr cert = issue_for(*ca, "CN=device", {}, key.get());
    ASSERT_NE(cert, nullptr);
    EXPECT_EQ(ASN1_TIME_compare(X509_get0_notAfter(cert.get()), X509_get0_notAfter(ca->certificate())), 0);
}

// RFC 5280 §4.1.2.5: 99991231235959Z, a GeneralizedTime, for certificates without an end (802.1AR IDevIDs).
TEST(IssuingCa, NoWellDefinedExpirationIsNotAfter9999FromACaThatHasItToo) {
    const X509NamePtr name = test::make_name("CN=manufacturer CA");
    auto ca = IssuingCa::create_self_signed(name.get(), test::make_key(), 10, true);
    ASSERT_TRUE(ca.ok()) << ca.error().message;
    const EvpPkeyPtr key = test::make_key();
    IssuanceProfile profile;
    profile.no_well_defined_expiration = true;
    const X509Ptr cert = issue_for(*ca, "CN=device", {}, key.get(), profile);
    ASSERT_NE(cert, nullptr);
    for (const X509* c : {ca->certificate(), static_cast<const X509*>(cert.get())}) {
        const ASN1_TIME* not_after = X509_get0_notAfter(c);
        EXPECT_EQ(ASN1_STRING_type(not_after), V_ASN1_GENERALIZEDTIME);
        EXPECT_EQ(octets(not_after), to_bytes("99991231235959Z"));
    }
    EXPECT_EQ(verify_chain(cert.get(), ca->certificate()), "");
}

TEST(IssuingCa, NoWellDefinedExpirationIsStillCutToTheCaNotAfter) {
    const IssuingCa ca = make_ca();
    const EvpPkeyPtr key = test::make_key();
    IssuanceProfile profile;
    profile.no_well_defined_expiration = true;
    const X509Ptr cert = issue_for(ca, "CN=device", {}, key.get(), profile);
    ASSERT_NE(cert, nullptr);
    EXPECT_EQ(ASN1_TIME_compare(X509_get0_notAfter(cert.get()), X509_get0_notAfter(ca.certificate())), 0);
}

TEST(IssuingCa, RefusesValidityOutOfRange) {
    const IssuingCa ca = make_ca();
    const EvpPkeyPtr key = test::make_key();
    const X509ReqPtr csr = test::make_csr("CN=device", {}, key.get());
    IssuanceProfile profile;
    profile.validity_days = 0;
    EXPECT_EQ(ca.issue(csr.get(), profile).status(), Status::Internal);
}

// ---- chain ----

TEST(IssuingCa, IssuedCertificateVerifiesAgainstTheCa) {
    const IssuingCa ca = make_ca();
    for (test::KeyKind kind : {test::KeyKind::P256, test::KeyKind::Ed25519, test::KeyKind::Rsa2048}) {
        const EvpPkeyPtr key = test::make_key(kind);
        const X509Ptr cert = issue_for(ca, "CN=device", {"DNS:device.example"}, key.get());
        ASSERT_NE(cert, nullptr);
        EXPECT_EQ(verify_chain(cert.get(), ca.certificate()), "");
    }
}

TEST(IssuingCa, IssuesForAServerGeneratedKeyWithTheCsrNames) {
    // RFC 7030 §4.4.1: for server-side key generation the CSR's key is ignored.
    const IssuingCa ca = make_ca();
    const EvpPkeyPtr csr_key = test::make_key();
    const EvpPkeyPtr generated = test::make_key(test::KeyKind::P384);
    const X509ReqPtr csr = test::make_csr("CN=device", {"DNS:device.example"}, csr_key.get());
    auto cert = ca.issue(csr.get(), generated.get(), IssuanceProfile{});
    ASSERT_TRUE(cert.ok()) << cert.error().message;
    EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(cert->get()), generated.get()), 1);
    auto same = csr_matches_certificate_identity(csr.get(), cert->get());
    ASSERT_TRUE(same.ok());
    EXPECT_TRUE(*same);
}

TEST(IssuingCa, IssuesFromEightThreadsAtOnce) {
    const IssuingCa ca = make_ca();
    const EvpPkeyPtr key = test::make_key();
    const X509ReqPtr csr = test::make_csr("CN=device", {"DNS:device.example"}, key.get());
    std::vector<std::vector<std::string>> serials(8);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < serials.size(); ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 25; ++i) {
                auto cert = ca.issue(csr.get(), IssuanceProfile{});
                if (cert.ok() && verify_chain(cert->get(), ca.certificate()).empty()) {
                    serials[t].push_back(serial_hex(cert->get()));
                }
            }
        });
    }
    for (std::thread& thread : threads)
        thread.join();
    std::set<std::string> all;
    for (const auto& list : serials)
        all.insert(list.begin(), list.end());
    EXPECT_EQ(all.size(), 200u);
}

// ---- loading ----

TEST(IssuingCa, LoadsAnIntermediateWithItsChainAndSec1Key) {
    const EvpPkeyPtr root_key = test::make_key();
    const X509Ptr root = test::make_self_signed_ca("CN=Root", root_key.get());
    const EvpPkeyPtr key = test::make_key();
    test::CertOptions options;
    options.ca = true;
    const X509Ptr intermediate =
        test::make_certificate("CN=Issuing", key.get(), root.get(), root_key.get(), options);
    auto sec1 = i2d_bytes(key.get(), i2d_PrivateKey);
    ASSERT_TRUE(sec1.ok());
    const TempDir dir;
    test::write_cert_file(dir.path() / "ca.crt", {intermediate.get(), root.get()});
    // `openssl ecparam -genkey` style: parameters first, then the SEC1 key.
    test::write_file(dir.path() / "ca.key",
                     "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" +
                         pem_encode(*sec1, "EC PRIVATE KEY"));
    auto ca = IssuingCa::load(dir.path() / "ca.crt", dir.path() / "ca.key");
    ASSERT_TRUE(ca.ok()) << ca.error().message;

    auto chain = ca->ca_certificates_der();
    ASSERT_TRUE(chain.ok());
    EXPECT_EQ(*chain, (std::vector<Bytes>{test::to_der(intermediate.get()), test::to_der(root.get())}));
    const EvpPkeyPtr device_key = test::make_key();
    const X509Ptr cert = issue_for(*ca, "CN=device", {}, device_key.get());
    ASSERT_NE(cert, nullptr);
    EXPECT_EQ(verify_chain(cert.get(), root.get(), {intermediate.get()}), "");
}

TEST(IssuingCa, CacertsResponseIsCertsOnlyWithTheCaThenItsChain) {
    // RFC 7030 §4.1.3: the answer MUST hold the root and any intermediates.
    const EvpPkeyPtr root_key = test::make_key();
    const X509Ptr root = test::make_self_signed_ca("CN=Root", root_key.get());
    const EvpPkeyPtr key = test::make_key();
    test::CertOptions options;
    options.ca = true;
    const X509Ptr intermediate =
        test::make_certificate("CN=Issuing", key.get(), root.get(), root_key.get(), options);
    auto ca =
        IssuingCa::from_pem(test::certs_pem({intermediate.get(), root.get()}), test::key_pem(key.get()));
    ASSERT_TRUE(ca.ok()) << ca.error().message;
    auto response = ca->cacerts_response();
    ASSERT_TRUE(response.ok());
    auto certificates = certs_only_certificates_der(*response);
    ASSERT_TRUE(certificates.ok());
    EXPECT_EQ(*certificates,
              (std::vector<Bytes>{test::to_der(intermediate.get()), test::to_der(root.get())}));
}

TEST(IssuingCa, RefusesAKeyThatDoesNotMatchTheCertificate) {
    const EvpPkeyPtr key = test::make_key();
    const X509Ptr root = test::make_self_signed_ca("CN=Root", key.get());
    const EvpPkeyPtr other = test::make_key();
    auto ca = IssuingCa::from_pem(test::certs_pem({root.get()}), test::key_pem(other.get()));
    ASSERT_FALSE(ca.ok());
    EXPECT_NE(ca.error().message.find("does not match"), std::string::npos) << ca.error().message;
}

TEST(IssuingCa, RefusesACertificateWithoutCaBasicConstraints) {
    const EvpPkeyPtr key = test::make_key();
    const X509Ptr leaf = test::make_certificate("CN=not a CA", key.get(), nullptr, key.get());
    auto ca = IssuingCa::from_pem(test::certs_pem({leaf.get()}), test::key_pem(key.get()));
    ASSERT_FALSE(ca.ok());
    EXPECT_NE(ca.error().message.find("cA TRUE"), std::string::npos) << ca.error().message;
}

TEST(IssuingCa, RefusesAnEncryptedKey) {
    const EvpPkeyPtr key = test::make_key();
    const X509Ptr root = test::make_self_signed_ca("CN=Root", key.get());
    auto ca = IssuingCa::from_pem(test::certs_pem({root.get()}),
                                  pem_encode(test::hex("3000"), "ENCRYPTED PRIVATE KEY"));
    ASSERT_FALSE(ca.ok());
    EXPECT_NE(ca.error().message.find("encrypted"), std::string::npos);
}

TEST(IssuingCa, LoadNamesAMissingFile) {
    const TempDir dir;
    auto ca = IssuingCa::load(dir.path() / "missing.crt", dir.path() / "missing.key");
    ASSERT_FALSE(ca.ok());
    EXPECT_NE(ca.error().message.find("missing.crt"), std::string::npos);
}

// ---- the certificate as written (issue_der: DER writer, no X509 object) ----

// What OpenSSL makes of the written DER must be exactly that DER (DER is canonical: a certificate that
// re-encodes differently was not DER), signed by the CA, with the record fields OpenSSL reads from it.
void expect_written_as_openssl_reads_it(const IssuingCa& ca, const IssuedCertificate& issued,
                                        const X509_REQ* csr, const EVP_PKEY* key) {
    auto parsed = parse_certificate_der(issued.der);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    X509* cert = parsed->get();
    auto reencoded = certificate_to_der(cert);
    ASSERT_TRUE(reencoded.ok());
    EXPECT_EQ(*reencoded, issued.der);
    EXPECT_EQ(X509_get_version(cert), X509_VERSION_3);
    EXPECT_EQ(X509_verify(cert, const_cast<EVP_PKEY*>(ca.private_key())), 1);
    EXPECT_EQ(verify_chain(cert, ca.certificate()), "");
    EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(ca.certificate())), 0);
    EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(cert), X509_REQ_get_subject_name(csr)), 0);
    EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(cert), key), 1);
    EXPECT_EQ(issued.serial_hex, serial_hex(cert));
    EXPECT_EQ(issued.subject, name_to_string(X509_get_subject_name(cert)));
    auto record = make_issuance_record(cert, IssuanceOperation::Enroll, "");
    ASSERT_TRUE(record.ok());
    EXPECT_EQ(issued.not_before, record->not_before);
    EXPECT_EQ(issued.not_after, record->not_after);
    // Every extension decodes, and the flags OpenSSL derives from them are consistent.
    EXPECT_EQ(X509_get_extension_flags(cert) & EXFLAG_INVALID, 0u);
    for (int i = 0; i < X509_get_ext_count(cert); ++i) {
        X509_EXTENSION* extension = X509_get_ext(cert, i);
        const int nid = OBJ_obj2nid(X509_EXTENSION_get_object(extension));
        if (nid == NID_undef) continue;  // a custom extension: OpenSSL keeps it as bytes
        void* decoded = X509V3_EXT_d2i(extension);
        EXPECT_NE(decoded, nullptr) << OBJ_nid2sn(nid);
        if (const X509V3_EXT_METHOD* method = X509V3_EXT_get(extension); method != nullptr && decoded) {
            if (method->it != nullptr)
                ASN1_item_free(static_cast<ASN1_VALUE*>(decoded), ASN1_ITEM_ptr(method->it));
        }
    }
}

TEST(IssuingCaDer, WrittenCertificateIsWhatOpensslReadsForEveryKeyType) {
    const IssuingCa ca = make_ca();
    IssuanceProfile profile;
    profile.extended_key_usages = {NID_client_auth, NID_server_auth};
    profile.extra_extensions.push_back(
        CustomExtension{"1.3.6.1.5.5.7.1.32", false, test::hex("160e6c6f63616c686f73743a39343433")});
    for (test::KeyKind kind :
         {test::KeyKind::P256, test::KeyKind::P384, test::KeyKind::Ed25519, test::KeyKind::Rsa2048}) {
        const EvpPkeyPtr key = test::make_key(kind);
        const X509ReqPtr csr =
            test::make_csr("CN=device,O=Example", {"DNS:device.example", "IP:192.0.2.1"}, key.get());
        auto issued = ca.issue_der(csr.get(), nullptr, profile);
        ASSERT_TRUE(issued.ok()) << issued.error().message;
        expect_written_as_openssl_reads_it(ca, *issued, csr.get(), key.get());
    }
}

TEST(IssuingCaDer, CopiesTheCsrSubjectPublicKeyInfoByteForByte) {
    const IssuingCa ca = make_ca();
    const EvpPkeyPtr key = test::make_key();
    const X509ReqPtr csr = test::make_csr("CN=device", {}, key.get());
    auto issued = ca.issue_der(csr.get(), nullptr, IssuanceProfile{});
    ASSERT_TRUE(issued.ok()) << issued.error().message;
    auto parsed = parse_certificate_der(issued->der);
    ASSERT_TRUE(parsed.ok());
    auto in_csr = i2d_bytes(X509_REQ_get_X509_PUBKEY(csr.get()), i2d_X509_PUBKEY);
    auto in_cert = i2d_bytes(X509_get_X509_PUBKEY(parsed->get()), i2d_X509_PUBKEY);
    ASSERT_TRUE(in_csr.ok() && in_cert.ok());
    EXPECT_EQ(*in_cert, *in_csr);
}

TEST(IssuingCaDer, WrittenFromEachKindOfCaKey) {
    // The signature AlgorithmIdentifier comes from the CA key's signature provider; each kind must verify.
    for (test::KeyKind kind :
         {test::KeyKind::P256, test::KeyKind::P384, test::KeyKind::Ed25519, test::KeyKind::Rsa2048}) {
        const X509NamePtr name = test::make_name("CN=root of some kind");
        auto ca = IssuingCa::create_self_signed(name.get(), test::make_key(kind), 365);
        ASSERT_TRUE(ca.ok()) << ca.error().message;
        EXPECT_EQ(X509_verify(const_cast<X509*>(ca->certificate()), const_cast<EVP_PKEY*>(ca->private_key())),
                  1);
        const EvpPkeyPtr key = test::make_key();
        const X509ReqPtr csr = test::make_csr("CN=device", {"DNS:device.example"}, key.get());
        auto issued = ca->issue_der(csr.get(), nullptr, IssuanceProfile{});
        ASSERT_TRUE(issued.ok()) << issued.error().message;
        expect_written_as_openssl_reads_it(*ca, *issued, csr.get(), key.get());
    }
}

TEST(IssuingCaDer, CertsOnlyIsWhatOpensslWritesForTheParsedCertificate) {
    const IssuingCa ca = make_ca();
    const EvpPkeyPtr key = test::make_key();
    const X509ReqPtr csr = test::make_csr("CN=device", {"DNS:device.example"}, key.get());
    auto issued = ca.issue_der(csr.get(), nullptr, IssuanceProfile{});
    ASSERT_TRUE(issued.ok()) << issued.error().message;
    auto parsed = parse_certificate_der(issued->der);
    ASSERT_TRUE(parsed.ok());
    auto expected = make_certs_only_from_parsed({parsed->get()});
    ASSERT_TRUE(expected.ok());
    EXPECT_EQ(certs_only_der(issued->der), *expected);
}

// ---- renew vs rekey (RFC 7030 §4.2.2) ----

TEST(SamePublicKey, SameKeyIsARenewalAndANewKeyARekey) {
    const IssuingCa ca = make_ca();
    const EvpPkeyPtr key = test::make_key();
    const X509Ptr current = issue_for(ca, "CN=device", {}, key.get());
    const X509ReqPtr renew = test::make_csr("CN=device", {}, key.get());
    const EvpPkeyPtr new_key = test::make_key();
    const X509ReqPtr rekey = test::make_csr("CN=device", {}, new_key.get());
    auto same = same_public_key(renew.get(), current.get());
    auto different = same_public_key(rekey.get(), current.get());
    ASSERT_TRUE(same.ok() && different.ok());
    EXPECT_TRUE(*same);
    EXPECT_FALSE(*different);
}

}  // namespace
}  // namespace estgw::certs
