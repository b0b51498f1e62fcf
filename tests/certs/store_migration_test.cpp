// Database files written by an older estgw keep working: the issuance store adds what a file lacks when a
// server opens it, and `estgw certs list` (read-only, so it may not) reads an old file as it is.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <stdexcept>

#include "certs/sqlite_store.hpp"
#include "tests/certs/certs_fixtures.hpp"

namespace estgw::certs {
namespace {

using fixtures::TempDir;

// The schema estgw wrote as version 1, before the RA subject was recorded: word for word, so that the test
// opens what such a release left on disk.
constexpr const char* kVersion1Schema = R"sql(
CREATE TABLE IF NOT EXISTS issuance (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    serial         TEXT    NOT NULL UNIQUE,
    subject        TEXT    NOT NULL,
    not_before     INTEGER NOT NULL,
    not_after      INTEGER NOT NULL,
    operation      TEXT    NOT NULL,
    client_subject TEXT    NOT NULL,
    issued_at      INTEGER NOT NULL,
    certificate    BLOB    NOT NULL
);
CREATE INDEX IF NOT EXISTS issuance_newest ON issuance (issued_at DESC, id DESC);
PRAGMA user_version = 1;
INSERT INTO issuance (serial, subject, not_before, not_after, operation, client_subject, issued_at,
                      certificate)
    VALUES ('0A1B', 'CN=old device', 1699999700, 1731536000, 'enroll', 'CN=estgw RA', 1700000000, x'3000');
)sql";

// The schema estgw wrote as version 2, before the pledge journal: word for word, as above.
constexpr const char* kVersion2Schema = R"sql(
CREATE TABLE IF NOT EXISTS issuance (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    serial         TEXT    NOT NULL UNIQUE,
    subject        TEXT    NOT NULL,
    not_before     INTEGER NOT NULL,
    not_after      INTEGER NOT NULL,
    operation      TEXT    NOT NULL,
    client_subject TEXT    NOT NULL,
    issued_at      INTEGER NOT NULL,
    certificate    BLOB    NOT NULL,
    ra_subject     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS issuance_newest ON issuance (issued_at DESC, id DESC);
PRAGMA user_version = 2;
INSERT INTO issuance (serial, subject, not_before, not_after, operation, client_subject, issued_at,
                      certificate, ra_subject)
    VALUES ('0A2B', 'CN=device', 1699999700, 1731536000, 'enroll', 'CN=pledge', 1700000000, x'3000',
            'CN=estgw RA');
)sql";

// Raw SQL on a file, to set one up as another release would have, or to look at what estgw left.
class RawDatabase {
  public:
    explicit RawDatabase(const std::filesystem::path& file) {
        if (sqlite3_open(file.c_str(), &db_) != SQLITE_OK)
            throw std::runtime_error("cannot open " + file.string());
    }
    ~RawDatabase() { sqlite3_close(db_); }
    RawDatabase(const RawDatabase&) = delete;
    RawDatabase& operator=(const RawDatabase&) = delete;

    void exec(const char* sql) {
        char* message = nullptr;
        if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
            std::string text = message ? message : "?";
            sqlite3_free(message);
            throw std::runtime_error(text);
        }
    }
    int user_version() {
        sqlite3_stmt* statement = nullptr;
        sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &statement, nullptr);
        const int version = sqlite3_step(statement) == SQLITE_ROW ? sqlite3_column_int(statement, 0) : -1;
        sqlite3_finalize(statement);
        return version;
    }

  private:
    sqlite3* db_ = nullptr;
};

std::filesystem::path version_1_file(const TempDir& dir) {
    const auto file = dir.path() / "estgw.db";
    RawDatabase(file).exec(kVersion1Schema);
    return file;
}

std::filesystem::path version_2_file(const TempDir& dir) {
    const auto file = dir.path() / "estgw.db";
    RawDatabase(file).exec(kVersion2Schema);
    return file;
}

const JourneyEvent kEnrolled{PledgeKey{"CN=mfg", "0A1B"},
                             "pledge-0001",
                             JourneyStep::Enrolled,
                             1700000000000,
                             {{"ldevid_serial", "0A2C"}, {"operation", "enroll"}}};

TEST(StoreMigration, AServerOpeningAVersion1FileAddsTheRaSubjectAndKeepsTheRecords) {
    const TempDir dir;
    const auto file = version_1_file(dir);
    auto store = SqliteStore::open(file);
    ASSERT_TRUE(store.ok()) << store.error().message;
    auto old = (*store)->find("0A1B");
    ASSERT_TRUE(old.ok()) << old.error().message;
    ASSERT_TRUE(old->has_value());
    EXPECT_EQ((*old)->subject, "CN=old device");
    EXPECT_EQ((*old)->client_subject, "CN=estgw RA");
    EXPECT_EQ((*old)->ra_subject, "");

    IssuanceRecord fresh = **old;
    fresh.serial = "0A1C";
    fresh.client_subject = "CN=pledge";
    fresh.ra_subject = "CN=estgw RA";
    ASSERT_EQ(*(*store)->insert(fresh), InsertOutcome::Inserted);
    auto found = (*store)->find("0A1C");
    ASSERT_TRUE(found.ok() && found->has_value());
    EXPECT_EQ(**found, fresh);
    EXPECT_EQ(RawDatabase(file).user_version(), 3);
}

TEST(StoreMigration, AVersion1FileGetsTheJournalToo) {
    const TempDir dir;
    const auto file = version_1_file(dir);
    auto store = SqliteStore::open(file);
    ASSERT_TRUE(store.ok()) << store.error().message;
    ASSERT_TRUE((*store)->record(kEnrolled).ok());
    auto journey = (*store)->journey("pledge-0001");
    ASSERT_TRUE(journey.ok()) << journey.error().message;
    EXPECT_EQ(*journey, std::vector<JourneyEvent>{kEnrolled});
}

TEST(StoreMigration, AServerOpeningAVersion2FileAddsTheJournalAndKeepsTheRecords) {
    const TempDir dir;
    const auto file = version_2_file(dir);
    auto store = SqliteStore::open(file);
    ASSERT_TRUE(store.ok()) << store.error().message;
    EXPECT_EQ(RawDatabase(file).user_version(), 3);
    auto old = (*store)->find("0a2b");
    ASSERT_TRUE(old.ok()) << old.error().message;
    ASSERT_TRUE(old->has_value());
    EXPECT_EQ((*old)->ra_subject, "CN=estgw RA");
    auto empty = (*store)->pledges();
    ASSERT_TRUE(empty.ok()) << empty.error().message;
    EXPECT_TRUE(empty->empty());

    ASSERT_TRUE((*store)->record(kEnrolled).ok());
    auto pledge = (*store)->pledge_of_ldevid("0A2C");
    ASSERT_TRUE(pledge.ok()) << pledge.error().message;
    EXPECT_EQ(*pledge, kEnrolled.pledge);
    store->reset();
    auto again = SqliteStore::open(file);
    ASSERT_TRUE(again.ok()) << again.error().message;
    auto journey = (*again)->journey("0A1B");
    ASSERT_TRUE(journey.ok()) << journey.error().message;
    EXPECT_EQ(journey->size(), 1u);
}

TEST(StoreMigration, ReadOnlyOpenListsAVersion2FileWithoutChangingItAndFindsNoPledges) {
    const TempDir dir;
    const auto file = version_2_file(dir);
    auto reader = SqliteStore::open(file, SqliteOptions{.read_only = true});
    ASSERT_TRUE(reader.ok()) << reader.error().message;
    auto listed = (*reader)->list();
    ASSERT_TRUE(listed.ok()) << listed.error().message;
    ASSERT_EQ(listed->size(), 1u);
    EXPECT_EQ(listed->front().serial, "0A2B");
    auto pledges = (*reader)->pledges();
    ASSERT_TRUE(pledges.ok()) << pledges.error().message;
    EXPECT_TRUE(pledges->empty());
    auto journey = (*reader)->journey("0A1B");
    ASSERT_TRUE(journey.ok()) << journey.error().message;
    EXPECT_TRUE(journey->empty());
    auto ldevid = (*reader)->pledge_of_ldevid("0A2C");
    ASSERT_TRUE(ldevid.ok()) << ldevid.error().message;
    EXPECT_FALSE(ldevid->has_value());
    auto voucher = (*reader)->voucher_issued(kEnrolled.pledge);
    ASSERT_TRUE(voucher.ok()) << voucher.error().message;
    EXPECT_FALSE(*voucher);
    EXPECT_EQ(RawDatabase(file).user_version(), 2);
}

TEST(StoreMigration, OpeningTheMigratedFileAgainChangesNothing) {
    const TempDir dir;
    const auto file = version_1_file(dir);
    ASSERT_TRUE(SqliteStore::open(file).ok());
    auto again = SqliteStore::open(file);
    ASSERT_TRUE(again.ok()) << again.error().message;
    auto listed = (*again)->list();
    ASSERT_TRUE(listed.ok()) << listed.error().message;
    EXPECT_EQ(listed->size(), 1u);
}

TEST(StoreMigration, ReadOnlyOpenListsAVersion1FileWithoutChangingIt) {
    const TempDir dir;
    const auto file = version_1_file(dir);
    auto reader = SqliteStore::open(file, SqliteOptions{.read_only = true});
    ASSERT_TRUE(reader.ok()) << reader.error().message;
    auto listed = (*reader)->list();
    ASSERT_TRUE(listed.ok()) << listed.error().message;
    ASSERT_EQ(listed->size(), 1u);
    EXPECT_EQ(listed->front().serial, "0A1B");
    EXPECT_EQ(listed->front().ra_subject, "");
    EXPECT_EQ(RawDatabase(file).user_version(), 1);
}

TEST(StoreMigration, AVersion4FileIsRefusedEitherWayAndLeftAsItIs) {
    const TempDir dir;
    const auto file = version_2_file(dir);
    RawDatabase(file).exec("PRAGMA user_version = 4");
    for (bool read_only : {false, true}) {
        auto store = SqliteStore::open(file, SqliteOptions{.read_only = read_only});
        ASSERT_FALSE(store.ok());
        EXPECT_NE(store.error().message.find("version 4"), std::string::npos) << store.error().message;
    }
    EXPECT_EQ(RawDatabase(file).user_version(), 4);
}

TEST(StoreMigration, AFileFromANewerEstgwIsRefusedEitherWay) {
    const TempDir dir;
    const auto file = version_1_file(dir);
    RawDatabase(file).exec("PRAGMA user_version = 99");
    for (bool read_only : {false, true}) {
        auto store = SqliteStore::open(file, SqliteOptions{.read_only = read_only});
        ASSERT_FALSE(store.ok());
        EXPECT_NE(store.error().message.find("99"), std::string::npos) << store.error().message;
    }
}

}  // namespace
}  // namespace estgw::certs
