// `estgw enroll` end to end: the real binary as the pledge against estgw itself, in server mode (every
// operation) and in gateway mode with the scripted RFC 7030 upstream (5.03 retries, encrypted keys). What it
// writes is checked with openssl and the project's parsers.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>

#include "common/base64.hpp"
#include "common/der.hpp"
#include "common/keys.hpp"
#include "common/pem.hpp"
#include "common/pkcs7.hpp"
#include "common/x509.hpp"
#include "gateway/gateway_env.hpp"
#include "support/process.hpp"
#include "support/server_env.hpp"
#include "support/shared_env.hpp"
#include "support/test_pki.hpp"

namespace estgw::test {
namespace {

RunResult estgw_enroll(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {ESTGW_BINARY, "enroll"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, std::chrono::seconds(60));
}

unsigned file_mode(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 0777) : 0;
}

bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

X509Ptr read_cert(const std::string& path) {
    auto der = pem_decode(read_file(path), "CERTIFICATE");
    if (!der) throw std::runtime_error(path + ": " + der.error().message);
    return parse_certificate_der(*der).value();
}

EvpPkeyPtr read_key(const std::string& path) {
    auto der = pem_decode(read_file(path), "PRIVATE KEY");
    if (!der) throw std::runtime_error(path + ": " + der.error().message);
    return parse_private_key_der(*der).value();
}

bool openssl_verifies(const std::string& ca, const std::string& cert) {
    RunResult r = run_command({"openssl", "verify", "-CAfile", ca, cert}, std::chrono::seconds(10));
    return r.exit_code == 0 && r.output.find(": OK") != std::string::npos;
}

// Keys the Enroll suite's server shares with its pledges (--kek-file): AES-128 and AES-256, by id.
const std::string kKekId = to_hex(to_bytes("pledge-kek-1"));
const std::string kKek = "000102030405060708090a0b0c0d0e0f";
const std::string kKekId256 = to_hex(to_bytes("pledge-kek-2"));
const std::string kKek256 = "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f";

// The full server, also offering encrypted server-generated keys (RFC 7030 §4.4.1.1) with those keys.
struct KekServerEnv : ServerEnv {};
void start_env(KekServerEnv& env) {
    write_file(env.dir.file("server-keks"), kKekId + " " + kKek + "\n" + kKekId256 + " " + kKek256 + "\n");
    env.start({"--kek-file", env.dir.file("server-keks")});
}

class Enroll : public SharedEnvTest<Enroll, KekServerEnv> {
  protected:
    std::string url() const { return "coaps://127.0.0.1:" + std::to_string(env_->port); }
    std::string out(const std::string& name) const { return env_->dir.file("enroll-" + name); }
    // As the IDevID, trusting the domain CA, writing into out(name).
    RunResult run(const std::string& name, std::vector<std::string> args,
                  const std::optional<Credentials>& who = std::nullopt) {
        Credentials c = who.value_or(env_->idevid);
        std::vector<std::string> all = {"--server", url(), "--cert", c.cert,
                                        "--key",    c.key, "--out",  out(name)};
        if (std::find(args.begin(), args.end(), "--insecure-bootstrap") == args.end())
            all.insert(all.end(), {"--ca", env_->pki + "/ca.crt"});
        all.insert(all.end(), args.begin(), args.end());
        return estgw_enroll(all);
    }
};

// ---- every operation ----

TEST_F(Enroll, CrtsWritesTheDomainCaAsPem) {
    RunResult r = run("crts", {"--op", "crts"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("crts 2.05 Content"), std::string::npos) << r.output;
    EXPECT_EQ(pem_decode(read_file(out("crts") + "/ca.pem")).value(),
              pem_decode(read_file(env().pki + "/ca.crt")).value());
    EXPECT_EQ(file_mode(out("crts") + "/ca.pem"), 0644u);
}

TEST_F(Enroll, SenWritesAPrivateKeyWithMode0600AndACertificateThatVerifies) {
    ASSERT_EQ(run("sen", {"--op", "crts"}).exit_code, 0);
    RunResult r = run("sen", {});  // --op sen is the default
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("sen 2.04 Changed"), std::string::npos) << r.output;
    EXPECT_EQ(file_mode(out("sen") + "/key.pem"), 0600u);
    EXPECT_EQ(file_mode(out("sen") + "/cert.pem"), 0644u);
    EXPECT_TRUE(openssl_verifies(out("sen") + "/ca.pem", out("sen") + "/cert.pem"));
    X509Ptr cert = read_cert(out("sen") + "/cert.pem");
    EvpPkeyPtr key = read_key(out("sen") + "/key.pem");
    EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
    EXPECT_EQ(key_description(key.get()), "EC prime256v1");  // the default key type
    // Without --subject the request repeats the identity of --cert, subjectAltName included.
    X509Ptr idevid = read_cert(env().idevid.cert);
    EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(cert.get()), X509_get_subject_name(idevid.get())), 0);
}

TEST_F(Enroll, AnExistingKeyFileIsReplacedWithMode0600) {
    std::string dir = out("replace");
    RunResult first = run("replace", {});
    ASSERT_EQ(first.exit_code, 0) << first.output;
    ASSERT_EQ(::chmod((dir + "/key.pem").c_str(), 0644), 0);
    ASSERT_EQ(run("replace", {}).exit_code, 0);
    EXPECT_EQ(file_mode(dir + "/key.pem"), 0600u);
}

TEST_F(Enroll, SenWithAccept287AndSmallBlocksGetsTheBareCertificate) {
    RunResult r = run("sen287", {"--accept", "287", "--block", "64"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(openssl_verifies(env().pki + "/ca.crt", out("sen287") + "/cert.pem"));
}

TEST_F(Enroll, SenWithSubjectAndKeyTypeUsesBoth) {
    RunResult r = run("subject", {"--new-key", "p384", "--subject", "CN=dev-7,O=Example"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    X509Ptr cert = read_cert(out("subject") + "/cert.pem");
    EXPECT_EQ(name_to_string(X509_get_subject_name(cert.get())), "CN=dev-7,O=Example");
    EXPECT_EQ(key_description(read_key(out("subject") + "/key.pem").get()), "EC secp384r1");
}

TEST_F(Enroll, SenWithAGivenCsrWritesNoKey) {
    std::string csr = env().csr("given", "CN=given-csr", {});
    RunResult r = run("given", {"--csr", csr});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_FALSE(exists(out("given") + "/key.pem"));
    X509Ptr cert = read_cert(out("given") + "/cert.pem");
    EXPECT_EQ(X509_check_private_key(cert.get(), read_key(env().dir.file("given.key")).get()), 1);
}

TEST_F(Enroll, SrenWithoutNewKeyRenewsWithTheSameKey) {
    ASSERT_EQ(run("ldevid-a", {"--subject", "CN=ldevid-a"}).exit_code, 0);
    Credentials ldevid{out("ldevid-a") + "/cert.pem", out("ldevid-a") + "/key.pem"};
    RunResult r = run("renewed", {"--op", "sren"}, ldevid);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_FALSE(exists(out("renewed") + "/key.pem"));
    X509Ptr cert = read_cert(out("renewed") + "/cert.pem");
    EXPECT_EQ(X509_check_private_key(cert.get(), read_key(ldevid.key).get()), 1);
    EXPECT_NE(env().certs_list().find("CN=ldevid-a\t"), std::string::npos);
    EXPECT_NE(env().certs_list().find("\trenew\t"), std::string::npos);
}

TEST_F(Enroll, SrenWithNewKeyRekeys) {
    ASSERT_EQ(run("ldevid-b", {"--subject", "CN=ldevid-b"}).exit_code, 0);
    Credentials ldevid{out("ldevid-b") + "/cert.pem", out("ldevid-b") + "/key.pem"};
    RunResult r = run("rekeyed", {"--op", "sren", "--new-key", "p256", "--accept", "287"}, ldevid);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    X509Ptr cert = read_cert(out("rekeyed") + "/cert.pem");
    EXPECT_EQ(X509_check_private_key(cert.get(), read_key(out("rekeyed") + "/key.pem").get()), 1);
    EXPECT_NE(env().certs_list().find("\trekey\t"), std::string::npos);
}

TEST_F(Enroll, AttWritesTheCsrAttributesAsDer) {
    RunResult r = run("att", {"--op", "att"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    std::string der = read_file(out("att") + "/csrattrs.der");
    ASSERT_FALSE(der.empty());
    EXPECT_EQ(static_cast<unsigned char>(der[0]), 0x30);
}

void expect_server_generated_key(const std::string& dir) {
    EXPECT_EQ(file_mode(dir + "/key.pem"), 0600u);
    X509Ptr cert = read_cert(dir + "/cert.pem");
    EXPECT_EQ(X509_check_private_key(cert.get(), read_key(dir + "/key.pem").get()), 1);
}

TEST_F(Enroll, SkgWritesTheServerGeneratedKeyAndItsCertificate) {
    RunResult r = run("skg", {"--op", "skg"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    expect_server_generated_key(out("skg"));
    EXPECT_TRUE(openssl_verifies(env().pki + "/ca.crt", out("skg") + "/cert.pem"));
}

TEST_F(Enroll, SkcAsksForAKeyLikeItsCsrKey) {
    RunResult r = run("skc", {"--op", "skc", "--new-key", "ed25519"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    expect_server_generated_key(out("skc"));
    EXPECT_EQ(key_description(read_key(out("skc") + "/key.pem").get()), "ED25519");
}

// ---- encrypted server-generated keys (RFC 7030 §4.4.1.1-2, §4.4.2; RFC 9148 §4.8) ----

// The one RecipientInfo of the EnvelopedData in `file`: its type (CMS_RECIPINFO_KEK, ...) and, for kekri,
// the key id it names.
std::pair<int, Bytes> recipient_of(const std::string& file) {
    Bytes der = to_bytes(read_file(file));
    const unsigned char* p = der.data();
    CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
    if (!cms) throw std::runtime_error(file + ": not CMS");
    STACK_OF(CMS_RecipientInfo)* recipients = CMS_get0_RecipientInfos(cms.get());
    if (sk_CMS_RecipientInfo_num(recipients) != 1) throw std::runtime_error(file + ": not one recipient");
    CMS_RecipientInfo* recipient = sk_CMS_RecipientInfo_value(recipients, 0);
    Bytes id;
    ASN1_OCTET_STRING* kek_id = nullptr;
    if (CMS_RecipientInfo_type(recipient) == CMS_RECIPINFO_KEK &&
        CMS_RecipientInfo_kekri_get0_id(recipient, nullptr, &kek_id, nullptr, nullptr, nullptr) == 1)
        id.assign(ASN1_STRING_get0_data(kek_id), ASN1_STRING_get0_data(kek_id) + ASN1_STRING_length(kek_id));
    return {CMS_RecipientInfo_type(recipient), id};
}

// The key `openssl cms` finds in a key.p7 encrypted to a shared key, independently of estgw: it decrypts
// the EnvelopedData, verifies the SignedData inside (signer not chained) and the AsymmetricKeyPackage
// content holds the key.
EvpPkeyPtr openssl_opens(const std::string& dir, const std::string& kek, const std::string& kek_id) {
    RunResult decrypted =
        run_command({"openssl", "cms", "-decrypt", "-binary", "-inform", "DER", "-in", dir + "/key.p7",
                     "-secretkey", kek, "-secretkeyid", kek_id, "-out", dir + "/signed.der"},
                    std::chrono::seconds(10));
    RunResult verified = run_command({"openssl", "cms", "-verify", "-noverify", "-binary", "-inform", "DER",
                                      "-in", dir + "/signed.der", "-out", dir + "/package.der"},
                                     std::chrono::seconds(10));
    if (decrypted.exit_code != 0 || verified.exit_code != 0)
        throw std::runtime_error("openssl cms: " + decrypted.output + verified.output);
    Bytes package = to_bytes(read_file(dir + "/package.der"));
    DerHeader header = read_der_header(package).value();
    return parse_private_key_der(ByteView(package).subspan(header.header_length)).value();
}

TEST_F(Enroll, SkgWithASharedKeyDecryptsTheKeyIntoKeyPemAndKeepsKeyP7) {
    write_file(out("kek") + ".keys", kKekId + " " + kKek + "\n");
    RunResult r = run("kek", {"--op", "skg", "--kek-file", out("kek") + ".keys"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("decrypted from " + out("kek") + "/key.p7"), std::string::npos) << r.output;
    expect_server_generated_key(out("kek"));
    EXPECT_EQ(file_mode(out("kek") + "/key.p7"), 0600u);
    EXPECT_EQ(recipient_of(out("kek") + "/key.p7"),
              std::make_pair(CMS_RECIPINFO_KEK, to_bytes("pledge-kek-1")));
    EXPECT_EQ(
        EVP_PKEY_eq(openssl_opens(out("kek"), kKek, kKekId).get(), read_key(out("kek") + "/key.pem").get()),
        1);
}

TEST_F(Enroll, KekIdPicksOneKeyOfASharedKeyFileHoldingSeveral) {
    write_file(out("kek-id") + ".keys", kKekId + " " + kKek + "\n" + kKekId256 + " " + kKek256 + "\n");
    // --block 1024 would send the CSR in one block, whose separate Block2 answer libcoap 4.3.1 drops: the
    // request is split all the same.
    RunResult r = run("kek-id", {"--op", "skc", "--kek-file", out("kek-id") + ".keys", "--kek-id", kKekId256,
                                 "--block", "1024"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    expect_server_generated_key(out("kek-id"));
    EXPECT_EQ(recipient_of(out("kek-id") + "/key.p7").second, to_bytes("pledge-kek-2"));
}

// RFC 7030 §4.4.1.2 with the EC IDevID: key agreement (kari) to the certificate of the DTLS session.
TEST_F(Enroll, SkcEncryptedToOurEcCertificateIsDecryptedWithOurKey) {
    RunResult r = run("to-ec", {"--op", "skc", "--encrypt-to-cert"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    expect_server_generated_key(out("to-ec"));
    EXPECT_EQ(file_mode(out("to-ec") + "/key.p7"), 0600u);
    EXPECT_EQ(recipient_of(out("to-ec") + "/key.p7").first, CMS_RECIPINFO_AGREE);
}

// The same with an RSA certificate: key transport (ktri).
TEST_F(Enroll, SkgEncryptedToOurRsaCertificateIsDecryptedWithOurKey) {
    ASSERT_EQ(run("ldevid-rsa", {"--new-key", "rsa2048", "--subject", "CN=ldevid-rsa"}).exit_code, 0);
    Credentials rsa{out("ldevid-rsa") + "/cert.pem", out("ldevid-rsa") + "/key.pem"};
    RunResult r = run("to-rsa", {"--op", "skg", "--encrypt-to-cert"}, rsa);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    expect_server_generated_key(out("to-rsa"));
    EXPECT_EQ(recipient_of(out("to-rsa") + "/key.p7").first, CMS_RECIPINFO_TRANS);
}

TEST_F(Enroll, ASharedKeyTheServerLacksIsRefusedByTheServerNamingItsId) {
    write_file(out("kek-unknown") + ".keys", to_hex(to_bytes("elsewhere")) + " " + kKek + "\n");
    RunResult r = run("kek-unknown", {"--op", "skg", "--kek-file", out("kek-unknown") + ".keys"});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("skg failed: 4.00 Bad Request: "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("DecryptKeyIdentifier " + to_hex(to_bytes("elsewhere"))), std::string::npos)
        << r.output;
}

// The same id with another key: the server encrypts, we cannot open it, and what came is kept for whoever
// holds the right key.
TEST_F(Enroll, AWrongSharedKeyExits1NamingKekFileAndKeepsWhatCame) {
    write_file(out("kek-wrong") + ".keys", kKekId + " ffffffffffffffffffffffffffffffff\n");
    RunResult r = run("kek-wrong", {"--op", "skg", "--kek-file", out("kek-wrong") + ".keys"});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("cannot decrypt it with --kek-file " + out("kek-wrong") + ".keys"),
              std::string::npos)
        << r.output;
    EXPECT_FALSE(exists(out("kek-wrong") + "/key.pem"));
    EXPECT_EQ(recipient_of(out("kek-wrong") + "/key.p7").first, CMS_RECIPINFO_KEK);
    EXPECT_TRUE(openssl_verifies(env().pki + "/ca.crt", out("kek-wrong") + "/cert.pem"));
}

TEST_F(Enroll, EachKeyProtectionUsageErrorExits2NamingTheOption) {
    const std::string keys = out("kek-usage") + ".keys";
    write_file(keys, kKekId + " " + kKek + "\n" + kKekId256 + " " + kKek256 + "\n");
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"--op", "sen", "--kek-file", keys}, "are for skg and skc"},
        {{"--op", "skg", "--encrypt-to-cert", "--kek-file", keys}, "exclude each other"},
        {{"--op", "skg", "--kek-id", kKekId}, "--kek-id"},
        {{"--op", "skg", "--kek-file", keys}, "name one with --kek-id"},
        {{"--op", "skg", "--kek-file", keys, "--kek-id", "00"}, "--kek-id: 00 is not in"},
        {{"--op", "skg", "--kek-file", "/nonexistent.keys"}, "/nonexistent.keys"},
        {{"--op", "skg", "--encrypt-to-cert", "--csr", env().csr("kek-usage", "CN=x", {})}, "exclude --csr"},
    };
    for (const auto& [args, named] : cases) {
        RunResult r = run("kek-usage", args);
        EXPECT_EQ(r.exit_code, 2) << args[3] << ": " << r.output;
        EXPECT_NE(r.output.find(named), std::string::npos) << r.output;
    }
}

TEST(EnrollHelp, DocumentsTheKeyProtectionOptions) {
    RunResult r = estgw_enroll({"--help"});
    for (const char* option : {"--kek-file", "--kek-id", "--encrypt-to-cert", "key.p7"})
        EXPECT_NE(r.output.find(option), std::string::npos) << option;
}

// ---- trust ----

TEST_F(Enroll, InsecureBootstrapWarnsPinsCrtsAndEnrollsWithIt) {
    RunResult r = run("bootstrap", {"--insecure-bootstrap"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("WARNING: --insecure-bootstrap"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("SHA-256 "), std::string::npos) << r.output;
    EXPECT_EQ(pem_decode(read_file(out("bootstrap") + "/ca.pem")).value(),
              pem_decode(read_file(env().pki + "/ca.crt")).value());
    EXPECT_TRUE(openssl_verifies(out("bootstrap") + "/ca.pem", out("bootstrap") + "/cert.pem"));
}

// Exit 3 (no answer), the failed handshake summed up with its cause.
void expect_handshake_failure(const RunResult& r, const std::string& cause) {
    EXPECT_EQ(r.exit_code, 3) << r.output;
    EXPECT_NE(r.output.find("failed: DTLS handshake failed: " + cause), std::string::npos) << r.output;
}

TEST_F(Enroll, AServerOutsideTheTrustAnchorsExits3) {
    RunResult r = estgw_enroll({"--server", url(), "--cert", env().idevid.cert, "--key", env().idevid.key,
                                "--ca", env().pki + "/mfg-ca.crt", "--out", out("untrusted")});
    expect_handshake_failure(r, "the certificate of the server does not verify against --ca: unknown issuer");
}

TEST_F(Enroll, AnExpiredCertificateExits3SayingTheServerRefusedIt) {
    RunResult r = run("expired", {"--op", "crts"}, env().issue_pledge("enroll-expired", "mfg-ca", expired()));
    expect_handshake_failure(r, "the server refused our certificate (--cert): certificate expired");
}

TEST_F(Enroll, ACertificateFromAnUnknownCaExits3SayingTheServerRefusedIt) {
    RunResult r = run("foreign", {"--op", "crts"}, env().foreign_pledge("enroll-foreign"));
    expect_handshake_failure(r,
                             "the server refused our certificate (--cert): unknown CA; it does not trust the "
                             "CA that issued --cert");
}

// RFC 7030 §3.6.1: a certificate from the right CA for another server is not good enough.
TEST(EnrollServerName, AServerCertificateForAnotherNameExits3) {
    ServerEnv other;
    X509Ptr ca = read_cert(other.pki + "/ca.crt");
    EvpPkeyPtr ca_key = read_key(other.pki + "/ca.key");
    EvpPkeyPtr key = make_key();
    CertOptions options;
    options.sans = {"DNS:elsewhere.example"};
    options.extended_key_usage = "serverAuth";
    X509Ptr cert = make_certificate("CN=elsewhere.example", key.get(), ca.get(), ca_key.get(), options);
    write_cert_file(other.dir.file("elsewhere.crt"), {cert.get()});
    write_key_file(other.dir.file("elsewhere.key"), key.get());
    other.start({"--cert", other.dir.file("elsewhere.crt"), "--key", other.dir.file("elsewhere.key")});
    RunResult r = estgw_enroll({"--server", "coaps://127.0.0.1:" + std::to_string(other.port), "--cert",
                                other.idevid.cert, "--key", other.idevid.key, "--ca", other.pki + "/ca.crt",
                                "--out", other.dir.file("out")});
    EXPECT_EQ(r.exit_code, 3) << r.output;
    // OpenSSL's verdict, as libcoap logs it, with the name the certificate does carry.
    EXPECT_NE(r.output.find("IP address mismatch: 'elsewhere.example'"), std::string::npos) << r.output;
}

// ---- failures ----

TEST_F(Enroll, ServerRefusalExits1NamingTheCodeAndDiagnostic) {
    // The IDevID comes from the manufacturer CA: it may enroll, not re-enroll.
    RunResult r = run("refused", {"--op", "sren"});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("sren failed: 4.03 Forbidden: "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("re-enrollment"), std::string::npos) << r.output;
}

TEST_F(Enroll, UnreachableServerExits3) {
    RunResult r = estgw_enroll({"--server", "coaps://127.0.0.1:" + std::to_string(free_port(true)), "--cert",
                                env().idevid.cert, "--key", env().idevid.key, "--ca", env().pki + "/ca.crt",
                                "--timeout", "5", "--out", out("unreachable")});
    EXPECT_EQ(r.exit_code, 3) << r.output;
}

TEST_F(Enroll, EachUsageErrorExits2NamingTheProblem) {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"--op", "bogus"}, "--op"},
        {{"--accept", "62"}, "--accept"},
        {{"--op", "att", "--accept", "281"}, "--accept"},
        {{"--block", "100"}, "--block"},
        {{"--op", "crts", "--new-key", "p256"}, "--new-key"},
        {{"--new-key", "dsa"}, "--new-key"},
        {{"--csr", "/nonexistent.csr"}, "/nonexistent.csr"},
        {{"--subject", "CN"}, "subject"},
        {{"--insecure-bootstrap", "--ca", "/etc/hostname"}, "--insecure-bootstrap"},
        {{"--unknown-option"}, "unknown-option"},
    };
    for (const auto& [args, named] : cases) {
        RunResult r = run("usage", args);
        EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.output;
        EXPECT_NE(r.output.find(named), std::string::npos) << r.output;
    }
    RunResult no_server = estgw_enroll({"--cert", env().idevid.cert, "--key", env().idevid.key});
    EXPECT_EQ(no_server.exit_code, 2);
    EXPECT_NE(no_server.output.find("--server"), std::string::npos) << no_server.output;
    RunResult no_ca =
        estgw_enroll({"--server", url(), "--cert", env().idevid.cert, "--key", env().idevid.key});
    EXPECT_EQ(no_ca.exit_code, 2);
    EXPECT_NE(no_ca.output.find("--ca is required"), std::string::npos) << no_ca.output;
    RunResult bad_url = estgw_enroll({"--server", "https://127.0.0.1", "--cert", env().idevid.cert, "--key",
                                      env().idevid.key, "--ca", env().pki + "/ca.crt"});
    EXPECT_EQ(bad_url.exit_code, 2);
}

TEST(EnrollHelp, DocumentsEveryOptionAndTheExitCodes) {
    RunResult r = estgw_enroll({"--help"});
    EXPECT_EQ(r.exit_code, 0);
    for (const char* option :
         {"--server", "--cert", "--key", "--ca", "--op", "--csr", "--new-key", "--subject", "--accept",
          "--block", "--out", "--max-wait", "--timeout", "--discover", "--insecure-bootstrap", "Exit status"})
        EXPECT_NE(r.output.find(option), std::string::npos) << option;
}

// ---- gateway mode: discovery, 5.03 + Max-Age, encrypted server-generated keys ----

class EnrollThroughGateway : public SharedEnvTest<EnrollThroughGateway, GatewayEnv> {
  protected:
    std::string out(const std::string& name) const { return env_->dir.file("enroll-" + name); }
    RunResult run(const std::string& name, const std::vector<std::string>& args) {
        std::vector<std::string> all = {"--server", "coaps://127.0.0.1:" + std::to_string(env_->port),
                                        "--cert",   env_->pledge.cert,
                                        "--key",    env_->pledge.key,
                                        "--ca",     env_->ca_file,
                                        "--out",    out(name)};
        all.insert(all.end(), args.begin(), args.end());
        return estgw_enroll(all);
    }
};

TEST_F(EnrollThroughGateway, DiscoverListsTheResourcesAndUsesTheAdvertisedRoot) {
    RunResult r = run("discover", {"--discover", "--op", "crts"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("discovered </est/sen> rt=ace.est.sen"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("using the discovered root /est"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(std::to_string(env().port) + "/est/crts: "), std::string::npos) << r.output;
}

// RFC 9148 §4.7: the upstream's 202 + Retry-After reaches the pledge as 5.03 + Max-Age; the pledge sends
// the same request again after that delay.
TEST_F(EnrollThroughGateway, On503WithMaxAgeTheSameRequestIsRepeatedAndSucceeds) {
    int before = env().upstream->calls("simpleenroll");
    env().upstream->script("simpleenroll", FakeReply{202, {{"Retry-After", "1"}}, ""});
    RunResult r = run("retry", {"--max-wait", "30"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("5.03 Service Unavailable, repeating the request in 1 s"), std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("after 1 retry"), std::string::npos) << r.output;
    EXPECT_EQ(env().upstream->calls("simpleenroll") - before, 2);
    auto requests = env().upstream->requests();
    ASSERT_GE(requests.size(), 2u);
    EXPECT_EQ(requests[requests.size() - 1].body, requests[requests.size() - 2].body);  // the identical CSR
    EXPECT_TRUE(openssl_verifies(env().ca_file, out("retry") + "/cert.pem"));
}

TEST_F(EnrollThroughGateway, On503BeyondMaxWaitItExits1Naming503) {
    env().upstream->script("simpleenroll", FakeReply{202, {{"Retry-After", "1"}}, ""});
    RunResult r = run("no-wait", {"--max-wait", "0"});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("sen failed: 5.03 Service Unavailable"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("--max-wait 0 s"), std::string::npos) << r.output;
}

// RFC 9148 §4.8 / RFC 7030 §4.4.2: an encrypted key is written as received for its owner to decrypt.
TEST_F(EnrollThroughGateway, AnEncryptedServerGeneratedKeyIsWrittenAsKeyP7) {
    ASSERT_EQ(run("for-skg", {"--subject", "CN=pledge-1,O=estgw tests"}).exit_code, 0);
    Bytes cert_der = pem_decode(read_file(out("for-skg") + "/cert.pem")).value();
    Bytes certs_only = make_certs_only({cert_der}).value();
    Bytes envelope = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                      0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07};  // stand-in CMS
    FakeReply reply;
    reply.headers = {{"Content-Type", "multipart/mixed; boundary=b1"}};
    reply.body =
        "--b1\r\nContent-Type: application/pkcs7-mime; smime-type=server-generated-key\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" +
        base64_encode(envelope) +
        "\r\n--b1\r\nContent-Type: application/pkcs7-mime; smime-type=certs-only\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" +
        base64_encode(certs_only) + "\r\n--b1--\r\n";
    env().upstream->script("serverkeygen", reply);
    RunResult r = run("encrypted", {"--op", "skg"});
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("encrypted"), std::string::npos) << r.output;
    EXPECT_EQ(to_bytes(read_file(out("encrypted") + "/key.p7")), envelope);
    EXPECT_EQ(file_mode(out("encrypted") + "/key.p7"), 0600u);
    EXPECT_FALSE(exists(out("encrypted") + "/key.pem"));
    EXPECT_EQ(pem_decode(read_file(out("encrypted") + "/cert.pem")).value(), cert_der);
}

// The test upstream ignores what the CSR asks for and answers a plain PKCS#8 key: the key crossed the
// registrar in the clear, which the pledge asked to avoid.
TEST_F(EnrollThroughGateway, AKeyArrivingUnencryptedAlthoughEncryptionWasAskedForIsNotWritten) {
    write_file(out("stripped") + ".keys", kKekId + " " + kKek + "\n");
    RunResult r = run("stripped", {"--op", "skg", "--kek-file", out("stripped") + ".keys"});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("the key came unencrypted (Content-Format 284)"), std::string::npos) << r.output;
    EXPECT_FALSE(exists(out("stripped") + "/key.pem"));
    EXPECT_FALSE(exists(out("stripped") + "/cert.pem"));
}

}  // namespace
}  // namespace estgw::test
