// estgw's gateway in front of estgw's own HTTPS front, both real processes: the gateway forwards the pledge
// certificate (--forward-client-cert) and the server trusts it from the RA (--trust-forwarded-client-cert),
// so the server checks and records the pledge, not the gateway (RFC 7030 §3.7, RFC 9148 §5). The pledge is
// coap-client-openssl with the demo IDevID, then with the LDevID it got.
#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "common/keys.hpp"
#include "common/pem.hpp"
#include "common/pem_file.hpp"
#include "common/pkcs7.hpp"
#include "common/x509.hpp"
#include "gateway/gateway_env.hpp"
#include "mapping/http_request.hpp"
#include "mapping/multipart_core.hpp"
#include "support/mini_json.hpp"
#include "support/process.hpp"
#include "support/server_env.hpp"
#include "support/test_pki.hpp"

namespace estgw::test {
namespace {

constexpr const char* kHeader = "X-Client-Cert";
constexpr const char* kRaSubject = "CN=estgw test RA";

Bytes bytes_of(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

X509Ptr certificate_file(const std::string& path) {
    auto certs = load_certificates(path);
    if (!certs) throw std::runtime_error(certs.error().message);
    return std::move(certs->front());
}

std::string subject_of(const X509* cert) {
    return name_to_string(X509_get_subject_name(cert));
}

// The server's issuing CA gives the gateway its RA certificate: clientAuth for TLS, id-kp-cmcRA for RA.
Credentials issue_ra(const ServerEnv& server) {
    X509Ptr ca = certificate_file(server.pki + "/ca.crt");
    auto ca_key = load_private_key(server.pki + "/ca.key");
    if (!ca_key) throw std::runtime_error(ca_key.error().message);
    EvpPkeyPtr key = make_key();
    CertOptions options;
    options.extended_key_usage = "clientAuth,1.3.6.1.5.5.7.3.28";
    X509Ptr cert = make_certificate(kRaSubject, key.get(), ca.get(), ca_key->get(), options);
    Credentials ra{server.dir.file("ra.crt"), server.dir.file("ra.key")};
    write_cert_file(ra.cert, {cert.get()});
    write_key_file(ra.key, key.get());
    return ra;
}

// A gateway whose upstream is the server's HTTPS front. Its pledges are the server's (the demo IDevID and
// what the server issues) and its own test CA's, which the server does not trust.
void start_gateway(GatewayEnv& gateway, const ServerEnv& server, const Credentials& ra, bool forward) {
    const std::string client_ca = gateway.dir.file("gateway-client-ca.pem");
    write_file(client_ca, read_file(server.pki + "/client-trust.pem") + read_file(gateway.ca_file));
    std::vector<std::string> options = {
        "--client-ca",     client_ca,
        "--upstream",      "https://127.0.0.1:" + std::to_string(server.https_port),
        "--upstream-ca",   server.pki + "/ca.crt",
        "--upstream-cert", ra.cert,
        "--upstream-key",  ra.key};
    if (forward) options.insert(options.end(), {"--forward-client-cert", kHeader});
    gateway.start_gateway(options);
}

class ForwardedPledge : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        server_ = std::make_unique<ServerEnv>();
        ra_ = issue_ra(*server_);
        server_->start({"--trust-forwarded-client-cert", kHeader});
        gateway_ = std::make_unique<GatewayEnv>();
        start_gateway(*gateway_, *server_, ra_, true);
    }
    static void TearDownTestSuite() {
        gateway_.reset();
        server_.reset();
    }
    void TearDown() override {
        if (HasFailure()) {
            std::cerr << "---- gateway log ----\n"
                      << gateway_->gateway_log() << "\n---- server log ----\n"
                      << server_->log() << "\n";
        }
    }

    ServerEnv& server() { return *server_; }
    GatewayEnv& gateway() { return *gateway_; }
    Credentials idevid() const { return server_->idevid; }

    // A POST of a fresh CSR through the gateway, as `who`; the CSR's key is kept as <name>.key.
    CoapOutcome post(const std::string& resource, const std::string& name, const std::string& subject,
                     const Credentials& who, std::vector<std::string> extra = {}) {
        std::vector<std::string> args = {"-m", "post", "-t", "286", "-f", server().csr(name, subject, {})};
        args.insert(args.end(), extra.begin(), extra.end());
        return gateway().coap("/est/" + resource, args, who);
    }

    // An LDevID from the server, enrolled through the gateway with the IDevID.
    Credentials ldevid(const std::string& name) {
        CoapOutcome r = post("sen", name, "CN=" + name, idevid(), {"-A", "287"});
        if (r.code != "2.04") throw std::runtime_error("enrollment through the gateway failed: " + r.output);
        write_cert_file(server().dir.file(name + ".crt"), as_bytes(r.payload));
        return Credentials{server().dir.file(name + ".crt"), server().dir.file(name + ".key")};
    }

    // The `certs list --json` object of the certificate issued for `subject`.
    JsonValue record_for(const std::string& subject) {
        const std::string text = server().certs_list({"--json"});
        const JsonValue list = JsonReader::parse(text);
        for (const JsonValue& record : list.array()) {
            if (record["subject"].string() == subject) return record;
        }
        throw std::runtime_error("no record for " + subject + " in\n" + text);
    }

    static inline std::unique_ptr<ServerEnv> server_;
    static inline std::unique_ptr<GatewayEnv> gateway_;
    static inline Credentials ra_;
};

// ---- every resource through both processes ----

TEST_F(ForwardedPledge, CrtsIsTheServersCa) {
    CoapOutcome r = gateway().coap("/est/crts", {"-A", "287"}, idevid());
    ASSERT_EQ(r.code, "2.05") << r.output;
    EXPECT_EQ(bytes_of(r.payload), pem_decode(read_file(server().pki + "/ca.crt")).value());
}

TEST_F(ForwardedPledge, AttIsTheServersCsrAttributes) {
    CoapOutcome r = gateway().coap("/est/att", {}, idevid());
    ASSERT_EQ(r.code, "2.05") << r.output;
    ASSERT_FALSE(r.payload.empty());
    EXPECT_EQ(static_cast<unsigned char>(r.payload[0]), 0x30);  // CsrAttrs ::= SEQUENCE
}

TEST_F(ForwardedPledge, SenRecordsThePledgeAsClientAndTheGatewayAsRa) {
    CoapOutcome r = post("sen", "fwd-sen", "CN=fwd-sen", idevid(), {"-A", "287"});
    ASSERT_EQ(r.code, "2.04") << r.output;
    EXPECT_TRUE(server().verifies(r.payload));
    const JsonValue record = record_for("CN=fwd-sen");
    EXPECT_EQ(record["operation"].string(), "enroll");
    EXPECT_EQ(record["client_subject"].string(), subject_of(certificate_file(idevid().cert).get()));
    EXPECT_EQ(record["ra_subject"].string(), kRaSubject);
}

// The failure this feature exists for: the server compares the CSR with the pledge's certificate, not the
// gateway's, and the pledge's is one this CA issued (RFC 7030 §4.2.2).
TEST_F(ForwardedPledge, SrenWithTheSameKeyRenewsTheLdevid) {
    Credentials current = ldevid("fwd-renew");
    auto key = load_private_key(current.key);
    ASSERT_TRUE(key.ok());
    std::string csr = server().csr("fwd-renew-csr", "CN=fwd-renew", {}, KeyKind::P256, key->get());
    CoapOutcome r = gateway().coap("/est/sren", {"-m", "post", "-t", "286", "-A", "287", "-f", csr}, current);
    ASSERT_EQ(r.code, "2.04") << r.output;
    EXPECT_TRUE(server().verifies(r.payload));
    const JsonValue list = JsonReader::parse(server().certs_list({"--json"}));
    const JsonValue& newest = list.array().front();
    EXPECT_EQ(newest["operation"].string(), "renew");
    EXPECT_EQ(newest["client_subject"].string(), "CN=fwd-renew");
    EXPECT_EQ(newest["ra_subject"].string(), kRaSubject);
}

TEST_F(ForwardedPledge, SrenWithANewKeyRekeysTheLdevid) {
    Credentials current = ldevid("fwd-rekey");
    CoapOutcome r = post("sren", "fwd-rekey-new", "CN=fwd-rekey", current, {"-A", "287"});
    ASSERT_EQ(r.code, "2.04") << r.output;
    const JsonValue list = JsonReader::parse(server().certs_list({"--json"}));
    EXPECT_EQ(list.array().front()["operation"].string(), "rekey");
    EXPECT_EQ(list.array().front()["client_subject"].string(), "CN=fwd-rekey");
}

TEST_F(ForwardedPledge, SkgGeneratesAKeyRecordedForThePledge) {
    EXPECT_EQ(server().generated_key_fault(post("skg", "fwd-skg", "CN=fwd-skg", idevid()),
                                           ContentFormat::CertsOnly),
              "");
    const JsonValue record = record_for("CN=fwd-skg");
    EXPECT_EQ(record["operation"].string(), "serverkeygen");
    EXPECT_EQ(record["client_subject"].string(), subject_of(certificate_file(idevid().cert).get()));
    EXPECT_EQ(record["ra_subject"].string(), kRaSubject);
}

TEST_F(ForwardedPledge, SkcGeneratesAKeyForThePkixCertificate) {
    EXPECT_EQ(
        server().generated_key_fault(post("skc", "fwd-skc", "CN=fwd-skc", idevid()), ContentFormat::PkixCert),
        "");
    EXPECT_EQ(record_for("CN=fwd-skc")["ra_subject"].string(), kRaSubject);
}

// RFC 7030 §4.4.1.2: a /skg CSR asking for its key encrypted to `recipient` (a certificate file), named
// by its subjectKeyIdentifier, with aes128-CBC in SMIMECapabilities. Returns the CSR file.
std::string csr_asking_for_key_to(ServerEnv& server, const std::string& name, const std::string& recipient) {
    X509Ptr cert = certificate_file(recipient);
    const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(cert.get());
    if (ski == nullptr) throw std::runtime_error(recipient + " has no subjectKeyIdentifier");
    EvpPkeyPtr key = make_key();
    X509ReqPtr request = make_csr("CN=" + name, {}, key.get());
    if (X509_REQ_add1_attr_by_txt(request.get(), "1.2.840.113549.1.9.16.2.54", V_ASN1_OCTET_STRING,
                                  ASN1_STRING_get0_data(ski), ASN1_STRING_length(ski)) != 1) {
        throw std::runtime_error("cannot add AsymmetricDecryptKeyIdentifier");
    }
    Bytes capabilities;  // SMIMECapabilities ::= SEQUENCE { SEQUENCE { aes128-CBC } }
    from_hex("300d300b0609608648016503040102", capabilities);
    add_csr_string_attribute(request.get(), NID_SMIMECapabilities, V_ASN1_SEQUENCE, to_string(capabilities));
    sign_csr(request.get(), key.get());
    const std::string file = server.dir.file(name + ".csr");
    write_file(file, to_string(to_der(request.get())));
    return file;
}

// The encrypted key makes the answer longer than 1024 bytes: 256-byte blocks both ways, since
// coap-client 4.3.1 reassembles a long separate response only so (tests/server/server_test.cpp,
// SkgAskingForAConfiguredSharedKeyGetsAnEncryptedKey).
const std::vector<std::string> kBlockwise = {"-b", "256", "-O", "23,0x04"};

// Only the forwarded certificate is a candidate recipient: without it the server would look among the RA's.
TEST_F(ForwardedPledge, SkgEncryptsTheKeyToTheForwardedLdevid) {
    Credentials current = ldevid("fwd-kari");
    std::vector<std::string> args = {
        "-m", "post", "-t", "286", "-f", csr_asking_for_key_to(server(), "fwd-kari-skg", current.cert)};
    args.insert(args.end(), kBlockwise.begin(), kBlockwise.end());
    CoapOutcome r = gateway().coap("/est/skg", args, current);
    ASSERT_EQ(r.code, "2.04") << r.output;
    auto parts = mapping::decode_multipart_core(bytes_of(r.payload));
    ASSERT_TRUE(parts.ok());
    ASSERT_EQ((*parts)[0].format, ContentFormat::ServerGeneratedKey);
    const std::string enveloped = server().dir.file("fwd-kari.p7");
    write_file(enveloped, to_string(*(*parts)[0].body));
    RunResult decrypted = run_command({"openssl", "cms", "-decrypt", "-inform", "DER", "-in", enveloped,
                                       "-recip", current.cert, "-inkey", current.key, "-out", "/dev/null"},
                                      std::chrono::seconds(10));
    EXPECT_EQ(decrypted.exit_code, 0) << decrypted.output;
}

// ---- what the server refuses ----

// The gateway trusts its own test CA; the server does not, and checks the forwarded certificate itself.
TEST_F(ForwardedPledge, APledgeTheServerDoesNotTrustIsRefusedAlthoughTheGatewayDoes) {
    CoapOutcome r = post("sen", "fwd-foreign", "CN=fwd-foreign", gateway().pledge);
    EXPECT_EQ(r.code, "4.03") << r.output;
    EXPECT_NE(r.diagnostic.find("does not verify against --client-ca"), std::string::npos) << r.diagnostic;
    EXPECT_NE(server().log().find("forwarded-client-cert-refused"), std::string::npos);
    // The gateway's own line does not blame its RA certificate alone: the refusal may be the pledge's.
    const std::string log = gateway().gateway_log();
    const auto line = log.find("upstream-refused-request");
    ASSERT_NE(line, std::string::npos) << log;
    const std::string text = log.substr(line, log.find('\n', line) - line);
    EXPECT_NE(text.find("client=\"O=estgw tests,CN=pledge-1\""), std::string::npos) << text;
    EXPECT_NE(text.find("does not verify against --client-ca"), std::string::npos) << text;
    EXPECT_NE(text.find("may concern the pledge"), std::string::npos) << text;
}

std::string forwarded_value(const std::string& cert_file) {
    return mapping::percent_encode(pem_encode(pem_decode(read_file(cert_file)).value(), "CERTIFICATE"));
}

// Only an RA may speak for another client; the IDevID is none.
TEST_F(ForwardedPledge, AForwardedCertificateFromAClientThatIsNoRaIsRefused) {
    std::string body;
    EXPECT_EQ(server().curl("/.well-known/est/cacerts", body,
                            {"-H", std::string(kHeader) + ": " + forwarded_value(gateway().pledge.cert)}),
              "403");
    EXPECT_NE(body.find("only an RA"), std::string::npos) << body;
    EXPECT_NE(server().log().find("forwarded-client-cert-refused"), std::string::npos);
}

TEST_F(ForwardedPledge, AMalformedForwardedCertificateFromTheRaIs400) {
    std::string body;
    EXPECT_EQ(server().curl("/.well-known/est/cacerts", body,
                            {"--cert", ra_.cert, "--key", ra_.key, "-H", std::string(kHeader) + ": garbage"},
                            false),
              "400");
    EXPECT_NE(body.find(kHeader), std::string::npos) << body;
}

// A gateway that does not forward makes every request its own: the checks that compare with the client
// certificate compare with the RA's and fail, and the answer says how to fix it.
class GatewayWithoutForwarding : public ::testing::Test {
  protected:
    void SetUp() override {
        ra = issue_ra(server);
        server.start();
        ldevid = server.enroll("plain-ldevid", "CN=plain-ldevid", {});
        start_gateway(gateway, server, ra, false);
    }
    void expect_both_options_named(const CoapOutcome& r, const std::string& code) {
        EXPECT_EQ(r.code, code) << r.output;
        EXPECT_NE(r.diagnostic.find("--forward-client-cert"), std::string::npos) << r.diagnostic;
        EXPECT_NE(r.diagnostic.find("--trust-forwarded-client-cert"), std::string::npos) << r.diagnostic;
    }

    ServerEnv server;
    GatewayEnv gateway;
    Credentials ra, ldevid;
};

TEST_F(GatewayWithoutForwarding, SrenFailsNamingTheOptionsOfBothSides) {
    const std::string csr = server.csr("plain-renew", "CN=plain-ldevid", {});
    expect_both_options_named(gateway.coap("/est/sren", {"-m", "post", "-t", "286", "-f", csr}, ldevid),
                              "4.03");
}

TEST_F(GatewayWithoutForwarding, SkgEncryptingToTheClientCertificateFailsNamingTheOptionsOfBothSides) {
    std::vector<std::string> args = {"-m",  "post", "-t",
                                     "286", "-f",   csr_asking_for_key_to(server, "plain-kari", ldevid.cert)};
    args.insert(args.end(), kBlockwise.begin(), kBlockwise.end());
    expect_both_options_named(gateway.coap("/est/skg", args, ldevid), "4.00");
}

// The README's worked example, with nothing but the demo PKI of `estgw pki init`: its server certificate
// (serverAuth, clientAuth, id-kp-cmcRA; SANs localhost, 127.0.0.1, ::1) is both the gateway's DTLS identity
// and its RA identity towards the server's HTTPS front. The pledge is `estgw enroll` with the demo IDevID,
// then with the LDevID it got, as the README shows.
TEST(ReadmeGatewayExample, TheDemoPkiChainsAGatewayOntoTheServer) {
    ServerEnv server;
    server.start({"--trust-forwarded-client-cert", kHeader});
    GatewayEnv gateway;
    gateway.start_gateway({"--cert", server.pki + "/server.crt", "--key", server.pki + "/server.key",
                           "--client-ca", server.pki + "/client-trust.pem", "--upstream",
                           "https://127.0.0.1:" + std::to_string(server.https_port), "--upstream-ca",
                           server.pki + "/ca.crt", "--upstream-cert", server.pki + "/server.crt",
                           "--upstream-key", server.pki + "/server.key", "--forward-client-cert", kHeader},
                          false);
    // The gateway's own readiness probe is a pledge of its test CA, which the demo PKI does not trust: wait
    // for its start-up line instead.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (gateway.gateway_log().find(" started ") == std::string::npos) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << gateway.gateway_log();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    const std::string url = "coaps://127.0.0.1:" + std::to_string(gateway.port);
    auto enroll = [&](const Credentials& who, const std::string& op, const std::string& out) {
        return run_command({ESTGW_BINARY, "enroll", "--server", url, "--cert", who.cert, "--key", who.key,
                            "--ca", server.pki + "/ca.crt", "--op", op, "--out", out},
                           std::chrono::seconds(60));
    };
    const std::string ldevid_dir = server.dir.file("readme-ldevid");
    RunResult first = enroll(server.idevid, "sen", ldevid_dir);
    ASSERT_EQ(first.exit_code, 0) << first.output << gateway.gateway_log() << server.log();
    const Credentials ldevid{ldevid_dir + "/cert.pem", ldevid_dir + "/key.pem"};
    RunResult renewal = enroll(ldevid, "sren", server.dir.file("readme-renewed"));
    ASSERT_EQ(renewal.exit_code, 0) << renewal.output << gateway.gateway_log() << server.log();

    const std::string pledge = subject_of(certificate_file(server.idevid.cert).get());
    const std::string ra = subject_of(certificate_file(server.pki + "/server.crt").get());
    const JsonValue list = JsonReader::parse(server.certs_list({"--json"}));
    ASSERT_EQ(list.array().size(), 2u);
    const JsonValue& renewed = list.array()[0];
    const JsonValue& enrolled = list.array()[1];
    EXPECT_EQ(enrolled["operation"].string(), "enroll");
    EXPECT_EQ(enrolled["client_subject"].string(), pledge);
    EXPECT_EQ(enrolled["ra_subject"].string(), ra);
    // The renewal is checked against, and recorded for, the LDevID: the pledge, not the gateway.
    EXPECT_EQ(renewed["operation"].string(), "renew");
    EXPECT_EQ(renewed["client_subject"].string(), subject_of(certificate_file(ldevid.cert).get()));
    EXPECT_EQ(renewed["ra_subject"].string(), ra);
    EXPECT_NE(server.log().find("for=\"" + pledge + "\""), std::string::npos) << server.log();
}

TEST(TrustForwardedClientCertOption, BadUsesExitTwoNamingTheOption) {
    ServerEnv server;
    GatewayEnv gateway;
    struct Case {
        std::vector<std::string> args;
        std::string expected;
    };
    const std::vector<std::string> gateway_mode = {"--mode",        "gateway",
                                                   "--cert",        gateway.gateway_cert,
                                                   "--key",         gateway.gateway_key,
                                                   "--client-ca",   gateway.ca_file,
                                                   "--upstream",    "https://127.0.0.1:1",
                                                   "--upstream-ca", gateway.ca_file};
    const std::vector<std::string> server_mode = {"--config", server.pki + "/estgw.conf"};
    auto with = [](std::vector<std::string> base, std::initializer_list<std::string> more) {
        base.insert(base.end(), more);
        return base;
    };
    const std::vector<Case> cases = {
        {with(gateway_mode, {"--trust-forwarded-client-cert", kHeader}), "is not used in gateway mode"},
        {with(server_mode, {"--trust-forwarded-client-cert", kHeader}), "needs --https-listen"},
        {with(server_mode,
              {"--https-listen", "127.0.0.1:1", "--trust-forwarded-client-cert", "X Client Cert"}),
         "is not an HTTP header name"},
    };
    for (const Case& c : cases) {
        std::vector<std::string> argv = {ESTGW_BINARY, "serve"};
        argv.insert(argv.end(), c.args.begin(), c.args.end());
        RunResult r = run_command(argv, std::chrono::seconds(10));
        EXPECT_EQ(r.exit_code, 2) << c.expected << ": " << r.output;
        EXPECT_NE(r.output.find("--trust-forwarded-client-cert: "), std::string::npos) << r.output;
        EXPECT_NE(r.output.find(c.expected), std::string::npos) << r.output;
    }
}

}  // namespace
}  // namespace estgw::test
