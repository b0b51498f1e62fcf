// `estgw pledge` end to end: the real binary as the pledge against a test registrar (tests/support) that
// answers /rv with a voucher this test signs as the MASA for the request it received, or a forged one. The
// whole flow once in each shape it can take, then every forgery refused with exit 1 and /vs status false.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <functional>

#include "brski/voucher.hpp"
#include "certs/ca.hpp"
#include "common/cbor.hpp"
#include "common/cose.hpp"
#include "common/pem.hpp"
#include "common/x509.hpp"
#include "support/process.hpp"
#include "support/test_pki.hpp"
#include "support/test_registrar.hpp"

namespace estgw::test {
namespace {

constexpr const char* kSerial = "PLG-0001";

CertOptions ca_options() {
    CertOptions o;
    o.ca = true;
    return o;
}

CertOptions registrar_options() {
    CertOptions o;
    o.extended_key_usage = "cmcRA,serverAuth,clientAuth";
    return o;
}

X509Ptr copy(const X509* cert) {
    return X509Ptr(X509_dup(const_cast<X509*>(cert)));
}

EvpPkeyPtr share(EVP_PKEY* key) {
    EVP_PKEY_up_ref(key);
    return EvpPkeyPtr(key);
}

// Manufacturer: a CA that issues IDevIDs and the MASA's signing certificate. Domain: a root that issues a
// registrar CA, which issues the registrar's DTLS certificate and the LDevIDs.
struct PledgePki {
    TempDir dir;
    EvpPkeyPtr mfg_key = make_key(), masa_key = make_key(), idevid_key = make_key();
    EvpPkeyPtr root_key = make_key(), sub_key = make_key(), registrar_key = make_key(),
               other_key = make_key();
    X509Ptr mfg_ca = make_self_signed_ca("CN=Test Manufacturer CA", mfg_key.get());
    X509Ptr masa = make_certificate("CN=Test MASA", masa_key.get(), mfg_ca.get(), mfg_key.get());
    X509Ptr idevid = make_certificate(std::string("CN=pledge,serialNumber=") + kSerial, idevid_key.get(),
                                      mfg_ca.get(), mfg_key.get());
    X509Ptr root = make_self_signed_ca("CN=Test Domain Root", root_key.get());
    X509Ptr sub =
        make_certificate("CN=Test Registrar CA", sub_key.get(), root.get(), root_key.get(), ca_options());
    X509Ptr registrar = make_certificate("CN=Test Registrar", registrar_key.get(), sub.get(), sub_key.get(),
                                         registrar_options());
    X509Ptr other_ca = make_self_signed_ca("CN=Other Domain CA", other_key.get());
    certs::IssuingCa issuing = certs::IssuingCa::create(copy(sub.get()), share(sub_key.get()),
                                                        [&] {
                                                            std::vector<X509Ptr> chain;
                                                            chain.push_back(copy(root.get()));
                                                            return chain;
                                                        }())
                                   .value();

    PledgePki() {
        write_cert_file(dir.file("idevid.crt"), {idevid.get()});
        write_key_file(dir.file("idevid.key"), idevid_key.get());
        write_cert_file(dir.file("masa.crt"), {masa.get()});
        write_cert_file(dir.file("mfg-ca.crt"), {mfg_ca.get()});
        write_cert_file(dir.file("registrar.crt"), {registrar.get(), sub.get()});
        write_key_file(dir.file("registrar.key"), registrar_key.get());
        write_cert_file(dir.file("client-ca.pem"), {mfg_ca.get(), root.get(), sub.get()});
    }
};

// What the test MASA changes in the voucher it would otherwise sign correctly for the request received.
struct Forgery {
    std::string name;
    std::string check;                                            // the check the pledge must name
    std::function<void(brski::Voucher&, const PledgePki&)> edit;  // none: the voucher as it should be
    bool other_signer = false;
    bool untagged = false;
    unsigned content_format = 836;
};

// The voucher for this PVR: proximity, its nonce and serial, the registrar CA pinned; signed by the MASA key
// with an empty unprotected map (a registrar strips the x5bag, cBRSKI §6.8).
RegistrarAnswer make_voucher(const RegistrarRequest& rv, const PledgePki& pki, const Forgery& forgery = {}) {
    auto pvr = cose::decode_sign1(rv.body);
    if (!pvr) return RegistrarAnswer{COAP_RESPONSE_CODE(400), {}, {}, to_bytes(pvr.error().message)};
    auto request = brski::decode(brski::Kind::VoucherRequest, pvr->payload);
    if (!request) return RegistrarAnswer{COAP_RESPONSE_CODE(400), {}, {}, to_bytes(request.error().message)};
    brski::Voucher v;
    v.assertion = brski::Assertion::Proximity;
    v.created_on = "2026-01-01T00:00:00Z";
    v.nonce = request->nonce;
    v.serial_number = request->serial_number;
    v.pinned_domain_cert = to_der(pki.sub.get());
    if (forgery.edit) forgery.edit(v, pki);
    Bytes payload = brski::encode(brski::Kind::Voucher, v).value();
    Bytes signed_voucher =
        cose::sign1(payload, {}, forgery.other_signer ? pki.other_key.get() : pki.masa_key.get()).value();
    if (forgery.untagged) signed_voucher.erase(signed_voucher.begin());  // 0xD2, tag 18
    return RegistrarAnswer{COAP_RESPONSE_CODE(204), forgery.content_format, {}, signed_voucher};
}

struct PledgeRun {
    RunResult result;
    std::string out;
};

class Pledge : public ::testing::Test {
  protected:
    // The registrar of PledgePki: its CA issues the LDevIDs, /crts gives that CA and the root.
    TestRegistrar::Config config(std::function<RegistrarAnswer(const RegistrarRequest&, int)> voucher) {
        TestRegistrar::Config c;
        c.cert_file = pki_.dir.file("registrar.crt");
        c.key_file = pki_.dir.file("registrar.key");
        c.client_ca_file = pki_.dir.file("client-ca.pem");
        c.issuing_ca = &pki_.issuing;
        c.crts = {to_der(pki_.sub.get()), to_der(pki_.root.get())};
        c.voucher = std::move(voucher);
        return c;
    }

    void start(std::function<RegistrarAnswer(const RegistrarRequest&, int)> voucher) {
        registrar_ = std::make_unique<TestRegistrar>(config(std::move(voucher)));
    }

    PledgeRun pledge(const std::string& name, const std::string& anchor = "masa.crt",
                     std::vector<std::string> extra = {}) {
        PledgeRun run;
        run.out = pki_.dir.file("out-" + name);
        std::vector<std::string> argv = {
            ESTGW_BINARY,    "pledge",
            "--server",      "coaps://127.0.0.1:" + std::to_string(registrar_->port()),
            "--idevid",      pki_.dir.file("idevid.crt"),
            "--key",         pki_.dir.file("idevid.key"),
            "--masa-anchor", pki_.dir.file(anchor),
            "--out",         run.out,
            "--timeout",     "10"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        run.result = run_command(argv, std::chrono::seconds(90));
        return run;
    }

    // The one /vs or /es body received, decoded: {"version": 1, "status": ..., ? "reason": ...}.
    cbor::Value telemetry(const std::string& path) {
        auto received = registrar_->received(path);
        if (received.size() != 1) throw std::runtime_error(std::to_string(received.size()) + " " + path);
        EXPECT_EQ(received[0].content_format, 60u);
        return cbor::decode(received[0].body).value();
    }

    PledgePki pki_;
    std::unique_ptr<TestRegistrar> registrar_;
};

unsigned file_mode(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 0777) : 0;
}

bool openssl_verifies(const std::string& ca, const std::string& cert, const std::string& untrusted = "") {
    std::vector<std::string> argv = {"openssl", "verify", "-CAfile", ca};
    if (!untrusted.empty()) argv.insert(argv.end(), {"-untrusted", untrusted});
    argv.push_back(cert);
    RunResult r = run_command(argv, std::chrono::seconds(10));
    return r.exit_code == 0 && r.output.find(": OK") != std::string::npos;
}

// "es: 2.04 Changed, ... (12 ms)": each step prints one line with its result and duration.
bool has_step_line(const std::string& output, const std::string& step) {
    std::size_t start = 0;
    while (start < output.size()) {
        const std::size_t end = std::min(output.find('\n', start), output.size());
        const std::string line = output.substr(start, end - start);
        if (line.starts_with(step + ": ") && line.ends_with(" ms)")) return true;
        start = end + 1;
    }
    return false;
}

TEST_F(Pledge, EnrollsThroughTheWholeFlowAndReportsSuccess) {
    start([&](const RegistrarRequest& rv, int) { return make_voucher(rv, pki_); });
    PledgeRun run = pledge("whole");
    ASSERT_EQ(run.result.exit_code, 0) << run.result.output;
    for (const char* step : {"dtls", "rv", "voucher", "vs", "sen", "crts", "es"})
        EXPECT_TRUE(has_step_line(run.result.output, step)) << step << "\n" << run.result.output;

    // The pinned registrar CA is not a root: /crts (Accept 62) gives the chain the LDevID is checked against.
    ASSERT_EQ(registrar_->received("est/crts").size(), 1u);
    EXPECT_EQ(registrar_->received("est/crts")[0].accept, 62u);
    EXPECT_TRUE(openssl_verifies(run.out + "/domain-ca.pem", run.out + "/cert.pem"));
    EXPECT_EQ(file_mode(run.out + "/key.pem"), 0600u);
    X509Ptr ldevid = parse_certificate_der(pem_decode(read_file(run.out + "/cert.pem")).value()).value();
    EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(ldevid.get()), X509_get_subject_name(pki_.idevid.get())),
              0);
    // voucher.cose is the MASA's voucher for the nonce of the request sent.
    auto voucher = cose::decode_sign1(to_bytes(read_file(run.out + "/voucher.cose"))).value();
    EXPECT_TRUE(cose::verify_sign1(voucher, pki_.masa_key.get()).ok());
    auto pvr = cose::decode_sign1(registrar_->received("brski/rv").at(0).body).value();
    EXPECT_EQ(brski::decode(brski::Kind::Voucher, voucher.payload).value().nonce,
              brski::decode(brski::Kind::VoucherRequest, pvr.payload).value().nonce);

    EXPECT_EQ(telemetry("brski/vs"), cbor::Value(cbor::Map{{"version", 1}, {"status", true}}));
    EXPECT_EQ(telemetry("brski/es"), cbor::Value(cbor::Map{{"version", 1}, {"status", true}}));
    // /es came over a new session made with the LDevID; everything before it over the IDevID.
    EXPECT_EQ(registrar_->received("brski/es")[0].client_certificate, to_der(ldevid.get()));
    EXPECT_EQ(registrar_->received("est/sen")[0].client_certificate, to_der(pki_.idevid.get()));
}

TEST_F(Pledge, SendsAVoucherRequestSignedWithTheIdevidNamingTheRegistrar) {
    start([&](const RegistrarRequest& rv, int) { return make_voucher(rv, pki_); });
    PledgeRun run = pledge("pvr");
    ASSERT_EQ(run.result.exit_code, 0) << run.result.output;
    const RegistrarRequest rv = registrar_->received("brski/rv").at(0);
    EXPECT_EQ(rv.content_format, 836u);
    EXPECT_EQ(rv.accept, 836u);
    auto pvr = cose::decode_sign1(rv.body).value();
    EXPECT_TRUE(pvr.unprotected.empty());  // no kid, no x5bag (cBRSKI §9.2.2)
    EXPECT_TRUE(cose::verify_sign1(pvr, X509_get0_pubkey(pki_.idevid.get())).ok());
    auto request = brski::decode(brski::Kind::VoucherRequest, pvr.payload).value();
    EXPECT_EQ(request.assertion, brski::Assertion::Proximity);
    EXPECT_EQ(request.serial_number, kSerial);
    EXPECT_EQ(request.proximity_registrar_cert, to_der(pki_.registrar.get()));
    ASSERT_TRUE(request.nonce.has_value());
    EXPECT_EQ(request.nonce->size(), 16u);
}

TEST_F(Pledge, ResendsTheIdenticalVoucherRequestAfter503WithMaxAge) {
    start([&](const RegistrarRequest& rv, int count) {
        if (count == 1) return RegistrarAnswer{COAP_RESPONSE_CODE(503), {}, 1, {}};
        return make_voucher(rv, pki_);
    });
    PledgeRun run = pledge("retry");
    ASSERT_EQ(run.result.exit_code, 0) << run.result.output;
    auto rv = registrar_->received("brski/rv");
    ASSERT_EQ(rv.size(), 2u);
    EXPECT_EQ(rv[0].body, rv[1].body);  // same nonce, same signature bytes (RFC 8995 §5.6)
    EXPECT_NE(run.result.output.find("rv: 5.03 Service Unavailable, sending the same request again in 1 s"),
              std::string::npos)
        << run.result.output;
}

TEST_F(Pledge, APinnedRootThatIssuedTheLdevidNeedsNoCrts) {
    // The registrar's certificate chains to the root through the CA the handshake sent; the LDevID comes
    // from the root itself here.
    certs::IssuingCa root_ca =
        certs::IssuingCa::create(copy(pki_.root.get()), share(pki_.root_key.get())).value();
    TestRegistrar::Config c = config([&](const RegistrarRequest& rv, int) {
        Forgery pin_root{"root", "", [](brski::Voucher& v, const PledgePki& p) {
                             v.pinned_domain_cert = to_der(p.root.get());
                         }};
        return make_voucher(rv, pki_, pin_root);
    });
    c.issuing_ca = &root_ca;
    c.crts = {to_der(pki_.root.get())};
    registrar_ = std::make_unique<TestRegistrar>(std::move(c));
    PledgeRun run = pledge("root");
    ASSERT_EQ(run.result.exit_code, 0) << run.result.output;
    EXPECT_TRUE(has_step_line(run.result.output, "domain-ca")) << run.result.output;
    EXPECT_TRUE(registrar_->received("est/crts").empty());
    EXPECT_EQ(pem_decode(read_file(run.out + "/domain-ca.pem")).value(), to_der(pki_.root.get()));
}

// RFC 8995 §5.9.4: /es goes over a session made with the LDevID; when the registrar refuses it, the failure
// is reported over the IDevID session instead.
TEST_F(Pledge, ARegistrarThatRefusesTheLdevidGetsEnrollmentStatusFalse) {
    write_cert_file(pki_.dir.file("mfg-only.pem"), {pki_.mfg_ca.get()});
    TestRegistrar::Config c = config([&](const RegistrarRequest& rv, int) { return make_voucher(rv, pki_); });
    c.client_ca_file = pki_.dir.file("mfg-only.pem");
    registrar_ = std::make_unique<TestRegistrar>(std::move(c));
    PledgeRun run = pledge("ldevid-refused");
    EXPECT_EQ(run.result.exit_code, 1) << run.result.output;
    EXPECT_NE(run.result.output.find("estgw pledge: es: a DTLS handshake with the new LDevID failed"),
              std::string::npos)
        << run.result.output;
    cbor::Value es = telemetry("brski/es");
    EXPECT_EQ(*es.find("status"), cbor::Value(false));
    EXPECT_EQ(registrar_->received("brski/es")[0].client_certificate, to_der(pki_.idevid.get()));
}

TEST_F(Pledge, AcceptsAVoucherSignedUnderTheManufacturerCaWhenItCarriesTheSigningCertificate) {
    start([&](const RegistrarRequest& rv, int) {
        RegistrarAnswer a = make_voucher(rv, pki_);
        auto message = cose::decode_sign1(a.body).value();
        cbor::Map bag{{cbor::Value(cose::kHeaderX5Bag), cose::certificate_bag({to_der(pki_.masa.get())})}};
        a.body = cose::sign1(message.payload, bag, pki_.masa_key.get()).value();
        return a;
    });
    PledgeRun run = pledge("bag", "mfg-ca.crt");
    ASSERT_EQ(run.result.exit_code, 0) << run.result.output;
    EXPECT_NE(run.result.output.find("signed by CN=Test MASA"), std::string::npos) << run.result.output;
}

TEST_F(Pledge, ARefusedVoucherRequestExitsOneNamingTheStepAndTheCode) {
    start([](const RegistrarRequest&, int) {
        return RegistrarAnswer{COAP_RESPONSE_CODE(403), {}, {}, to_bytes("not ours")};
    });
    PledgeRun run = pledge("refused");
    EXPECT_EQ(run.result.exit_code, 1) << run.result.output;
    EXPECT_NE(run.result.output.find("estgw pledge: rv: 4.03 Forbidden: not ours"), std::string::npos)
        << run.result.output;
}

TEST_F(Pledge, NoRegistrarExitsThree) {
    start([&](const RegistrarRequest& rv, int) { return make_voucher(rv, pki_); });
    const int port = registrar_->port();
    registrar_.reset();
    RunResult r =
        run_command({ESTGW_BINARY, "pledge", "--server", "coaps://127.0.0.1:" + std::to_string(port),
                     "--idevid", pki_.dir.file("idevid.crt"), "--key", pki_.dir.file("idevid.key"),
                     "--masa-anchor", pki_.dir.file("masa.crt"), "--timeout", "2"},
                    std::chrono::seconds(60));
    EXPECT_EQ(r.exit_code, 3) << r.output;
    EXPECT_NE(r.output.find("estgw pledge: dtls: "), std::string::npos) << r.output;
}

TEST_F(Pledge, AnIdevidWithoutSerialNumberIsAUsageError) {
    write_cert_file(
        pki_.dir.file("noserial.crt"),
        {make_certificate("CN=pledge", pki_.idevid_key.get(), pki_.mfg_ca.get(), pki_.mfg_key.get()).get()});
    RunResult r = run_command(
        {ESTGW_BINARY, "pledge", "--server", "coaps://127.0.0.1:1", "--idevid", pki_.dir.file("noserial.crt"),
         "--key", pki_.dir.file("idevid.key"), "--masa-anchor", pki_.dir.file("masa.crt")},
        std::chrono::seconds(30));
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("serialNumber"), std::string::npos) << r.output;
}

TEST_F(Pledge, AMissingMasaAnchorIsAUsageError) {
    RunResult r = run_command({ESTGW_BINARY, "pledge", "--server", "coaps://127.0.0.1:1", "--idevid",
                               pki_.dir.file("idevid.crt"), "--key", pki_.dir.file("idevid.key")},
                              std::chrono::seconds(30));
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("--masa-anchor"), std::string::npos) << r.output;
}

// ---- forged vouchers: each refused, exit 1, /vs status false naming the check ----

class ForgedVoucher : public Pledge, public ::testing::WithParamInterface<Forgery> {};

TEST_P(ForgedVoucher, IsRefusedWithExitOneAndReportedToVsNamingTheCheck) {
    const Forgery forgery = GetParam();
    start([&](const RegistrarRequest& rv, int) { return make_voucher(rv, pki_, forgery); });
    PledgeRun run = pledge(forgery.name);
    EXPECT_EQ(run.result.exit_code, 1) << run.result.output;
    const std::string named = "estgw pledge: voucher: " + forgery.check + ": ";
    EXPECT_NE(run.result.output.find(named), std::string::npos) << named << "\n" << run.result.output;
    cbor::Value vs = telemetry("brski/vs");
    EXPECT_EQ(*vs.find("status"), cbor::Value(false));
    ASSERT_NE(vs.find("reason"), nullptr);
    EXPECT_EQ(vs.find("reason")->as_text().rfind("voucher: " + forgery.check + ": ", 0), 0u)
        << vs.find("reason")->as_text();
    EXPECT_TRUE(registrar_->received("est/sen").empty());
    EXPECT_TRUE(registrar_->received("brski/es").empty());
}

const Forgery kForgeries[] = {
    {"OtherSigner", "signature", {}, true},
    {"OtherNonce", "nonce", [](brski::Voucher& v, const PledgePki&) { v.nonce = Bytes(16, 0x5a); }},
    {"NoNonce", "nonce", [](brski::Voucher& v, const PledgePki&) { v.nonce.reset(); }},
    {"OtherSerial", "serial-number",
     [](brski::Voucher& v, const PledgePki&) { v.serial_number = "PLG-0002"; }},
    {"NoPin", "pin", [](brski::Voucher& v, const PledgePki&) { v.pinned_domain_cert.reset(); }},
    {"PinOfAnotherCa", "pin",
     [](brski::Voucher& v, const PledgePki& p) { v.pinned_domain_cert = to_der(p.other_ca.get()); }},
    {"WrongIdevidIssuer", "idevid-issuer",
     [](brski::Voucher& v, const PledgePki&) {
         v.idevid_issuer = Bytes{0x04, 0x03, 0x30, 0x01, 0x00};
     }},
    {"AgentProximity", "assertion",
     [](brski::Voucher& v, const PledgePki&) { v.assertion = brski::Assertion::AgentProximity; }},
    {"Untagged", "cose", {}, false, true},
    {"BadContentFormat", "content-format", {}, false, false, 60},
};

INSTANTIATE_TEST_SUITE_P(Each, ForgedVoucher, ::testing::ValuesIn(kForgeries),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace estgw::test
