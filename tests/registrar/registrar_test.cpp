// POST /rv in full-server mode, end to end (issue 13 §1; BRSKI.md §3): the real `estgw masa`, the real
// `estgw serve --mode server` as registrar and the real `estgw pledge`, all from `estgw pki init`; refusals
// with voucher-requests the test signs itself, sent over DTLS with the project's CoAP client.
#include <gtest/gtest.h>
#include <openssl/rand.h>
#include <signal.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "brski/voucher.hpp"
#include "client/coap_client.hpp"
#include "common/cose.hpp"
#include "common/pem_file.hpp"
#include "common/x509.hpp"
#include "support/fake_masa.hpp"
#include "support/process.hpp"
#include "support/test_pki.hpp"
#include "support/voucher_requests.hpp"

namespace estgw::test {
namespace {

constexpr unsigned kVoucherCf = 836;

Bytes fresh_nonce(std::size_t size = 16) {
    Bytes nonce(size);
    if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1) throw std::runtime_error("RAND_bytes");
    return nonce;
}

// A demo PKI whose IDevID names a MASA on a free local port, that MASA, and the registrar.
class RegistrarTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { library_ = std::make_unique<client::CoapLibrary>(LOG_WARNING); }
    static void TearDownTestSuite() { library_.reset(); }

    void SetUp() override {
        masa_port_ = free_port(false);
        const RunResult init = run_command({ESTGW_BINARY, "pki", "init", "--dir", pki(""), "--masa-authority",
                                            "localhost:" + std::to_string(masa_port_)},
                                           std::chrono::seconds(30));
        ASSERT_EQ(init.exit_code, 0) << init.output;
        registrar_ = load_certificate(pki("server.crt"));
        registrar_key_ = load_key(pki("server.key"));
        domain_ca_ = load_certificate(pki("ca.crt"));
        pledge_ = load_certificate(pki("pledge.crt"));
        pledge_key_ = load_key(pki("pledge.key"));
        mfg_ca_ = load_certificate(pki("mfg-ca.crt"));
    }

    std::string pki(const std::string& file) const { return dir_.path() + "/pki/" + file; }

    void start_masa() {
        masa_ = std::make_unique<ChildProcess>(
            std::vector<std::string>{ESTGW_BINARY, "masa", "--listen",
                                     "127.0.0.1:" + std::to_string(masa_port_), "--tls-cert", pki("masa.crt"),
                                     "--tls-key", pki("masa.key"), "--signing-cert", pki("masa-sign.crt"),
                                     "--signing-key", pki("masa-sign.key"), "--pledge-ca", pki("mfg-ca.crt")},
            dir_.file("masa.log"));
        wait_for(*masa_, "masa-listening");
    }

    FakeMasa& start_fake_masa(MasaBehaviour behaviour) {
        fake_masa_ = std::make_unique<FakeMasa>(masa_port_, pki(""), behaviour);
        return *fake_masa_;
    }

    void start_registrar(const std::vector<std::string>& extra = {}) {
        port_ = free_port(true);
        std::vector<std::string> argv{ESTGW_BINARY, "serve",
                                      "--config",   pki("estgw.conf"),
                                      "--listen",   "127.0.0.1:" + std::to_string(port_),
                                      "--masa-ca",  pki("mfg-ca.crt")};
        argv.insert(argv.end(), extra.begin(), extra.end());
        registrar_process_ = std::make_unique<ChildProcess>(argv, dir_.file("registrar.log"));
        wait_for(*registrar_process_, " started mode=server");
    }

    static void wait_for(ChildProcess& process, const std::string& marker) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
        while (process.log().find(marker) == std::string::npos) {
            if (!process.running() || std::chrono::steady_clock::now() > deadline)
                throw std::runtime_error("did not start:\n" + process.log());
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }

    std::string registrar_log() const { return registrar_process_ ? registrar_process_->log() : ""; }

    RunResult run_pledge(const std::string& out) {
        return run_command(
            {ESTGW_BINARY, "pledge", "--server", "coaps://127.0.0.1:" + std::to_string(port_), "--idevid",
             pki("pledge.crt"), "--key", pki("pledge.key"), "--masa-anchor", pki("masa-sign.crt"), "--out",
             dir_.file(out), "--timeout", "10", "--max-wait", "30"},
            std::chrono::seconds(60));
    }

    std::unique_ptr<client::CoapClient> pledge_client() {
        client::CoapsUrl url;
        url.host = "127.0.0.1";
        url.port = static_cast<std::uint16_t>(port_);
        auto address = client::resolve_server(url);
        if (!address) throw std::runtime_error(address.error().message);
        client::DtlsIdentity identity;
        identity.cert_file = pki("pledge.crt");
        identity.key_file = pki("pledge.key");
        identity.ca_file = pki("ca.crt");
        identity.verify_server = false;  // provisional, as a pledge's before its voucher
        auto client = client::CoapClient::open(*address, identity);
        if (!client) throw std::runtime_error(client.error().message);
        return std::move(*client);
    }

    // A consistent PVR from the demo pledge to this registrar, for a test to spoil one part of.
    VoucherRequestParts parts() const {
        return voucher_request_parts(registrar_.get(), registrar_key_.get(), domain_ca_.get(), pledge_.get(),
                                     pledge_key_.get(), mfg_ca_.get(), fresh_nonce());
    }

    client::CoapAnswer post_rv(client::CoapClient& client, const Bytes& pvr) {
        client::CoapRequest request;
        request.method = COAP_REQUEST_CODE_POST;
        request.path = {".well-known", "brski", "rv"};
        request.content_format = kVoucherCf;
        request.body = pvr;
        auto answer = client.request(request, std::chrono::seconds(20));
        if (!answer) throw std::runtime_error("no answer: " + answer.error().message);
        return *answer;
    }

    std::string journey() {
        const RunResult r = run_command({ESTGW_BINARY, "pledges", "show", "--db", pki("estgw.db"), "--serial",
                                         serial_number_of(pledge_.get())},
                                        std::chrono::seconds(30));
        return r.output;
    }

    TempDir dir_;
    int masa_port_ = 0;
    int port_ = 0;
    // Before the registrar: destroyed after it, so that no keep-alive connection holds the fake MASA's stop.
    std::unique_ptr<FakeMasa> fake_masa_;
    std::unique_ptr<ChildProcess> masa_, registrar_process_;
    X509Ptr registrar_, domain_ca_, pledge_, mfg_ca_;
    EvpPkeyPtr registrar_key_, pledge_key_;
    static inline std::unique_ptr<client::CoapLibrary> library_;
};

std::string code_of(const client::CoapAnswer& answer) {
    return client::code_with_diagnostic(answer);
}

// Issue 13 §1: a pledge with only its IDevID and its manufacturer's key ends with a voucher, the pinned
// domain CA and an LDevID that verifies against it; the journal shows the voucher's steps.
TEST_F(RegistrarTest, PledgeOnboardsThroughTheRegistrarAndTheRealMasa) {
    start_masa();
    start_registrar();
    const RunResult run = run_pledge("out");
    ASSERT_EQ(run.exit_code, 0) << run.output << registrar_log();
    EXPECT_NE(run.output.find("voucher: accepted"), std::string::npos) << run.output;
    const RunResult verify = run_command(
        {"openssl", "verify", "-CAfile", dir_.file("out/domain-ca.pem"), dir_.file("out/cert.pem")},
        std::chrono::seconds(30));
    EXPECT_EQ(verify.exit_code, 0) << verify.output;
    const std::string steps = journey();
    EXPECT_NE(steps.find("voucher-request"), std::string::npos) << steps;
    EXPECT_NE(steps.find("masa-call"), std::string::npos) << steps;
    EXPECT_NE(steps.find("http_status=200"), std::string::npos) << steps;
    EXPECT_NE(steps.find("voucher-issued"), std::string::npos) << steps;
    EXPECT_NE(steps.find("voucher-status  status=true"), std::string::npos) << steps;
    EXPECT_NE(steps.find("enrolled  ldevid_serial="), std::string::npos) << steps;
    EXPECT_NE(steps.find("enroll-status  status=true  version=1  session=ldevid"), std::string::npos)
        << steps;
}

// BRSKI.md §3.8: once /rv is served, discovery lists it with ct=836.
TEST_F(RegistrarTest, DiscoveryListsRvOnceServed) {
    start_masa();
    start_registrar();
    auto client = pledge_client();
    client::CoapRequest request;
    request.path = {".well-known", "core"};
    auto answer = client->request(request);
    ASSERT_TRUE(answer) << answer.error().message;
    const std::string links = to_string(answer->body);
    EXPECT_NE(links.find("</.well-known/brski/rv>;rt=\"brski.rv\";ct=836"), std::string::npos) << links;
}

// BRSKI.md §3.2 check 6 (RFC 8995 §5.6): signed by a key other than the DTLS client certificate's.
TEST_F(RegistrarTest, PvrSignedByAnotherKeyIsForbidden) {
    start_registrar();
    VoucherRequestParts p = parts();
    p.pvr_key = registrar_key_.get();
    auto client = pledge_client();
    const auto answer = post_rv(*client, sign_pvr(p));
    EXPECT_EQ(client::code_string(answer.code), "4.03") << code_of(answer);
    EXPECT_NE(journey().find("voucher-refused  code=4.03"), std::string::npos) << journey();
}

// Check 8 (RFC 8995 §5.2): a PVR naming another registrar came through a man in the middle: 4.01, then the
// session is closed, so the next request on it gets no answer (the client has to open a new session).
TEST_F(RegistrarTest, ProximityOfAnotherRegistrarIsUnauthorizedAndClosesTheSession) {
    start_registrar();
    VoucherRequestParts p = parts();
    p.pvr.proximity_registrar_cert = certificate_to_der(domain_ca_.get()).value();
    auto client = pledge_client();
    const auto answer = post_rv(*client, sign_pvr(p));
    EXPECT_EQ(client::code_string(answer.code), "4.01") << code_of(answer);
    EXPECT_EQ(client->sessions_opened(), 1);
    client->idle(std::chrono::milliseconds(300));
    client::CoapRequest next;
    next.path = {".well-known", "core"};
    auto again = client->request(next, std::chrono::seconds(3));
    // Either the client saw the close and needed a second session, or its request on the old one went
    // unanswered.
    EXPECT_TRUE(!again || client->sessions_opened() == 2) << "answered on the closed session";
    EXPECT_NE(registrar_log().find("dtls-session-closed"), std::string::npos) << registrar_log();
    EXPECT_NE(journey().find("voucher-refused  code=4.01"), std::string::npos) << journey();
}

// Check 10 (D7): the PVR's serial-number is not the IDevID's.
TEST_F(RegistrarTest, SerialNumberMismatchIsForbidden) {
    start_registrar();
    VoucherRequestParts p = parts();
    p.pvr.serial_number = "NOT-THIS-DEVICE";
    auto client = pledge_client();
    const auto answer = post_rv(*client, sign_pvr(p));
    EXPECT_EQ(client::code_string(answer.code), "4.03") << code_of(answer);
    EXPECT_NE(journey().find("voucher-refused  code=4.03"), std::string::npos) << journey();
}

// Check 9 (RFC 8995 §5.2 MUST, D7): no nonce.
TEST_F(RegistrarTest, MissingNonceIsBadRequest) {
    start_registrar();
    VoucherRequestParts p = parts();
    p.pvr.nonce.reset();
    auto client = pledge_client();
    const auto answer = post_rv(*client, sign_pvr(p));
    EXPECT_EQ(client::code_string(answer.code), "4.00") << code_of(answer);
    EXPECT_NE(journey().find("voucher-refused  code=4.00"), std::string::npos) << journey();
}

// Check 9: a nonce of 7 bytes (8..32 in the YANG). brski::encode refuses one, so the payload is patched and
// signed here: the 8-byte nonce's `07 48 <8>` becomes `07 47 <7>`.
TEST_F(RegistrarTest, SevenByteNonceIsBadRequest) {
    start_registrar();
    VoucherRequestParts p = parts();
    const Bytes nonce = *p.pvr.nonce;
    Bytes payload = brski::encode(brski::Kind::VoucherRequest, p.pvr).value();
    Bytes pattern{0x07, 0x50};  // key 7, bstr of 16
    pattern.insert(pattern.end(), nonce.begin(), nonce.end());
    auto at = std::search(payload.begin(), payload.end(), pattern.begin(), pattern.end());
    ASSERT_NE(at, payload.end());
    Bytes short_nonce{0x07, 0x47};
    short_nonce.insert(short_nonce.end(), nonce.begin(), nonce.begin() + 7);
    at = payload.erase(at, at + static_cast<long>(pattern.size()));
    payload.insert(at, short_nonce.begin(), short_nonce.end());
    const Bytes pvr = cose::sign1(payload, {}, pledge_key_.get()).value();
    auto client = pledge_client();
    const auto answer = post_rv(*client, pvr);
    EXPECT_EQ(client::code_string(answer.code), "4.00") << code_of(answer);
    EXPECT_NE(journey().find("voucher-refused  code=4.00"), std::string::npos) << journey();
}

// D7: an IDevID of a manufacturer the registrar does not know (--client-ca) is refused in the DTLS handshake,
// before any request: the pledge gets no session, the registrar logs the refusal, and no journey starts.
TEST_F(RegistrarTest, IdevidOfAnUnknownManufacturerIsRefusedInTheHandshake) {
    start_masa();
    start_registrar();
    EvpPkeyPtr other_ca_key = make_key();
    X509Ptr other_ca = make_self_signed_ca("CN=Other Manufacturer CA", other_ca_key.get());
    EvpPkeyPtr idevid_key = make_key();
    X509Ptr idevid = make_certificate("CN=foreign pledge,serialNumber=FOREIGN-1", idevid_key.get(),
                                      other_ca.get(), other_ca_key.get());
    write_cert_file(dir_.file("foreign.crt"), {idevid.get()});
    write_key_file(dir_.file("foreign.key"), idevid_key.get());
    const RunResult run = run_command(
        {ESTGW_BINARY, "pledge", "--server", "coaps://127.0.0.1:" + std::to_string(port_), "--idevid",
         dir_.file("foreign.crt"), "--key", dir_.file("foreign.key"), "--masa-anchor", pki("masa-sign.crt"),
         "--out", dir_.file("foreign-out"), "--timeout", "5", "--max-wait", "10"},
        std::chrono::seconds(60));
    EXPECT_NE(run.exit_code, 0) << run.output;
    EXPECT_EQ(run.output.find("rv:"), std::string::npos) << "got as far as /rv:\n" << run.output;
    EXPECT_NE(registrar_log().find("tls-handshake-refused"), std::string::npos) << registrar_log();
    const RunResult show =
        run_command({ESTGW_BINARY, "pledges", "show", "--db", pki("estgw.db"), "--serial", "FOREIGN-1"},
                    std::chrono::seconds(30));
    EXPECT_EQ(show.exit_code, 1) << show.output;
}

// BRSKI.md §3.6: a MASA that cannot be reached gives 5.03 + Max-Age (or 5.04), well within --masa-timeout.
TEST_F(RegistrarTest, MasaDownIsServiceUnavailable) {
    start_registrar({"--masa-timeout", "5"});
    auto client = pledge_client();
    const auto answer = post_rv(*client, sign_pvr(parts()));
    const std::string code = client::code_string(answer.code);
    EXPECT_TRUE(code == "5.03" || code == "5.04") << code_of(answer);
    if (code == "5.03") {
        EXPECT_TRUE(answer.max_age.has_value());
    }
    EXPECT_NE(journey().find("masa-call"), std::string::npos) << journey();
}

// §3.5: the identical PVR resent after a voucher came is answered from the cache, not by a second call.
TEST_F(RegistrarTest, IdenticalPvrResentIsNotSentToTheMasaTwice) {
    start_masa();
    start_registrar();
    const Bytes pvr = sign_pvr(parts());
    auto client = pledge_client();
    const auto first = post_rv(*client, pvr);
    ASSERT_EQ(client::code_string(first.code), "2.04") << code_of(first) << registrar_log();
    const auto second = post_rv(*client, pvr);
    ASSERT_EQ(client::code_string(second.code), "2.04") << code_of(second);
    EXPECT_EQ(first.body, second.body);
    std::size_t calls = 0;
    for (std::size_t at = registrar_log().find("masa-call"); at != std::string::npos;
         at = registrar_log().find("masa-call", at + 1))
        ++calls;
    EXPECT_EQ(calls, 1u) << registrar_log();
    // x5bag (32) and x5chain (33) are stripped (cBRSKI §6.8).
    auto sign1 = cose::decode_sign1(first.body);
    ASSERT_TRUE(sign1) << sign1.error().message;
    EXPECT_TRUE(sign1->certificates().empty());
}

// Without id-kp-cmcRA on --cert, /rv is neither served nor advertised, and the log says why.
TEST_F(RegistrarTest, WithoutCmcRaRvIsNeitherServedNorAdvertised) {
    // masa.crt/key: a TLS server certificate without cmcRA.
    start_registrar({"--cert", pki("masa.crt"), "--key", pki("masa.key")});
    EXPECT_NE(registrar_log().find("voucher-requests-off"), std::string::npos) << registrar_log();
    auto client = pledge_client();
    client::CoapRequest request;
    request.path = {".well-known", "core"};
    auto links = client->request(request);
    ASSERT_TRUE(links) << links.error().message;
    EXPECT_EQ(to_string(links->body).find("brski/rv"), std::string::npos) << to_string(links->body);
    const auto answer = post_rv(*client, sign_pvr(parts()));
    EXPECT_EQ(client::code_string(answer.code), "4.04") << code_of(answer);
}

// ---- a misbehaving MASA (support/fake_masa.hpp) ----

// BRSKI.md §3.6: a MASA 403 is 4.03 to the pledge, with the MASA's reason.
TEST_F(RegistrarTest, MasaRefusalIsForbiddenWithItsReason) {
    FakeMasa& masa = start_fake_masa(MasaBehaviour::Refuse403);
    start_registrar();
    auto client = pledge_client();
    const auto answer = post_rv(*client, sign_pvr(parts()));
    EXPECT_EQ(client::code_string(answer.code), "4.03") << code_of(answer);
    EXPECT_NE(code_of(answer).find("not sold to your domain"), std::string::npos) << code_of(answer);
    EXPECT_EQ(masa.refused_formats(), 0);
    EXPECT_NE(journey().find("http_status=403"), std::string::npos) << journey();
}

// §3.6: 202 + Retry-After 2 is 5.03 + Max-Age 2; the identical PVR sent again gets the voucher.
TEST_F(RegistrarTest, MasaRetryAfterBecomesMaxAgeAndTheResendGetsTheVoucher) {
    FakeMasa& masa = start_fake_masa(MasaBehaviour::RetryOnce);
    start_registrar();
    auto client = pledge_client();
    const Bytes pvr = sign_pvr(parts());
    const auto first = post_rv(*client, pvr);
    EXPECT_EQ(client::code_string(first.code), "5.03") << code_of(first);
    EXPECT_EQ(first.max_age, 2u);
    const auto second = post_rv(*client, pvr);
    EXPECT_EQ(client::code_string(second.code), "2.04") << code_of(second);
    EXPECT_EQ(masa.requests(), 2);
}

// The same through `estgw pledge`, which waits Max-Age and resends on its own.
TEST_F(RegistrarTest, PledgeRetriesAfterMasaRetryAfterAndOnboards) {
    FakeMasa& masa = start_fake_masa(MasaBehaviour::RetryOnce);
    start_registrar();
    const RunResult run = run_pledge("out");
    EXPECT_EQ(run.exit_code, 0) << run.output << registrar_log();
    EXPECT_EQ(masa.requests(), 2);
    EXPECT_NE(registrar_log().find("op=rv code=5.03"), std::string::npos) << registrar_log();
}

// §3.6: a MASA that does not answer: 5.04 once --masa-timeout has passed, no hang.
TEST_F(RegistrarTest, MasaThatHangsIsGatewayTimeout) {
    FakeMasa& masa = start_fake_masa(MasaBehaviour::Hang);
    start_registrar({"--masa-timeout", "2"});
    auto client = pledge_client();
    const auto answer = post_rv(*client, sign_pvr(parts()));
    EXPECT_EQ(client::code_string(answer.code), "5.04") << code_of(answer);
    EXPECT_EQ(masa.requests(), 1);
}

// A MASA that vouches for another nonce: the registrar relays it (validating vouchers is optional, §3.6),
// the pledge refuses it and says so in /vs.
TEST_F(RegistrarTest, VoucherForAnotherNonceIsRefusedByThePledgeInVs) {
    FakeMasa& masa = start_fake_masa(MasaBehaviour::WrongNonce);
    start_registrar();
    const RunResult run = run_pledge("out");
    EXPECT_EQ(run.exit_code, 1) << run.output;
    EXPECT_EQ(masa.requests(), 1);
    EXPECT_NE(run.output.find("nonce"), std::string::npos) << run.output;
    const std::string log = registrar_log();
    const auto vs = log.find("telemetry resource=vs status=false");
    ASSERT_NE(vs, std::string::npos) << log;
    EXPECT_NE(log.find("nonce", vs), std::string::npos) << log;
    // The journal keeps the pledge's refusal beside the voucher the registrar passed on.
    const std::string steps = journey();
    const auto status = steps.find("voucher-status  status=false");
    ASSERT_NE(status, std::string::npos) << steps;
    EXPECT_NE(steps.find("nonce", status), std::string::npos) << steps;
}

}  // namespace
}  // namespace estgw::test
