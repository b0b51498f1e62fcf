// The issuance store, on SQLite and on PostgreSQL (store_backends.hpp): every certificate recorded before it
// is handed out, listed newest first, unique serials (RFC 5280 §4.1.2.2), durable across restarts, safe for
// concurrent workers and for several servers sharing the database.
#include "certs/sqlite_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <set>
#include <thread>

#include "certs/ca.hpp"
#include "common/pem.hpp"
#include "support/mini_json.hpp"
#include "support/test_pki.hpp"
#include "tests/certs/certs_fixtures.hpp"
#include "tests/certs/store_backends.hpp"

namespace estgw::certs {
namespace {

using fixtures::Backend;
using fixtures::StoreTest;
using fixtures::TempDir;

IssuanceRecord record(const std::string& serial, std::int64_t issued_at,
                      IssuanceOperation operation = IssuanceOperation::Enroll) {
    IssuanceRecord r;
    r.serial = serial;
    r.subject = "CN=device " + serial;
    r.not_before = issued_at - 300;
    r.not_after = issued_at + 365 * 86400;
    r.operation = operation;
    r.client_subject = "CN=pledge,serialNumber=JADA123456789";
    r.ra_subject = "CN=estgw RA";
    r.issued_at = issued_at;
    r.certificate_der = {0x30, 0x03, 0x02, 0x01, static_cast<std::uint8_t>(serial.size())};
    return r;
}

std::vector<std::string> serials(const std::vector<IssuanceRecord>& records) {
    std::vector<std::string> out;
    for (const IssuanceRecord& r : records)
        out.push_back(r.serial);
    return out;
}

using IssuanceStoreTest = StoreTest;

TEST_P(IssuanceStoreTest, ListsNewestFirst) {
    auto store = database().open();
    for (const auto& [serial, time] : std::vector<std::pair<std::string, std::int64_t>>{
             {"0A", 1'700'000'100}, {"0B", 1'700'000'300}, {"0C", 1'700'000'200}}) {
        auto inserted = store->insert(record(serial, time));
        ASSERT_TRUE(inserted.ok()) << inserted.error().message;
        EXPECT_EQ(*inserted, InsertOutcome::Inserted);
    }
    auto listed = store->list();
    ASSERT_TRUE(listed.ok()) << listed.error().message;
    EXPECT_EQ(serials(*listed), (std::vector<std::string>{"0B", "0C", "0A"}));
}

TEST_P(IssuanceStoreTest, WithinOneSecondTheLaterInsertComesFirst) {
    auto store = database().open();
    for (const char* serial : {"01", "02", "03"})
        ASSERT_TRUE(store->insert(record(serial, 1'700'000'000)).ok());
    auto listed = store->list();
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(serials(*listed), (std::vector<std::string>{"03", "02", "01"}));
}

TEST_P(IssuanceStoreTest, ListLimitKeepsTheNewest) {
    auto store = database().open();
    for (int i = 0; i < 5; ++i)
        ASSERT_TRUE(store->insert(record("0" + std::to_string(i), 1'700'000'000 + i)).ok());
    auto listed = store->list(2);
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(serials(*listed), (std::vector<std::string>{"04", "03"}));
}

TEST_P(IssuanceStoreTest, RecordsComeBackFieldForField) {
    auto store = database().open();
    const IssuanceRecord original = record("7F3A", 1'700'000'000, IssuanceOperation::Rekey);
    ASSERT_TRUE(store->insert(original).ok());
    auto found = store->find("7f3a");  // any case
    ASSERT_TRUE(found.ok()) << found.error().message;
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ(**found, original);
    auto missing = store->find("7F3B");
    ASSERT_TRUE(missing.ok());
    EXPECT_FALSE(missing->has_value());
}

TEST_P(IssuanceStoreTest, ALargeCertificateAndTimesBeyond2038ComeBackUnchanged) {
    auto store = database().open();
    IssuanceRecord large = record("7F3C", 4'102'444'800);  // 2100-01-01
    large.not_after = 253'402'300'799;                     // 99991231235959Z (RFC 5280 §4.1.2.5)
    large.certificate_der.assign(70'000, 0);
    for (std::size_t i = 0; i < large.certificate_der.size(); ++i)
        large.certificate_der[i] = static_cast<std::uint8_t>(i * 7);
    ASSERT_EQ(*store->insert(large), InsertOutcome::Inserted);
    auto found = store->find("7F3C");
    ASSERT_TRUE(found.ok()) << found.error().message;
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ(**found, large);
}

TEST_P(IssuanceStoreTest, RejectsADuplicateSerialWithoutWritingAnything) {
    auto store = database().open();
    ASSERT_EQ(*store->insert(record("ABCDEF", 1'700'000'000)), InsertOutcome::Inserted);
    IssuanceRecord again = record("abcdef", 1'700'000'500, IssuanceOperation::Renew);
    auto inserted = store->insert(again);
    ASSERT_TRUE(inserted.ok()) << inserted.error().message;
    EXPECT_EQ(*inserted, InsertOutcome::DuplicateSerial);
    auto listed = store->list();
    ASSERT_TRUE(listed.ok());
    ASSERT_EQ(listed->size(), 1u);
    EXPECT_EQ(listed->front().operation, IssuanceOperation::Enroll);
    // The connection is usable after the rolled-back insert.
    EXPECT_EQ(*store->insert(record("ABCDF0", 1'700'000'600)), InsertOutcome::Inserted);
}

TEST_P(IssuanceStoreTest, SurvivesReopening) {
    {
        auto store = database().open();
        ASSERT_TRUE(store->insert(record("01", 1'700'000'000)).ok());
        ASSERT_TRUE(store->insert(record("02", 1'700'000'001)).ok());
    }
    auto reopened = database().open();
    auto listed = reopened->list();
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(serials(*listed), (std::vector<std::string>{"02", "01"}));
    EXPECT_EQ(*reopened->insert(record("01", 1'700'000'002)), InsertOutcome::DuplicateSerial);
}

TEST_P(IssuanceStoreTest, EightThreadsTimesFiftyInsertsAreAllPresent) {
    auto store = database().open();
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 50; ++i) {
                const std::string serial = std::to_string(t) + "F" + std::to_string(1000 + i);
                auto inserted = store->insert(record(serial, 1'700'000'000 + i));
                if (!inserted.ok() || *inserted != InsertOutcome::Inserted) ++failures;
            }
        });
    }
    for (std::thread& thread : threads)
        thread.join();
    EXPECT_EQ(failures.load(), 0);
    auto listed = store->list();
    ASSERT_TRUE(listed.ok());
    const std::vector<std::string> all = serials(*listed);
    EXPECT_EQ(all.size(), 400u);
    EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 400u);
}

TEST_P(IssuanceStoreTest, TwoStoresOnOneDatabaseWriteConcurrently) {
    // Two servers (or processes) sharing the database: no lost writes.
    auto first = database().open();
    auto second = database().open();
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        IssuanceStore* store = (t % 2 == 0 ? first : second).get();
        threads.emplace_back([&, store, t] {
            for (int i = 0; i < 25; ++i) {
                auto inserted =
                    store->insert(record(std::to_string(t) + "E" + std::to_string(100 + i), 1'700'000'000));
                if (!inserted.ok() || *inserted != InsertOutcome::Inserted) ++failures;
            }
        });
    }
    for (std::thread& thread : threads)
        thread.join();
    EXPECT_EQ(failures.load(), 0);
    auto listed = first->list();
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(listed->size(), 100u);
}

TEST_P(IssuanceStoreTest, ASerialOneStoreInsertedIsADuplicateForTheOther) {
    auto first = database().open();
    auto second = database().open();
    ASSERT_EQ(*first->insert(record("0ABC", 1'700'000'000)), InsertOutcome::Inserted);
    auto again = second->insert(record("0abc", 1'700'000'001));
    ASSERT_TRUE(again.ok()) << again.error().message;
    EXPECT_EQ(*again, InsertOutcome::DuplicateSerial);
    EXPECT_EQ(first->list()->size(), 1u);
}

// Both servers draw the same serial at once: exactly one insert wins, the others are told to issue again.
TEST_P(IssuanceStoreTest, RacingInsertsOfOneSerialInsertItOnce) {
    auto first = database().open();
    auto second = database().open();
    std::atomic<int> inserted{0};
    std::atomic<int> duplicates{0};
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
        IssuanceStore* store = (t % 2 == 0 ? first : second).get();
        threads.emplace_back([&, store, t] {
            for (int i = 0; i < 10; ++i) {
                auto outcome = store->insert(record("5E" + std::to_string(i), 1'700'000'000 + t));
                if (!outcome.ok()) {
                    ++failures;
                } else if (*outcome == InsertOutcome::Inserted) {
                    ++inserted;
                } else {
                    ++duplicates;
                }
            }
        });
    }
    for (std::thread& thread : threads)
        thread.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(inserted.load(), 10);
    EXPECT_EQ(duplicates.load(), 50);
    EXPECT_EQ(first->list()->size(), 10u);
}

TEST_P(IssuanceStoreTest, OpeningAgainKeepsTheSchemaAndTheRecords) {
    {
        auto store = database().open();
        ASSERT_TRUE(store->insert(record("01", 1'700'000'000)).ok());
    }
    for (int i = 0; i < 2; ++i) {
        auto again = database().open();
        auto listed = again->list();
        ASSERT_TRUE(listed.ok()) << listed.error().message;
        EXPECT_EQ(serials(*listed), std::vector<std::string>{"01"});
    }
}

// Several servers started at once on an empty database: every one opens it, none sees a half-made schema.
TEST_P(IssuanceStoreTest, StoresOpenedTogetherOnAnEmptyDatabaseAllSucceed) {
    constexpr int kServers = 6;
    std::vector<std::unique_ptr<Database>> stores(kServers);
    std::vector<std::string> errors(kServers);
    std::vector<std::thread> threads;
    for (int i = 0; i < kServers; ++i) {
        threads.emplace_back([&, i] {
            auto opened = open_database(database().db());
            if (opened) {
                stores[i] = std::move(*opened);
            } else {
                errors[i] = opened.error().message;
            }
        });
    }
    for (std::thread& thread : threads)
        thread.join();
    for (int i = 0; i < kServers; ++i) {
        ASSERT_NE(stores[i], nullptr) << errors[i];
        auto inserted = stores[i]->insert(record("C" + std::to_string(i), 1'700'000'000));
        ASSERT_TRUE(inserted.ok()) << inserted.error().message;
        EXPECT_EQ(*inserted, InsertOutcome::Inserted);
    }
    EXPECT_EQ(stores[0]->list()->size(), static_cast<std::size_t>(kServers));
}

TEST_P(IssuanceStoreTest, ReadOnlyOpenOfAnEmptyDatabaseIsNotFound) {
    auto store = open_database(database().db(), DatabaseOptions{.read_only = true});
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status(), Status::NotFound) << store.error().message;
}

TEST_P(IssuanceStoreTest, ReadOnlyOpenListsWhatAWriterStored) {
    auto writer = database().open();
    ASSERT_TRUE(writer->insert(record("01", 1'700'000'000)).ok());
    auto reader = database().open(true);
    auto listed = reader->list();
    ASSERT_TRUE(listed.ok()) << listed.error().message;
    EXPECT_EQ(serials(*listed), std::vector<std::string>{"01"});
    EXPECT_EQ(reader->insert(record("02", 1'700'000'000)).status(), Status::Internal);
    EXPECT_EQ(writer->list()->size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, IssuanceStoreTest, testing::Values(Backend::Sqlite, Backend::Postgres),
                         fixtures::backend_name);

// ---- SQLite only ----

std::unique_ptr<SqliteStore> open_store(const std::filesystem::path& file) {
    auto store = SqliteStore::open(file);
    EXPECT_TRUE(store.ok()) << store.error().message;
    return store.ok() ? std::move(*store) : nullptr;
}

TEST(SqliteStore, UsesWriteAheadLogging) {
    const TempDir dir;
    auto store = open_store(dir.path() / "estgw.db");
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->insert(record("01", 1'700'000'000)).ok());
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "estgw.db-wal"));
}

TEST(SqliteStore, ReadOnlyOpenOfAMissingFileIsNotFoundAndCreatesNothing) {
    const TempDir dir;
    auto store = SqliteStore::open(dir.path() / "missing.db", SqliteOptions{true});
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status(), Status::NotFound);
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "missing.db"));
}

TEST(SqliteStore, ReadOnlyOpenWorksAfterTheWriterHasClosed) {
    // `estgw certs list` while the server is stopped: the WAL files are gone and must be recreated.
    const TempDir dir;
    {
        auto writer = open_store(dir.path() / "estgw.db");
        ASSERT_NE(writer, nullptr);
        ASSERT_TRUE(writer->insert(record("01", 1'700'000'000)).ok());
    }
    auto reader = SqliteStore::open(dir.path() / "estgw.db", SqliteOptions{true});
    ASSERT_TRUE(reader.ok()) << reader.error().message;
    auto listed = (*reader)->list();
    ASSERT_TRUE(listed.ok()) << listed.error().message;
    EXPECT_EQ(serials(*listed), std::vector<std::string>{"01"});
}

TEST(SqliteStore, RefusesAFileThatIsNotADatabase) {
    const TempDir dir;
    {
        std::ofstream(dir.path() / "junk.db")
            << "this is not an SQLite database, just some text that is long enough";
    }
    EXPECT_FALSE(SqliteStore::open(dir.path() / "junk.db").ok());
}

// ---- records and their listing ----

TEST(IssuanceRecord, IsMadeFromTheIssuedCertificate) {
    const IssuingCa ca = fixtures::make_ca();
    const EvpPkeyPtr key = test::make_key();
    const X509ReqPtr csr = test::make_csr("CN=device-9,O=Example", {}, key.get());
    auto cert = ca.issue(csr.get(), IssuanceProfile{});
    ASSERT_TRUE(cert.ok());
    const auto when = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
    auto r = make_issuance_record(cert->get(), IssuanceOperation::ServerKeyGen, "CN=pledge", when);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->serial, serial_hex(cert->get()));
    EXPECT_EQ(r->subject, "O=Example,CN=device-9");
    EXPECT_EQ(r->not_after - r->not_before, 365 * 86400 + 300);
    EXPECT_EQ(r->operation, IssuanceOperation::ServerKeyGen);
    EXPECT_EQ(r->client_subject, "CN=pledge");
    EXPECT_EQ(r->issued_at, 1'700'000'000);
    EXPECT_EQ(r->certificate_der, test::to_der(cert->get()));
}

TEST(IssuanceRecord, OperationNamesRoundTrip) {
    for (IssuanceOperation op : {IssuanceOperation::Enroll, IssuanceOperation::Renew,
                                 IssuanceOperation::Rekey, IssuanceOperation::ServerKeyGen}) {
        EXPECT_EQ(parse_operation_name(operation_name(op)), op);
    }
    EXPECT_FALSE(parse_operation_name("sen").has_value());
}

TEST(FormatIssuance, OneTabSeparatedLinePerCertificate) {
    IssuanceRecord r = record("7F3A", 1'700'000'000, IssuanceOperation::Renew);
    r.not_after = 1'731'536'000;
    EXPECT_EQ(format_issuance_line(r),
              "7F3A\tCN=device 7F3A\t2024-11-13T22:13:20Z\trenew\tCN=pledge,serialNumber=JADA123456789\t"
              "CN=estgw RA\t2023-11-14T22:13:20Z");
}

TEST(FormatIssuance, EmptyNamesBecomeADashAndControlCharactersAQuestionMark) {
    IssuanceRecord r = record("01", 0);
    r.subject = "CN=a\tb\nc";
    r.client_subject.clear();
    r.ra_subject.clear();
    const std::string line = format_issuance_line(r);
    EXPECT_NE(line.find("\tCN=a?b?c\t"), std::string::npos) << line;
    EXPECT_NE(line.find("\tenroll\t-\t-\t1970-01-01T00:00:00Z"), std::string::npos) << line;
}

TEST(FormatIssuance, ListStartsWithAHeaderNamingEveryColumn) {
    EXPECT_EQ(format_issuance_list({}),
              "serial\tsubject\tnot-after\toperation\tclient-subject\tra-subject\tissued-at\n");
    const std::string line = format_issuance_line(record("01", 1));
    EXPECT_EQ(std::count(line.begin(), line.end(), '\t'),
              std::count(kIssuanceListHeader.begin(), kIssuanceListHeader.end(), '\t'));
}

TEST(FormatIssuance, ListEndsEveryLineWithANewline) {
    const std::string text = format_issuance_list({record("02", 2), record("01", 1)});
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3);
    EXPECT_EQ(text.find("\n02\t"), kIssuanceListHeader.size());
}

// ---- `estgw certs list --json` ----

TEST(FormatIssuanceJson, NoRecordsIsAnEmptyArray) {
    const test::JsonValue json = test::JsonReader::parse(format_issuance_json({}));
    EXPECT_TRUE(json.array().empty());
}

TEST(FormatIssuanceJson, EveryFieldOfEveryRecordInOrder) {
    IssuanceRecord renewed = record("7F3A", 1'700'000'000, IssuanceOperation::Renew);
    renewed.not_after = 1'731'536'000;
    const std::string text = format_issuance_json({renewed, record("01", 0)});
    const test::JsonValue json = test::JsonReader::parse(text);
    ASSERT_EQ(json.array().size(), 2u) << text;
    const test::JsonValue& first = json.array()[0];
    EXPECT_EQ(first.object().size(), 9u) << text;
    EXPECT_EQ(first["serial"].string(), "7F3A");
    EXPECT_EQ(first["subject"].string(), "CN=device 7F3A");
    EXPECT_EQ(first["not_before"].string(), "2023-11-14T22:08:20Z");
    EXPECT_EQ(first["not_after"].string(), "2024-11-13T22:13:20Z");
    EXPECT_EQ(first["operation"].string(), "renew");
    EXPECT_EQ(first["client_subject"].string(), "CN=pledge,serialNumber=JADA123456789");
    EXPECT_EQ(first["ra_subject"].string(), "CN=estgw RA");
    EXPECT_EQ(first["issued_at"].string(), "2023-11-14T22:13:20Z");
    EXPECT_EQ(pem_decode(first["certificate"].string(), "CERTIFICATE").value(), renewed.certificate_der);
    EXPECT_EQ(json.array()[1]["serial"].string(), "01");
}

TEST(FormatIssuanceJson, AbsentClientAndRaSubjectsAreNull) {
    IssuanceRecord r = record("01", 0);
    r.client_subject.clear();
    r.ra_subject.clear();
    const test::JsonValue json = test::JsonReader::parse(format_issuance_json({r}));
    EXPECT_TRUE(json.array()[0]["client_subject"].is_null());
    EXPECT_TRUE(json.array()[0]["ra_subject"].is_null());
}

// Names are given as stored, escaped where JSON needs it (RFC 2253 escapes '"' and ',' with a backslash).
TEST(FormatIssuanceJson, NamesWithQuotesBackslashesAndControlCharactersStayValidJson) {
    IssuanceRecord r = record("01", 0);
    r.subject = "CN=\\\"quoted\\\"\\, Inc.\tx";
    r.ra_subject = std::string("CN=ra\x01\xff", 7);
    const test::JsonValue json = test::JsonReader::parse(format_issuance_json({r}));
    EXPECT_EQ(json.array()[0]["subject"].string(), r.subject);
    EXPECT_EQ(json.array()[0]["ra_subject"].string(), "CN=ra\x01\xEF\xBF\xBD");
}

}  // namespace
}  // namespace estgw::certs
