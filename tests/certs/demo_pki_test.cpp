// `estgw pki init`: a demo PKI for full-server mode — domain CA, registrar/server certificate
// (RFC 9148 §9.2, cBRSKI §7.4 EKUs), manufacturer CA, an IDevID-style pledge certificate (RFC 8995 §2.3,
// 802.1AR) and the MASA's TLS and voucher signing certificates.
#include "certs/demo_pki.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "certs/ca.hpp"
#include "certs/key_policy.hpp"
#include "common/keys.hpp"
#include "common/pem.hpp"
#include "common/x509.hpp"
#include "support/test_data.hpp"
#include "tests/certs/certs_fixtures.hpp"

namespace estgw::certs {
namespace {

using fixtures::TempDir;
using fixtures::verify_chain;

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

X509Ptr read_certificate(const std::filesystem::path& path) {
    auto der = pem_decode(read_text(path), "CERTIFICATE");
    EXPECT_TRUE(der.ok()) << path;
    if (!der.ok()) return nullptr;
    auto cert = parse_certificate_der(*der);
    EXPECT_TRUE(cert.ok()) << path;
    return cert.ok() ? std::move(*cert) : nullptr;
}

EvpPkeyPtr read_key(const std::filesystem::path& path) {
    auto der = pem_decode(read_text(path), "PRIVATE KEY");
    EXPECT_TRUE(der.ok()) << path;
    if (!der.ok()) return nullptr;
    auto key = parse_private_key_der(*der);
    EXPECT_TRUE(key.ok()) << path;
    return key.ok() ? std::move(*key) : nullptr;
}

mode_t permissions(const std::filesystem::path& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
}

std::vector<std::string> san_strings(const X509* cert) {
    GeneralNamesPtr names(
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
    std::vector<std::string> out;
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
        int type = 0;
        const auto* value = static_cast<const ASN1_STRING*>(GENERAL_NAME_get0_value(name, &type));
        const Bytes bytes(ASN1_STRING_get0_data(value),
                          ASN1_STRING_get0_data(value) + ASN1_STRING_length(value));
        out.push_back((type == GEN_DNS ? "DNS:" : type == GEN_IPADD ? "IP:" : "?:") + to_hex(bytes));
    }
    return out;
}

// The extnValue of id-pe-masa-url (1.3.6.1.5.5.7.1.32), which must be non-critical; empty when absent.
Bytes masa_url_extension(const X509* cert) {
    const std::unique_ptr<ASN1_OBJECT, OpensslDeleter<ASN1_OBJECT, ASN1_OBJECT_free>> oid(
        OBJ_txt2obj("1.3.6.1.5.5.7.1.32", 1));
    const int index = X509_get_ext_by_OBJ(cert, oid.get(), -1);
    if (index < 0) return {};
    X509_EXTENSION* extension = X509_get_ext(cert, index);
    EXPECT_EQ(X509_EXTENSION_get_critical(extension), 0);
    const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(extension);
    return Bytes(ASN1_STRING_get0_data(value), ASN1_STRING_get0_data(value) + ASN1_STRING_length(value));
}

class DemoPkiTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto created = init_demo_pki(dir_.path() / "pki", false);
        ASSERT_TRUE(created.ok()) << created.error().message;
        pki_ = *created;
    }
    TempDir dir_;
    DemoPki pki_;
};

TEST_F(DemoPkiTest, WritesEveryFile) {
    for (const auto& file : pki_.files())
        EXPECT_TRUE(std::filesystem::is_regular_file(file)) << file;
    EXPECT_EQ(pki_.files().size(), 14u);
    EXPECT_FALSE(std::filesystem::exists(pki_.db));  // the server creates it
    EXPECT_TRUE(demo_pki_present(dir_.path() / "pki"));
}

TEST_F(DemoPkiTest, PrivateKeysAreMode0600) {
    for (const auto& key : {pki_.ca_key, pki_.server_key, pki_.mfg_ca_key, pki_.pledge_key, pki_.masa_key,
                            pki_.masa_sign_key}) {
        EXPECT_EQ(permissions(key), 0600u) << key;
    }
}

TEST_F(DemoPkiTest, EveryKeyIsP256AndMatchesItsCertificate) {
    const std::pair<std::filesystem::path, std::filesystem::path> pairs[] = {
        {pki_.ca_cert, pki_.ca_key},         {pki_.server_cert, pki_.server_key},
        {pki_.mfg_ca_cert, pki_.mfg_ca_key}, {pki_.pledge_cert, pki_.pledge_key},
        {pki_.masa_cert, pki_.masa_key},     {pki_.masa_sign_cert, pki_.masa_sign_key}};
    for (const auto& [cert_file, key_file] : pairs) {
        const X509Ptr cert = read_certificate(cert_file);
        const EvpPkeyPtr key = read_key(key_file);
        ASSERT_TRUE(cert && key);
        EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1) << cert_file;
        auto type = key_type_of(key.get());
        ASSERT_TRUE(type.ok());
        EXPECT_EQ(key_type_name(*type), "p256") << key_file;
    }
}

TEST_F(DemoPkiTest, ServerCertificateIsARegistrarForLocalhost) {
    const X509Ptr server = read_certificate(pki_.server_cert);
    ASSERT_NE(server, nullptr);
    for (int nid : {NID_server_auth, NID_client_auth, NID_cmcRA}) {
        EXPECT_TRUE(has_extended_key_usage(server.get(), nid)) << OBJ_nid2sn(nid);
    }
    EXPECT_EQ(san_strings(server.get()),
              (std::vector<std::string>{"DNS:" + to_hex(as_bytes("localhost")), "IP:7f000001",
                                        "IP:00000000000000000000000000000001"}));
    EXPECT_EQ(name_to_string(X509_get_subject_name(server.get())), "O=estgw demo,CN=localhost");
}

TEST_F(DemoPkiTest, PledgeCertificateCarriesSerialNumberAndMasaUrl) {
    const X509Ptr pledge = read_certificate(pki_.pledge_cert);
    ASSERT_NE(pledge, nullptr);
    // RFC 8995 §2.3.1: the pledge's serialNumber attribute in the subject.
    const X509_NAME* subject = X509_get_subject_name(pledge.get());
    const int index = X509_NAME_get_index_by_NID(subject, NID_serialNumber, -1);
    ASSERT_GE(index, 0);
    const ASN1_STRING* serial = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
    EXPECT_EQ(ASN1_STRING_type(serial), V_ASN1_PRINTABLESTRING);
    EXPECT_EQ(to_string(ByteView(ASN1_STRING_get0_data(serial), ASN1_STRING_length(serial))),
              pki_.pledge_serial_number);
    EXPECT_EQ(pki_.pledge_serial_number.rfind("ESTGW-", 0), 0u);

    // RFC 8995 §2.3.2: id-pe-masa-url, non-critical, extnValue = DER IA5String; no "/" in it means an
    // authority only (BRSKI.md §3.4).
    EXPECT_EQ(masa_url_extension(pledge.get()), test::hex("160e" + to_hex(as_bytes("localhost:9443"))));
}

TEST_F(DemoPkiTest, ThePledgeAndItsManufacturerCaNeverExpire) {
    // 802.1AR: an IDevID has notAfter 99991231235959Z, a GeneralizedTime (RFC 5280 §4.1.2.5); its CA too,
    // or the IDevID's would be cut to the CA's.
    for (const auto& file : {pki_.pledge_cert, pki_.mfg_ca_cert}) {
        const X509Ptr cert = read_certificate(file);
        ASSERT_NE(cert, nullptr);
        const ASN1_TIME* not_after = X509_get0_notAfter(cert.get());
        EXPECT_EQ(ASN1_STRING_type(not_after), V_ASN1_GENERALIZEDTIME) << file;
        EXPECT_EQ(to_string(ByteView(ASN1_STRING_get0_data(not_after), ASN1_STRING_length(not_after))),
                  "99991231235959Z")
            << file;
    }
}

TEST_F(DemoPkiTest, MasaTlsCertificateServesLocalhost) {
    const X509Ptr masa = read_certificate(pki_.masa_cert);
    ASSERT_NE(masa, nullptr);
    EXPECT_TRUE(has_extended_key_usage(masa.get(), NID_server_auth));
    EXPECT_FALSE(has_extended_key_usage(masa.get(), NID_cmcRA));
    EXPECT_EQ(san_strings(masa.get()),
              (std::vector<std::string>{"DNS:" + to_hex(as_bytes("localhost")), "IP:7f000001",
                                        "IP:00000000000000000000000000000001"}));
    EXPECT_EQ(X509_check_host(masa.get(), "localhost", 0, 0, nullptr), 1);
}

TEST_F(DemoPkiTest, MasaSigningCertificateSignsOnlyWithoutExtendedKeyUsage) {
    const X509Ptr signing = read_certificate(pki_.masa_sign_cert);
    ASSERT_NE(signing, nullptr);
    EXPECT_EQ(X509_get_key_usage(signing.get()), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
    EXPECT_EQ(X509_get_extension_flags(signing.get()) & EXFLAG_XKUSAGE, 0u);
    EXPECT_EQ(X509_get_extension_flags(signing.get()) & EXFLAG_CA, 0u);
}

TEST(DemoPkiMasaAuthority, IsWrittenAsGivenIntoThePledgeCertificate) {
    for (const std::string authority : {"masa.example.com:443", "[2001:db8::1]:9443", "192.0.2.7:1"}) {
        const TempDir dir;
        auto pki = init_demo_pki(dir.path(), false, authority);
        ASSERT_TRUE(pki.ok()) << authority << ": " << pki.error().message;
        const X509Ptr pledge = read_certificate(pki->pledge_cert);
        ASSERT_NE(pledge, nullptr);
        Bytes expected{0x16, static_cast<std::uint8_t>(authority.size())};
        expected.insert(expected.end(), authority.begin(), authority.end());
        EXPECT_EQ(masa_url_extension(pledge.get()), expected) << authority;
    }
}

TEST(DemoPkiMasaAuthority, RefusesWhatIsNotHostColonPortAndWritesNothing) {
    for (const std::string authority :
         {"", "localhost", "localhost:", "localhost:0", "localhost:65536", "localhost:+80", "localhost:80x",
          "https://localhost:9443", "localhost:9443/brski", "::1:9443", "[::1]", "[::1]9443", "[nope]:9443",
          "-bad.example:443", "a..b:443", "under_score:443", ":443"}) {
        const TempDir dir;
        auto pki = init_demo_pki(dir.path(), false, authority);
        ASSERT_FALSE(pki.ok()) << authority;
        EXPECT_EQ(pki.status(), Status::BadRequest) << authority;
        EXPECT_NE(pki.error().message.find("--masa-authority"), std::string::npos) << pki.error().message;
        EXPECT_TRUE(std::filesystem::is_empty(dir.path())) << authority;
    }
}

TEST_F(DemoPkiTest, ChainsVerify) {
    const X509Ptr ca = read_certificate(pki_.ca_cert);
    const X509Ptr mfg = read_certificate(pki_.mfg_ca_cert);
    const X509Ptr server = read_certificate(pki_.server_cert);
    const X509Ptr pledge = read_certificate(pki_.pledge_cert);
    const X509Ptr masa = read_certificate(pki_.masa_cert);
    const X509Ptr masa_sign = read_certificate(pki_.masa_sign_cert);
    ASSERT_TRUE(ca && mfg && server && pledge && masa && masa_sign);
    EXPECT_EQ(verify_chain(server.get(), ca.get()), "");
    EXPECT_EQ(verify_chain(pledge.get(), mfg.get()), "");
    EXPECT_NE(verify_chain(pledge.get(), ca.get()), "");
    EXPECT_EQ(verify_chain(masa.get(), mfg.get()), "");
    EXPECT_EQ(verify_chain(masa_sign.get(), mfg.get()), "");
    EXPECT_NE(verify_chain(masa_sign.get(), ca.get()), "");
}

TEST_F(DemoPkiTest, ClientTrustHoldsTheManufacturerCaThenTheDomainCa) {
    auto blocks = pem_decode_all(read_text(pki_.client_trust));
    ASSERT_TRUE(blocks.ok());
    ASSERT_EQ(blocks->size(), 2u);
    EXPECT_EQ((*blocks)[0].der, test::to_der(read_certificate(pki_.mfg_ca_cert).get()));
    EXPECT_EQ((*blocks)[1].der, test::to_der(read_certificate(pki_.ca_cert).get()));
}

TEST_F(DemoPkiTest, TheDomainCaLoadsAsTheIssuingCa) {
    auto ca = IssuingCa::load(pki_.ca_cert, pki_.ca_key);
    ASSERT_TRUE(ca.ok()) << ca.error().message;
}

TEST_F(DemoPkiTest, ConfigNamesTheFilesWithAbsolutePaths) {
    const std::string dir = pki_.dir.string();
    EXPECT_TRUE(pki_.dir.is_absolute());
    EXPECT_EQ(read_text(pki_.config), demo_config_text(pki_));
    const std::string text = read_text(pki_.config);
    for (const std::string& line :
         {std::string("mode = server\n"), std::string("listen = [::]:5684\n"),
          "cert = " + dir + "/server.crt\n", "key = " + dir + "/server.key\n",
          "client-ca = " + dir + "/client-trust.pem\n", "ca-cert = " + dir + "/ca.crt\n",
          "ca-key = " + dir + "/ca.key\n", "db = " + dir + "/estgw.db\n"}) {
        EXPECT_NE(text.find(line), std::string::npos) << line;
    }
}

// A container keeps the configuration and the database in volumes of their own.
TEST_F(DemoPkiTest, ConfigNamesTheDatabaseGivenOutsideTheDirectory) {
    const TempDir other;
    auto created =
        init_demo_pki(other.path() / "etc", false, kDemoMasaAuthority, other.path() / "lib" / "estgw.db");
    ASSERT_TRUE(created.ok()) << created.error().message;
    EXPECT_EQ(created->db, other.path() / "lib" / "estgw.db");
    EXPECT_NE(read_text(created->config).find("db = " + (other.path() / "lib" / "estgw.db").string() + "\n"),
              std::string::npos);
}

// Several servers on one PostgreSQL: the URI is written as given, not made a path.
TEST_F(DemoPkiTest, ConfigNamesAPostgresqlUriAsGiven) {
    const TempDir other;
    const std::string uri = "postgresql://estgw:secret@db.example:5432/estgw?sslmode=verify-full";
    auto created = init_demo_pki(other.path() / "etc", false, kDemoMasaAuthority, uri);
    ASSERT_TRUE(created.ok()) << created.error().message;
    EXPECT_EQ(created->db.string(), uri);
    EXPECT_NE(read_text(created->config).find("db = " + uri + "\n"), std::string::npos);
}

TEST_F(DemoPkiTest, RefusesToOverwriteWithoutForce) {
    const std::string ca_before = read_text(pki_.ca_cert);
    auto again = init_demo_pki(pki_.dir, false);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.status(), Status::PreconditionFailed);
    EXPECT_NE(again.error().message.find("--force"), std::string::npos);
    EXPECT_EQ(read_text(pki_.ca_cert), ca_before);
}

TEST_F(DemoPkiTest, RefusesWhenAnyOneFileExists) {
    const TempDir other;
    std::ofstream(other.path() / "estgw.conf") << "mode = gateway\n";
    EXPECT_EQ(init_demo_pki(other.path(), false).status(), Status::PreconditionFailed);
    EXPECT_FALSE(std::filesystem::exists(other.path() / "ca.key"));
}

TEST_F(DemoPkiTest, ForceReplacesEverythingAndKeysStay0600) {
    const std::string ca_before = read_text(pki_.ca_cert);
    std::filesystem::permissions(pki_.ca_key, std::filesystem::perms(0644));
    auto again = init_demo_pki(pki_.dir, true);
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_NE(read_text(pki_.ca_cert), ca_before);
    EXPECT_EQ(permissions(pki_.ca_key), 0600u);
    const X509Ptr server = read_certificate(pki_.server_cert);
    const X509Ptr ca = read_certificate(pki_.ca_cert);
    EXPECT_EQ(verify_chain(server.get(), ca.get()), "");
}

}  // namespace
}  // namespace estgw::certs
