// `estgw masa` end to end (BRSKI.md §4): the real binary with the files of `estgw pki init`, curl as the
// registrar's HTTPS client, voucher-requests built by the test from the demo registrar (server.crt) and the
// demo pledge (pledge.crt).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <iostream>

#include "brski/voucher.hpp"
#include "common/cose.hpp"
#include "common/keys.hpp"
#include "masa/masa_env.hpp"
#include "support/test_pki.hpp"

namespace estgw::test {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t end = text.find('\n', start);
        lines.push_back(text.substr(start, end - start));
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return lines;
}

class MasaEndToEnd : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { env_ = std::make_unique<MasaEnv>(); }
    static void TearDownTestSuite() { env_.reset(); }
    void TearDown() override {
        if (HasFailure()) std::cerr << "---- estgw masa log ----\n" << env_->log() << "\n";
    }
    MasaEnv& env() { return *env_; }

    // The refusal's code, a text/plain reason containing `reason`, and a log line saying so.
    void expect_refused(const VoucherRequestParts& parts, int status, const std::string& reason) {
        const MasaAnswer answer = env().post(build_rvr(parts));
        EXPECT_EQ(answer.status, status) << answer.body;
        EXPECT_EQ(answer.content_type, "text/plain; charset=utf-8");
        EXPECT_NE(answer.body.find(reason), std::string::npos) << answer.body;
    }

    static inline std::unique_ptr<MasaEnv> env_;
};

TEST_F(MasaEndToEnd, AVoucherRequestGetsAVoucherThatVerifiesWithMasaSign) {
    const VoucherRequestParts parts = env().parts();
    const MasaAnswer answer = env().post(build_rvr(parts));
    ASSERT_EQ(answer.status, 200) << answer.body;
    EXPECT_EQ(answer.content_type, "application/voucher+cose");
    auto message = cose::decode_sign1(as_bytes(answer.body));
    ASSERT_TRUE(message.ok()) << message.error().message;
    EXPECT_TRUE(cose::verify_sign1(*message, X509_get0_pubkey(env().masa_sign.get())).ok());
    EXPECT_EQ(message->certificates(), std::vector<Bytes>{to_der(env().masa_sign.get())});
    auto voucher = brski::decode(brski::Kind::Voucher, message->payload);
    ASSERT_TRUE(voucher.ok()) << voucher.error().message;
    EXPECT_EQ(voucher->assertion, brski::Assertion::Proximity);
    EXPECT_EQ(voucher->nonce, parts.rvr.nonce);
    EXPECT_EQ(voucher->serial_number, serial_number_of(env().pledge.get()));
    EXPECT_EQ(voucher->pinned_domain_cert, to_der(env().domain_ca.get()));  // the registrar's CA (§8.2)
    EXPECT_NE(
        env().log().find("serial=" + serial_number_of(env().pledge.get()) + " outcome=voucher code=200"),
        std::string::npos)
        << env().log();
}

TEST_F(MasaEndToEnd, TheOldMediaTypeNameIsAnsweredWithTheOldName) {
    MasaRequest request;
    request.content_type = "application/voucher-cose+cbor";
    request.accept = "application/voucher-cose+cbor";
    const MasaAnswer answer = env().post(build_rvr(env().parts()), request);
    EXPECT_EQ(answer.status, 200) << answer.body;
    EXPECT_EQ(answer.content_type, "application/voucher-cose+cbor");
}

TEST_F(MasaEndToEnd, AnotherContentTypeIs415) {
    MasaRequest request;
    request.content_type = "application/cbor";
    const MasaAnswer answer = env().post(build_rvr(env().parts()), request);
    EXPECT_EQ(answer.status, 415) << answer.body;
    EXPECT_EQ(answer.content_type, "text/plain; charset=utf-8");
    EXPECT_NE(answer.body.find("application/voucher+cose"), std::string::npos) << answer.body;
}

TEST_F(MasaEndToEnd, NoAcceptIs406) {
    MasaRequest request;
    request.accept.reset();
    const MasaAnswer answer = env().post(build_rvr(env().parts()), request);
    EXPECT_EQ(answer.status, 406) << answer.body;
    EXPECT_NE(answer.body.find("Accept missing"), std::string::npos) << answer.body;
}

TEST_F(MasaEndToEnd, AGarbledBodyIs400) {
    const MasaAnswer answer = env().post(as_bytes("not a voucher-request"));
    EXPECT_EQ(answer.status, 400) << answer.body;
}

TEST_F(MasaEndToEnd, ASignerWithoutCmcRaIs403) {
    VoucherRequestParts parts = env().parts();
    CertOptions options;
    options.extended_key_usage = "serverAuth,clientAuth";
    const X509Ptr plain = make_certificate("CN=not an RA", env().registrar_key.get(), env().domain_ca.get(),
                                           env().domain_ca_key.get(), options);
    parts.bag[0] = to_der(plain.get());
    parts.pvr.proximity_registrar_cert = to_der(plain.get());
    expect_refused(parts, 403, "lacks the id-kp-cmcRA");
}

TEST_F(MasaEndToEnd, ABadRvrSignatureIs403) {
    Bytes rvr = build_rvr(env().parts());
    rvr[rvr.size() - 3] ^= 0x01;
    const MasaAnswer answer = env().post(rvr);
    EXPECT_EQ(answer.status, 403) << answer.body;
    EXPECT_NE(answer.body.find("does not verify"), std::string::npos) << answer.body;
}

TEST_F(MasaEndToEnd, APvrSignedByAnotherKeyIs403) {
    VoucherRequestParts parts = env().parts();
    const EvpPkeyPtr other = make_key();
    parts.pvr_key = other.get();
    expect_refused(parts, 403, "prior-signed-voucher-request signature does not verify");
}

TEST_F(MasaEndToEnd, AProximityMismatchIs403) {
    VoucherRequestParts parts = env().parts();
    parts.pvr.proximity_registrar_cert = to_der(env().domain_ca.get());
    expect_refused(parts, 403, "proximity-registrar-cert does not match");
}

TEST_F(MasaEndToEnd, ASerialMismatchIs403) {
    VoucherRequestParts parts = env().parts();
    parts.rvr.serial_number = "ESTGW-00000000";
    expect_refused(parts, 403, "serial-number mismatch");
    EXPECT_NE(env().log().find("serial=ESTGW-00000000 outcome=refused code=403"), std::string::npos)
        << env().log();
}

TEST_F(MasaEndToEnd, ANonceMismatchIs403) {
    VoucherRequestParts parts = env().parts();
    (*parts.pvr.nonce)[3] ^= 0x40;
    expect_refused(parts, 403, "nonce mismatch");
}

TEST_F(MasaEndToEnd, APledgeNotFromThePledgeCaIs404) {
    VoucherRequestParts parts = env().parts();
    const EvpPkeyPtr other_key = make_key();
    const X509Ptr other_ca = make_self_signed_ca("CN=another manufacturer", other_key.get());
    const X509Ptr other_pledge =
        make_certificate("CN=pledge,serialNumber=" + serial_number_of(env().pledge.get()),
                         env().pledge_key.get(), other_ca.get(), other_key.get());
    parts.bag = {to_der(env().registrar.get()), to_der(env().domain_ca.get()), to_der(other_pledge.get()),
                 to_der(other_ca.get())};
    expect_refused(parts, 404, "chains to a --pledge-ca");
}

TEST_F(MasaEndToEnd, AnotherPathIs404WithAReason) {
    const std::string out = env().pki("../other-path");
    const RunResult r =
        run_command({"curl", "-s", "-o", out, "-w", "%{http_code}", "--cacert", env().pki("mfg-ca.crt"),
                     "https://127.0.0.1:" + std::to_string(env().port()) + "/.well-known/est/cacerts"},
                    std::chrono::seconds(30));
    EXPECT_EQ(r.output, "404");
    EXPECT_NE(read_file(out).find("/.well-known/brski/requestvoucher"), std::string::npos);
}

// ---- the audit file (RFC 8995 §5.6), the allowlist, client certificates: a MASA each ----

TEST(MasaAudit, HasOneJsonLinePerVoucherAndNoneForARefusal) {
    MasaEnv env;
    const std::string serial = serial_number_of(env.pledge.get());
    std::vector<VoucherRequestParts> issued;
    for (int i = 0; i < 3; ++i) {
        issued.push_back(env.parts());
        ASSERT_EQ(env.post(build_rvr(issued.back())).status, 200);
        VoucherRequestParts refused = env.parts();
        (*refused.pvr.nonce)[0] ^= 0x01;
        ASSERT_EQ(env.post(build_rvr(refused)).status, 403);
    }
    const std::vector<std::string> lines = lines_of(read_file(env.audit()));
    ASSERT_EQ(lines.size(), 3u) << read_file(env.audit());
    for (std::size_t i = 0; i < lines.size(); ++i) {
        EXPECT_EQ(lines[i].front(), '{');
        EXPECT_NE(lines[i].find("\"serial\":\"" + serial + "\""), std::string::npos) << lines[i];
        EXPECT_NE(lines[i].find("\"nonce\":\"" + to_hex(*issued[i].rvr.nonce) + "\""), std::string::npos)
            << lines[i];
        EXPECT_NE(lines[i].find("\"registrar_subject\":\"O=estgw demo,CN=localhost\""), std::string::npos);
        EXPECT_NE(lines[i].find("\"assertion\":\"proximity\"}"), std::string::npos) << lines[i];
    }
    struct stat st {};
    ASSERT_EQ(::stat(env.audit().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(MasaSerials, ASerialOutsideTheListIs404AndOneInItGetsItsVoucher) {
    TempDir lists;
    write_file(lists.file("others"), "# not the demo pledge\nESTGW-00000000\n");
    MasaEnv others({"--serials", lists.file("others")});
    const MasaAnswer refused = others.post(build_rvr(others.parts()));
    EXPECT_EQ(refused.status, 404) << refused.body;
    EXPECT_NE(refused.body.find("not in the --serials list"), std::string::npos) << refused.body;

    write_file(lists.file("ours"), "ESTGW-00000000\n" + serial_number_of(others.pledge.get()) + "\n");
    MasaEnv ours({"--serials", lists.file("ours")}, others.pki_dir());
    EXPECT_EQ(ours.post(build_rvr(ours.parts())).status, 200);
}

TEST(MasaClientCa, ARegistrarWithoutAClientCertificateIsRefusedInTheHandshake) {
    MasaEnv env({"--client-ca", "@pki/ca.crt"});
    const MasaAnswer without = env.post(build_rvr(env.parts()));
    EXPECT_EQ(without.status, 0) << without.body;
    EXPECT_NE(without.curl_exit, 0);
    MasaRequest request;
    request.client_certificate = true;
    const MasaAnswer with = env.post(build_rvr(env.parts()), request);
    EXPECT_EQ(with.status, 200) << with.body;
    EXPECT_NE(env.log().find("client=\"O=estgw demo,CN=localhost\""), std::string::npos) << env.log();
}

TEST(MasaClientCa, WithoutItNoClientCertificateIsNeeded) {
    MasaEnv env;
    const MasaAnswer answer = env.post(build_rvr(env.parts()));
    EXPECT_EQ(answer.status, 200) << answer.body;
    EXPECT_NE(env.log().find("client=-"), std::string::npos) << env.log();
}

TEST(MasaSignals, SigtermStopsItWithExitZero) {
    MasaEnv env;
    EXPECT_EQ(env.stop(), 0);
    EXPECT_NE(env.log().find("stopped"), std::string::npos) << env.log();
}

// ---- configuration ----

TEST(MasaConfiguration, HelpDocumentsEveryOption) {
    const RunResult r = run_masa({"--help"});
    EXPECT_EQ(r.exit_code, 0);
    for (const char* option : {"--listen", "--tls-cert", "--tls-key", "--signing-cert", "--signing-key",
                               "--pledge-ca", "--client-ca", "--serials", "--audit"})
        EXPECT_NE(r.output.find(option), std::string::npos) << option;
}

class MasaBadConfiguration : public ::testing::Test {
  protected:
    MasaBadConfiguration() {
        const RunResult init =
            run_command({ESTGW_BINARY, "pki", "init", "--dir", dir_.file("pki")}, std::chrono::seconds(30));
        EXPECT_EQ(init.exit_code, 0) << init.output;
    }
    // Runs the MASA with its demo files, `option` set to `value`; expects exit 2 and `message` in the output.
    void expect_exit_2(const std::string& option, const std::string& value, const std::string& message) {
        std::vector<std::string> args = masa_arguments(dir_.file("pki"), free_port(false));
        for (std::size_t i = 0; i + 1 < args.size(); i += 2) {
            if (args[i] == option) args[i + 1] = value;
        }
        if (std::find(args.begin(), args.end(), option) == args.end())
            args.insert(args.end(), {option, value});
        const RunResult r = run_masa(args);
        EXPECT_EQ(r.exit_code, 2) << r.output;
        EXPECT_NE(r.output.find(message), std::string::npos) << r.output;
    }
    TempDir dir_;
};

TEST_F(MasaBadConfiguration, AMissingFileNamesItsOption) {
    expect_exit_2("--signing-cert", dir_.file("missing.crt"), "--signing-cert: ");
}

TEST_F(MasaBadConfiguration, AKeyOfAnotherCertificate) {
    expect_exit_2("--tls-key", dir_.file("pki/pledge.key"), "--tls-key does not belong to --tls-cert");
    expect_exit_2("--signing-key", dir_.file("pki/masa.key"),
                  "--signing-key does not belong to --signing-cert");
}

TEST_F(MasaBadConfiguration, APledgeCaThatIsNoCa) {
    expect_exit_2("--pledge-ca", dir_.file("pki/pledge.crt"), "--pledge-ca: ");
}

TEST_F(MasaBadConfiguration, AnUnusableListenAddress) {
    expect_exit_2("--listen", "localhost", "--listen: ");
    expect_exit_2("--listen", "127.0.0.1:0", "--listen: ");
    expect_exit_2("--listen", "192.0.2.1:9443", "--listen");  // not an address of this host
}

TEST_F(MasaBadConfiguration, AnAddressAnotherMasaHolds) {
    MasaEnv running;
    const std::string address = "127.0.0.1:" + std::to_string(running.port());
    expect_exit_2("--listen", address, "estgw masa: --listen " + address + " (TCP): the address is in use");
}

TEST_F(MasaBadConfiguration, ASerialsFileWithABadLine) {
    write_file(dir_.file("serials"), "ok\nnot ok\n");
    expect_exit_2("--serials", dir_.file("serials"), "line 2");
}

TEST_F(MasaBadConfiguration, AnAuditFileThatCannotBeOpened) {
    expect_exit_2("--audit", dir_.file("no/such/dir/audit"), "--audit");
}

}  // namespace
}  // namespace estgw::test
