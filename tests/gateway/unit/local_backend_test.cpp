// The registrar side of BRSKI telemetry and enrollment in full-server mode (issue 13 §2-§3, BRSKI.md §3.7),
// at the backend: the answers the CoAP front sends, and the steps each request leaves in the pledge
// journal. The journal is a small in-memory one; the issuance store and the CA are the real ones.
#include "gateway/local_backend.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "certs/ca.hpp"
#include "certs/sqlite_store.hpp"
#include "common/log.hpp"
#include "common/x509.hpp"
#include "support/test_data.hpp"
#include "support/test_pki.hpp"

namespace estgw::gateway {
namespace {

using certs::JourneyEvent;
using certs::JourneyStep;
using certs::PledgeKey;

bool same_hex(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::toupper(static_cast<unsigned char>(x)) ==
                      std::toupper(static_cast<unsigned char>(y));
           });
}

std::string field(const JourneyEvent& event, const std::string& name) {
    for (const auto& [key, value] : event.fields) {
        if (key == name) return value;
    }
    return "(absent)";
}

// The journal's contract (certs/journal.hpp) kept in a vector, for tests.
class MemoryJournal final : public certs::PledgeJournal {
  public:
    Result<void> record(const JourneyEvent& event) override {
        std::lock_guard lock(mutex_);
        if (fail_writes) return make_error(Status::Internal, "disk full");
        events_.push_back(event);
        return {};
    }
    Result<std::vector<certs::PledgeSummary>> pledges() override {
        std::lock_guard lock(mutex_);
        std::vector<certs::PledgeSummary> out;
        for (const JourneyEvent& e : events_) {
            auto it =
                std::find_if(out.begin(), out.end(), [&](const auto& s) { return s.pledge == e.pledge; });
            if (it == out.end()) {
                out.push_back({e.pledge, e.device_serial, e.at_ms, e, 0});
                it = out.end() - 1;
            }
            it->latest = e;
            ++it->steps;
        }
        return out;
    }
    Result<std::vector<JourneyEvent>> journey(std::string_view serial) override {
        std::lock_guard lock(mutex_);
        std::vector<JourneyEvent> out;
        for (const JourneyEvent& e : events_) {
            if (e.device_serial == serial || same_hex(e.pledge.idevid_serial, serial)) out.push_back(e);
        }
        return out;
    }
    Result<std::optional<PledgeKey>> pledge_of_ldevid(std::string_view ldevid_serial) override {
        std::lock_guard lock(mutex_);
        for (const JourneyEvent& e : events_) {
            if (e.step == JourneyStep::Enrolled && same_hex(field(e, "ldevid_serial"), ldevid_serial))
                return std::optional<PledgeKey>(e.pledge);
        }
        return std::optional<PledgeKey>();
    }
    Result<bool> voucher_issued(const PledgeKey& pledge) override {
        std::lock_guard lock(mutex_);
        return std::any_of(events_.begin(), events_.end(), [&](const JourneyEvent& e) {
            return e.step == JourneyStep::VoucherIssued && e.pledge == pledge;
        });
    }

    std::vector<JourneyEvent> events() {
        std::lock_guard lock(mutex_);
        return events_;
    }
    bool fail_writes = false;

  private:
    std::mutex mutex_;
    std::vector<JourneyEvent> events_;
};

// Log records while the test runs.
class CapturedLog {
  public:
    CapturedLog() {
        log::set_sink([this](std::string_view record) {
            std::lock_guard lock(mutex_);
            text_ += std::string(record) + "\n";
        });
    }
    ~CapturedLog() { log::set_sink(nullptr); }
    std::string text() {
        std::lock_guard lock(mutex_);
        return text_;
    }

  private:
    std::mutex mutex_;
    std::string text_;
};

PeerIdentity peer_with(const X509* cert) {
    PeerIdentity peer;
    peer.address = "[::1]:40000";
    if (!cert) return peer;
    peer.chain.push_back(test::to_der(cert));
    peer.certificate = share_certificate(X509Ptr(X509_dup(const_cast<X509*>(cert))));
    peer.subject = name_to_string(X509_get_subject_name(cert));
    return peer;
}

class LocalBackendBrski : public ::testing::Test {
  protected:
    static constexpr const char* kDeviceSerial = "JADA123456789";

    void SetUp() override {
        std::string pattern = (std::filesystem::temp_directory_path() / "estgw-backend-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        auto store = certs::SqliteStore::open(dir_ / "estgw.db");
        ASSERT_TRUE(store.ok()) << store.error().message;
        store_ = std::move(*store);
        auto ca = certs::IssuingCa::create_self_signed(test::make_name("CN=domain CA").get(),
                                                       test::make_key(), 3650);
        ASSERT_TRUE(ca.ok()) << ca.error().message;
        ca_.emplace(std::move(*ca));
        // The pledge's IDevID, from a manufacturer CA the domain CA has nothing to do with.
        mfg_key_ = test::make_key();
        mfg_ = test::make_self_signed_ca("CN=manufacturer CA,O=Stok", mfg_key_.get());
        pledge_key_ = test::make_key();
        test::CertOptions options;
        options.serial = 0x7EAD;
        idevid_ = test::make_certificate(std::string("CN=pledge,serialNumber=") + kDeviceSerial,
                                         pledge_key_.get(), mfg_.get(), mfg_key_.get(), options);
    }
    void TearDown() override {
        backend_.reset();
        store_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    LocalBackend& backend(certs::PledgeJournal* journal, bool require_voucher = false) {
        LocalBackendConfig config;
        config.journal = journal;
        config.require_voucher = require_voucher;
        auto created = LocalBackend::create(std::move(config), *ca_, *store_, pool_);
        if (!created) throw std::runtime_error(created.error().message);
        backend_ = std::move(*created);
        return *backend_;
    }

    PledgeKey idevid_pledge() const { return PledgeKey{"O=Stok,CN=manufacturer CA", "7EAD"}; }

    static EstRequest telemetry(Operation op, std::optional<ContentFormat> format, Bytes body,
                                const X509* cert) {
        EstRequest r;
        r.op = op;
        r.content_format = format;
        r.body = std::move(body);
        r.peer = peer_with(cert);
        return r;
    }
    EstRequest enrollment(Operation op, const X509* cert) {
        EstRequest r;
        r.op = op;
        r.content_format = ContentFormat::Pkcs10;
        r.body = test::to_der(test::make_csr("CN=pledge", {}, pledge_key_.get()).get());
        r.peer = peer_with(cert);
        return r;
    }
    // The LDevID a successful answer carries.
    static X509Ptr issued_certificate(const EstResponse& answer) {
        auto certificates = certs_only_certificates(answer.body);
        if (!certificates || certificates->empty()) throw std::runtime_error("no certificate in the answer");
        return std::move(certificates->front());
    }

    std::filesystem::path dir_;
    std::unique_ptr<certs::SqliteStore> store_;
    std::optional<certs::IssuingCa> ca_;
    WorkerPool pool_{1, 4};
    std::unique_ptr<LocalBackend> backend_;
    EvpPkeyPtr mfg_key_, pledge_key_;
    X509Ptr mfg_, idevid_;
};

// ---- /vs and /es: the answers (cBRSKI §6.5.1, BRSKI.md §3.7) ----

TEST_F(LocalBackendBrski, EnrollStatusInCborIsAnsweredChangedWithoutPayload) {
    auto answer = backend(nullptr).process(telemetry(Operation::EnrollStatus, ContentFormat::Cbor,
                                                     test::read_hex("brski/appB1-enrollstatus-success.hex"),
                                                     idevid_.get()));
    EXPECT_EQ(answer.status, Status::Ok) << answer.diagnostic;
    EXPECT_TRUE(answer.body.empty());
    EXPECT_TRUE(answer.parts.empty());
}

TEST_F(LocalBackendBrski, VoucherStatusInJsonIsAccepted) {
    auto answer =
        backend(nullptr).process(telemetry(Operation::VoucherStatus, ContentFormat::Json,
                                           to_bytes(R"({"version":1,"status":true})"), idevid_.get()));
    EXPECT_EQ(answer.status, Status::Ok) << answer.diagnostic;
    EXPECT_TRUE(answer.body.empty());
}

TEST_F(LocalBackendBrski, TelemetryInAnotherFormatIsUnsupported) {
    MemoryJournal journal;
    auto answer =
        backend(&journal).process(telemetry(Operation::VoucherStatus, ContentFormat::VoucherCose,
                                            test::read_hex("brski/appB2-voucher-status.hex"), idevid_.get()));
    EXPECT_EQ(answer.status, Status::UnsupportedFormat);
    EXPECT_TRUE(journal.events().empty());
}

TEST_F(LocalBackendBrski, TelemetryWithoutStatusIsABadRequest) {
    MemoryJournal journal;
    auto answer = backend(&journal).process(
        telemetry(Operation::EnrollStatus, ContentFormat::Json, to_bytes(R"({"version":1})"), idevid_.get()));
    EXPECT_EQ(answer.status, Status::BadRequest);
    EXPECT_NE(answer.diagnostic.find("\"status\" is missing"), std::string::npos) << answer.diagnostic;
    EXPECT_TRUE(journal.events().empty());
}

TEST_F(LocalBackendBrski, MalformedTelemetryIsABadRequest) {
    auto answer = backend(nullptr).process(
        telemetry(Operation::VoucherStatus, ContentFormat::Cbor, test::hex("A2677665"), idevid_.get()));
    EXPECT_EQ(answer.status, Status::BadRequest);
}

// RFC 8995 §5.7: log every status; a newer version is logged for a human; unknown fields logged.
TEST_F(LocalBackendBrski, TelemetryIsLoggedAndANewerVersionRaisesAnAlert) {
    CapturedLog log;
    auto answer = backend(nullptr).process(telemetry(
        Operation::VoucherStatus, ContentFormat::Json,
        to_bytes(R"({"version":2,"status":false,"reason":"nonce differs","vendor":7})"), idevid_.get()));
    EXPECT_EQ(answer.status, Status::Ok) << answer.diagnostic;
    const std::string text = log.text();
    EXPECT_NE(text.find("telemetry resource=vs status=false reason=\"nonce differs\" version=2"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("unknown_fields="), std::string::npos) << text;
    EXPECT_NE(text.find("vendor"), std::string::npos) << text;
    EXPECT_NE(text.find("warn telemetry_version_unknown"), std::string::npos) << text;
    EXPECT_NE(text.find("alert a human"), std::string::npos) << text;
}

// ---- /vs and /es: the journal (BRSKI.md §3.7, D12) ----

TEST_F(LocalBackendBrski, VoucherStatusIsRecordedForTheIdevidPledge) {
    MemoryJournal journal;
    auto answer =
        backend(&journal).process(telemetry(Operation::VoucherStatus, ContentFormat::Cbor,
                                            test::read_hex("brski/appB2-voucher-status.hex"), idevid_.get()));
    ASSERT_EQ(answer.status, Status::Ok) << answer.diagnostic;
    const auto events = journal.events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].pledge, idevid_pledge());
    EXPECT_EQ(events[0].device_serial, kDeviceSerial);
    EXPECT_EQ(events[0].step, JourneyStep::VoucherStatus);
    EXPECT_GT(events[0].at_ms, 0);
    EXPECT_EQ(
        events[0].fields,
        (std::vector<std::pair<std::string, std::string>>{
            {"status", "false"}, {"reason", "Informative human-readable error message"}, {"version", "1"}}));
}

TEST_F(LocalBackendBrski, EnrollStatusOverTheIdevidSaysSo) {
    MemoryJournal journal;
    (void)backend(&journal).process(telemetry(Operation::EnrollStatus, ContentFormat::Cbor,
                                              test::read_hex("brski/appB1-enrollstatus-success.hex"),
                                              idevid_.get()));
    const auto events = journal.events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].step, JourneyStep::EnrollStatus);
    EXPECT_EQ(field(events[0], "status"), "true");
    EXPECT_EQ(field(events[0], "session"), "idevid");
}

// The whole registrar-side path: enroll over the IDevID, then /es over the new LDevID lands in the same
// journey, marked as having come over the LDevID (D12).
TEST_F(LocalBackendBrski, EnrollmentIsRecordedAndEnrollStatusOverTheLdevidJoinsTheSameJourney) {
    MemoryJournal journal;
    LocalBackend& b = backend(&journal);
    auto enrolled = b.process(enrollment(Operation::SimpleEnroll, idevid_.get()));
    ASSERT_EQ(enrolled.status, Status::Ok) << enrolled.diagnostic;
    const X509Ptr ldevid = issued_certificate(enrolled);
    const std::string ldevid_serial = certs::serial_hex(ldevid.get());

    auto events = journal.events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].step, JourneyStep::Enrolled);
    EXPECT_EQ(events[0].pledge, idevid_pledge());
    EXPECT_EQ(field(events[0], "ldevid_serial"), ldevid_serial);
    EXPECT_EQ(field(events[0], "operation"), "enroll");
    // Committed to the issuance store before the journal named it.
    auto stored = store_->find(ldevid_serial);
    ASSERT_TRUE(stored.ok() && stored->has_value());

    auto status = b.process(telemetry(Operation::EnrollStatus, ContentFormat::Cbor,
                                      test::read_hex("brski/appB1-enrollstatus-success.hex"), ldevid.get()));
    ASSERT_EQ(status.status, Status::Ok) << status.diagnostic;
    events = journal.events();
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[1].step, JourneyStep::EnrollStatus);
    EXPECT_EQ(events[1].pledge, idevid_pledge());
    EXPECT_EQ(field(events[1], "session"), "ldevid");
}

TEST_F(LocalBackendBrski, ServerKeyGenOverTheIdevidIsRecordedToo) {
    MemoryJournal journal;
    auto answer = backend(&journal).process(enrollment(Operation::ServerKeyGen, idevid_.get()));
    ASSERT_EQ(answer.status, Status::Ok) << answer.diagnostic;
    const auto events = journal.events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(field(events[0], "operation"), "serverkeygen");
}

// An EST client with one of our certificates that no pledge was issued is no pledge: its enrollments stay in
// the issuance store alone, and its /es is recorded under its own certificate as "other" (D12).
TEST_F(LocalBackendBrski, OurCertificateOfNoPledgeIsOther) {
    MemoryJournal journal;
    LocalBackend& b = backend(&journal);
    auto csr = test::make_csr("CN=est-client", {}, pledge_key_.get());
    auto own = ca_->issue(csr.get(), certs::IssuanceProfile{});
    ASSERT_TRUE(own.ok()) << own.error().message;

    auto enrolled = b.process(enrollment(Operation::SimpleEnroll, own->get()));
    ASSERT_EQ(enrolled.status, Status::Ok) << enrolled.diagnostic;
    EXPECT_TRUE(journal.events().empty());

    (void)b.process(telemetry(Operation::EnrollStatus, ContentFormat::Json,
                              to_bytes(R"({"version":1,"status":true})"), own->get()));
    const auto events = journal.events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].pledge.idevid_serial, certs::serial_hex(own->get()));
    EXPECT_EQ(field(events[0], "session"), "other");
}

TEST_F(LocalBackendBrski, TelemetryWithoutAClientCertificateIsAnsweredButNotRecorded) {
    MemoryJournal journal;
    auto answer =
        backend(&journal).process(telemetry(Operation::EnrollStatus, ContentFormat::Cbor,
                                            test::read_hex("brski/appB1-enrollstatus-success.hex"), nullptr));
    EXPECT_EQ(answer.status, Status::Ok);
    EXPECT_TRUE(journal.events().empty());
}

// The pledge did its part, and the certificate is issued and stored: a journal that cannot be written is
// the operator's problem, logged, not the pledge's.
TEST_F(LocalBackendBrski, AJournalThatCannotBeWrittenIsLoggedAndTheAnswerStillGoesOut) {
    MemoryJournal journal;
    journal.fail_writes = true;
    CapturedLog log;
    auto answer = backend(&journal).process(enrollment(Operation::SimpleEnroll, idevid_.get()));
    EXPECT_EQ(answer.status, Status::Ok) << answer.diagnostic;
    EXPECT_NE(log.text().find("error journal_not_recorded error=\"disk full\""), std::string::npos)
        << log.text();
}

// ---- --require-voucher (issue 13 §1) ----

TEST_F(LocalBackendBrski, RequireVoucherRefusesAnIdevidWithoutAVoucher) {
    MemoryJournal journal;
    LocalBackend& b = backend(&journal, true);
    for (Operation op : {Operation::SimpleEnroll, Operation::ServerKeyGen, Operation::ServerKeyGenCert}) {
        auto answer = b.process(enrollment(op, idevid_.get()));
        EXPECT_EQ(answer.status, Status::Forbidden);
        EXPECT_NE(answer.diagnostic.find("no voucher was issued to this IDevID through this registrar; "
                                         "--require-voucher"),
                  std::string::npos)
            << answer.diagnostic;
    }
    EXPECT_TRUE(journal.events().empty());
    auto stored = store_->list();
    ASSERT_TRUE(stored.ok());
    EXPECT_TRUE(stored->empty());
}

TEST_F(LocalBackendBrski, RequireVoucherLetsAnIdevidWithAVoucherEnroll) {
    MemoryJournal journal;
    ASSERT_TRUE(journal.record({idevid_pledge(), kDeviceSerial, JourneyStep::VoucherIssued, 1, {}}).ok());
    auto answer = backend(&journal, true).process(enrollment(Operation::SimpleEnroll, idevid_.get()));
    EXPECT_EQ(answer.status, Status::Ok) << answer.diagnostic;
    EXPECT_EQ(journal.events().back().step, JourneyStep::Enrolled);
}

TEST_F(LocalBackendBrski, RequireVoucherRefusesTheVoucherOfAnotherPledge) {
    MemoryJournal journal;
    ASSERT_TRUE(
        journal
            .record({PledgeKey{"O=Stok,CN=manufacturer CA", "7EAE"}, "", JourneyStep::VoucherIssued, 1, {}})
            .ok());
    auto answer = backend(&journal, true).process(enrollment(Operation::SimpleEnroll, idevid_.get()));
    EXPECT_EQ(answer.status, Status::Forbidden) << answer.diagnostic;
}

TEST_F(LocalBackendBrski, RequireVoucherLeavesOurOwnCertificatesAlone) {
    MemoryJournal journal;
    LocalBackend& b = backend(&journal, true);
    auto own = ca_->issue(test::make_csr("CN=pledge", {}, pledge_key_.get()).get(), certs::IssuanceProfile{});
    ASSERT_TRUE(own.ok()) << own.error().message;
    EXPECT_EQ(b.process(enrollment(Operation::SimpleEnroll, own->get())).status, Status::Ok);
    EXPECT_EQ(b.process(enrollment(Operation::SimpleReenroll, own->get())).status, Status::Ok);
}

TEST_F(LocalBackendBrski, RequireVoucherRefusesAClientWithoutCertificate) {
    MemoryJournal journal;
    auto answer = backend(&journal, true).process(enrollment(Operation::SimpleEnroll, nullptr));
    EXPECT_EQ(answer.status, Status::Forbidden);
    EXPECT_NE(answer.diagnostic.find("--require-voucher"), std::string::npos) << answer.diagnostic;
}

TEST_F(LocalBackendBrski, RequireVoucherWithoutAJournalIsRefusedAtStart) {
    LocalBackendConfig config;
    config.require_voucher = true;
    auto created = LocalBackend::create(std::move(config), *ca_, *store_, pool_);
    ASSERT_FALSE(created.ok());
    EXPECT_NE(created.error().message.find("--require-voucher needs the pledge journal"), std::string::npos);
}

}  // namespace
}  // namespace estgw::gateway
