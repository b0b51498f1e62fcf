// The pledge journal on SQLite and on PostgreSQL (store_backends.hpp): what is recorded comes back per
// pledge, in order, found by device serial-number, IDevID serial or LDevID serial, from threads and from a
// second connection as another process would open it.
#include <gtest/gtest.h>

#include <thread>

#include "tests/certs/store_backends.hpp"

namespace estgw::certs {
namespace {

using fixtures::Backend;
using JournalStore = fixtures::StoreTest;

const PledgeKey kPledge{"CN=estgw demo manufacturer CA,O=estgw demo", "0A1B"};
const PledgeKey kOther{"CN=estgw demo manufacturer CA,O=estgw demo", "0C2D"};

JourneyEvent event(const PledgeKey& pledge, JourneyStep step, std::int64_t at_ms,
                   std::vector<std::pair<std::string, std::string>> fields = {},
                   std::string device_serial = "pledge-0001") {
    return JourneyEvent{pledge, std::move(device_serial), step, at_ms, std::move(fields)};
}

void record(PledgeJournal& journal, const JourneyEvent& e) {
    auto r = journal.record(e);
    ASSERT_TRUE(r.ok()) << r.error().message;
}

TEST_P(JournalStore, AJourneyComesBackWithEveryFieldInTheOrderRecorded) {
    auto store = database().open();
    const std::vector<JourneyEvent> steps = {
        event(kPledge, JourneyStep::VoucherRequest, 1000, {{"nonce", "A1B2C3D4"}, {"proximity", "cert"}}),
        event(kPledge, JourneyStep::MasaCall, 1100,
              {{"url", "https://localhost:9443/.well-known/brski/requestvoucher"},
               {"http_status", "200"},
               {"ms", "35"}}),
        event(kPledge, JourneyStep::VoucherIssued, 1200,
              {{"assertion", "proximity"}, {"pinned_ca_sha256", "AB"}}),
        event(kPledge, JourneyStep::VoucherStatus, 1300,
              {{"status", "true"}, {"reason", ""}, {"version", "1"}}),
        event(kPledge, JourneyStep::Enrolled, 1400, {{"ldevid_serial", "7f01"}, {"operation", "enroll"}}),
        event(kPledge, JourneyStep::EnrollStatus, 1500,
              {{"status", "true"}, {"reason", "naïve \"quotes\"\\ and\ttabs"}, {"session", "ldevid"}}),
    };
    for (const JourneyEvent& e : steps)
        record(*store, e);
    auto journey = store->journey("pledge-0001");
    ASSERT_TRUE(journey.ok()) << journey.error().message;
    EXPECT_EQ(*journey, steps);
}

TEST_P(JournalStore, AStepWithoutFieldsKeepsNone) {
    auto store = database().open();
    record(*store, event(kPledge, JourneyStep::VoucherIssued, 5));
    auto journey = store->journey("0A1B");
    ASSERT_TRUE(journey.ok()) << journey.error().message;
    ASSERT_EQ(journey->size(), 1u);
    EXPECT_TRUE(journey->front().fields.empty());
}

TEST_P(JournalStore, StepsAreOrderedByTimeThenByInsertion) {
    auto store = database().open();
    record(*store, event(kPledge, JourneyStep::MasaCall, 2000));
    record(*store, event(kPledge, JourneyStep::VoucherRequest, 1000));
    record(*store, event(kPledge, JourneyStep::VoucherIssued, 2000));
    auto journey = store->journey("0A1B");
    ASSERT_TRUE(journey.ok()) << journey.error().message;
    ASSERT_EQ(journey->size(), 3u);
    EXPECT_EQ((*journey)[0].step, JourneyStep::VoucherRequest);
    EXPECT_EQ((*journey)[1].step, JourneyStep::MasaCall);
    EXPECT_EQ((*journey)[2].step, JourneyStep::VoucherIssued);
}

TEST_P(JournalStore, AJourneyIsFoundByTheIdevidSerialInAnyCaseAndStoredUppercase) {
    auto store = database().open();
    record(*store, event(PledgeKey{kPledge.idevid_issuer, "0a1b"}, JourneyStep::VoucherRequest, 1));
    auto journey = store->journey("0a1B");
    ASSERT_TRUE(journey.ok()) << journey.error().message;
    ASSERT_EQ(journey->size(), 1u);
    EXPECT_EQ(journey->front().pledge, kPledge);
}

TEST_P(JournalStore, AnUnknownSerialHasNoJourney) {
    auto store = database().open();
    record(*store, event(kPledge, JourneyStep::VoucherRequest, 1));
    for (std::string_view serial : {"nobody", "0A1C", ""}) {
        auto journey = store->journey(serial);
        ASSERT_TRUE(journey.ok()) << journey.error().message;
        EXPECT_TRUE(journey->empty()) << serial;
    }
}

TEST_P(JournalStore, TwoPledgesWithOneDeviceSerialComeOneAfterTheOther) {
    auto store = database().open();
    const PledgeKey other_manufacturer{"CN=another manufacturer", "0A1B"};
    record(*store, event(kPledge, JourneyStep::VoucherRequest, 10));
    record(*store, event(other_manufacturer, JourneyStep::VoucherRequest, 20));
    record(*store, event(kPledge, JourneyStep::VoucherIssued, 30));
    record(*store, event(other_manufacturer, JourneyStep::VoucherRefused, 40));
    record(*store, event(kOther, JourneyStep::VoucherRequest, 50, {}, "pledge-0002"));
    auto journey = store->journey("pledge-0001");
    ASSERT_TRUE(journey.ok()) << journey.error().message;
    ASSERT_EQ(journey->size(), 4u);
    EXPECT_EQ((*journey)[0].pledge, kPledge);
    EXPECT_EQ((*journey)[1].pledge, kPledge);
    EXPECT_EQ((*journey)[1].step, JourneyStep::VoucherIssued);
    EXPECT_EQ((*journey)[2].pledge, other_manufacturer);
    EXPECT_EQ((*journey)[3].step, JourneyStep::VoucherRefused);
}

TEST_P(JournalStore, PledgesListsEachOnceWithItsLatestStepMostRecentlyActiveFirst) {
    auto store = database().open();
    record(*store, event(kPledge, JourneyStep::VoucherRequest, 100));
    record(*store, event(kOther, JourneyStep::VoucherRequest, 150, {}, "pledge-0002"));
    record(*store, event(kPledge, JourneyStep::VoucherRefused, 200, {{"code", "4.03"}, {"reason", "no"}}));
    record(*store, event(kOther, JourneyStep::VoucherIssued, 300, {}, "pledge-0002"));
    record(*store, event(kOther, JourneyStep::VoucherStatus, 300, {{"status", "true"}}, "pledge-0002"));
    auto pledges = store->pledges();
    ASSERT_TRUE(pledges.ok()) << pledges.error().message;
    ASSERT_EQ(pledges->size(), 2u);
    const PledgeSummary& first = (*pledges)[0];
    EXPECT_EQ(first.pledge, kOther);
    EXPECT_EQ(first.device_serial, "pledge-0002");
    EXPECT_EQ(first.first_ms, 150);
    EXPECT_EQ(first.steps, 3u);
    EXPECT_EQ(first.latest,
              event(kOther, JourneyStep::VoucherStatus, 300, {{"status", "true"}}, "pledge-0002"));
    const PledgeSummary& second = (*pledges)[1];
    EXPECT_EQ(second.pledge, kPledge);
    EXPECT_EQ(second.first_ms, 100);
    EXPECT_EQ(second.steps, 2u);
    EXPECT_EQ(second.latest.step, JourneyStep::VoucherRefused);
    EXPECT_EQ(second.latest.fields.size(), 2u);
}

TEST_P(JournalStore, AnEmptyJournalHasNoPledges) {
    auto store = database().open();
    auto pledges = store->pledges();
    ASSERT_TRUE(pledges.ok()) << pledges.error().message;
    EXPECT_TRUE(pledges->empty());
}

TEST_P(JournalStore, AnLdevidLeadsBackToThePledgeItWasIssuedTo) {
    auto store = database().open();
    record(*store,
           event(kPledge, JourneyStep::Enrolled, 1, {{"ldevid_serial", "7f01"}, {"operation", "enroll"}}));
    record(*store, event(kOther, JourneyStep::Enrolled, 2, {{"ldevid_serial", "7F02"}}, "pledge-0002"));
    auto found = store->pledge_of_ldevid("7F01");
    ASSERT_TRUE(found.ok()) << found.error().message;
    EXPECT_EQ(*found, kPledge);
    found = store->pledge_of_ldevid("7f02");
    ASSERT_TRUE(found.ok()) << found.error().message;
    EXPECT_EQ(*found, kOther);
}

TEST_P(JournalStore, AnLdevidSerialOutsideAnEnrolledStepLinksNothing) {
    auto store = database().open();
    record(*store, event(kPledge, JourneyStep::EnrollStatus, 1, {{"ldevid_serial", "7F01"}}));
    for (std::string_view serial : {"7F01", "0A1B", ""}) {
        auto found = store->pledge_of_ldevid(serial);
        ASSERT_TRUE(found.ok()) << found.error().message;
        EXPECT_FALSE(found->has_value()) << serial;
    }
}

TEST_P(JournalStore, VoucherIssuedOnlyAfterAVoucherIssuedStepOfThatPledge) {
    auto store = database().open();
    record(*store, event(kPledge, JourneyStep::VoucherRequest, 1));
    record(*store, event(kOther, JourneyStep::VoucherRefused, 1, {}, "pledge-0002"));
    EXPECT_FALSE(*store->voucher_issued(kPledge));
    record(*store, event(kPledge, JourneyStep::VoucherIssued, 2));
    EXPECT_TRUE(*store->voucher_issued(kPledge));
    EXPECT_TRUE(*store->voucher_issued(PledgeKey{kPledge.idevid_issuer, "0a1b"}));
    EXPECT_FALSE(*store->voucher_issued(kOther));
    EXPECT_FALSE(*store->voucher_issued(PledgeKey{"CN=another manufacturer", "0A1B"}));
}

TEST_P(JournalStore, AStepWithoutAPledgeIsRefused) {
    auto store = database().open();
    EXPECT_FALSE(
        store->record(event(PledgeKey{kPledge.idevid_issuer, ""}, JourneyStep::VoucherRequest, 1)).ok());
    EXPECT_FALSE(store->record(event(PledgeKey{"", "0A1B"}, JourneyStep::VoucherRequest, 1)).ok());
    EXPECT_TRUE(store->pledges()->empty());
}

TEST_P(JournalStore, ARecordedStepIsVisibleToAnotherConnectionAtOnce) {
    auto writer = database().open();
    auto reader = database().open(true);
    record(*writer, event(kPledge, JourneyStep::VoucherRequest, 1));
    auto journey = reader->journey("pledge-0001");
    ASSERT_TRUE(journey.ok()) << journey.error().message;
    EXPECT_EQ(journey->size(), 1u);
}

TEST_P(JournalStore, AReadOnlyConnectionCannotRecord) {
    database().open();
    auto reader = database().open(true);
    EXPECT_FALSE(reader->record(event(kPledge, JourneyStep::VoucherRequest, 1)).ok());
}

// Worker threads of one server and a second server on the same file record at once: every step lands.
TEST_P(JournalStore, StepsRecordedConcurrentlyFromThreadsAndConnectionsAreAllKept) {
    auto first = database().open();
    auto second = database().open();
    constexpr int kThreads = 8;
    constexpr int kStepsEach = 25;
    std::vector<std::thread> threads;
    std::vector<int> failures(kThreads, 0);
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            PledgeJournal& journal = t % 2 == 0 ? static_cast<PledgeJournal&>(*first) : *second;
            const PledgeKey pledge{"CN=mfg", "A" + std::to_string(t)};
            for (int i = 0; i < kStepsEach; ++i) {
                auto r = journal.record(event(pledge, JourneyStep::VoucherStatus, i,
                                              {{"status", "true"}, {"n", std::to_string(i)}},
                                              "device-" + std::to_string(t)));
                if (!r) ++failures[t];
            }
        });
    }
    for (std::thread& thread : threads)
        thread.join();
    for (int t = 0; t < kThreads; ++t)
        EXPECT_EQ(failures[t], 0) << "thread " << t;
    auto pledges = first->pledges();
    ASSERT_TRUE(pledges.ok()) << pledges.error().message;
    ASSERT_EQ(pledges->size(), static_cast<std::size_t>(kThreads));
    for (const PledgeSummary& summary : *pledges)
        EXPECT_EQ(summary.steps, static_cast<std::size_t>(kStepsEach)) << summary.pledge.idevid_serial;
    auto journey = second->journey("device-3");
    ASSERT_TRUE(journey.ok()) << journey.error().message;
    ASSERT_EQ(journey->size(), static_cast<std::size_t>(kStepsEach));
    for (int i = 0; i < kStepsEach; ++i)
        EXPECT_EQ((*journey)[i].fields[1].second, std::to_string(i));
}

INSTANTIATE_TEST_SUITE_P(Backends, JournalStore, testing::Values(Backend::Sqlite, Backend::Postgres),
                         fixtures::backend_name);

}  // namespace
}  // namespace estgw::certs
