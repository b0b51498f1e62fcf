#include "certs/sqlite_store.hpp"

#include <sqlite3.h>

#include <chrono>
#include <climits>
#include <cstdint>
#include <thread>
#include <utility>

#include "certs/sql_rows.hpp"
#include "common/log.hpp"

namespace estgw::certs {

namespace {

struct DatabaseCloser {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using DatabasePtr = std::unique_ptr<sqlite3, DatabaseCloser>;

struct StatementFinalizer {
    void operator()(sqlite3_stmt* statement) const noexcept { sqlite3_finalize(statement); }
};
using StatementPtr = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

// Bumped whenever the schema changes; a newer file is refused rather than misread, an older one migrated.
//   1  the first
//   2  + ra_subject
//   3  + journey (the pledge journal)
constexpr int kSchemaVersion = 3;

constexpr const char* kSchema = R"sql(
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
CREATE TABLE IF NOT EXISTS journey (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    idevid_issuer TEXT    NOT NULL,
    idevid_serial TEXT    NOT NULL,
    device_serial TEXT    NOT NULL,
    step          TEXT    NOT NULL,
    at_ms         INTEGER NOT NULL,
    fields        TEXT    NOT NULL,
    ldevid_serial TEXT
);
CREATE INDEX IF NOT EXISTS journey_pledge ON journey (idevid_serial, idevid_issuer, at_ms, id);
CREATE INDEX IF NOT EXISTS journey_device ON journey (device_serial);
CREATE INDEX IF NOT EXISTS journey_ldevid ON journey (ldevid_serial) WHERE ldevid_serial IS NOT NULL;
CREATE INDEX IF NOT EXISTS journey_newest ON journey (at_ms DESC, id DESC);
)sql";

constexpr const char* kColumns =
    "serial, subject, not_before, not_after, operation, client_subject, issued_at, certificate, ra_subject";
// What a read-only connection selects from a version-1 file, which it may not migrate: `estgw certs list`
// keeps working on the database of a server that has not been restarted since the upgrade.
constexpr const char* kColumnsWithoutRaSubject =
    "serial, subject, not_before, not_after, operation, client_subject, issued_at, certificate, '' AS "
    "ra_subject";

Error database_error(sqlite3* db, std::string_view what) {
    return make_error(Status::Internal, "issuance store: " + std::string(what) + ": " +
                                            (db != nullptr ? sqlite3_errmsg(db) : "no database"));
}

Result<void> exec(sqlite3* db, const char* sql, std::string_view what) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return database_error(db, what);
    return {};
}

Result<StatementPtr> prepare(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &raw, nullptr);
    StatementPtr statement(raw);
    if (rc != SQLITE_OK) return database_error(db, "prepare");
    return statement;
}

// A statement prepared once for the connection's life (parsing the SQL cost about as many instructions as
// running it). Each use is reset and unbound when the Use ends, so the statement neither keeps a transaction
// open nor points at the caller's strings (bound SQLITE_STATIC).
class ReusedStatement {
  public:
    class Use {
      public:
        explicit Use(sqlite3_stmt* statement) : statement_(statement) {}
        Use(const Use&) = delete;
        Use& operator=(const Use&) = delete;
        ~Use() { done(); }
        sqlite3_stmt* get() const { return statement_; }
        // Before COMMIT: a statement that is still running would keep the transaction from committing
        // cleanly.
        void done() {
            if (statement_ == nullptr) return;
            sqlite3_reset(statement_);
            sqlite3_clear_bindings(statement_);
            statement_ = nullptr;
        }

      private:
        sqlite3_stmt* statement_;
    };

    explicit ReusedStatement(std::string sql) : sql_(std::move(sql)) {}
    // Call under the store's mutex.
    Result<sqlite3_stmt*> get(sqlite3* db) {
        if (!statement_) {
            ESTGW_TRY(prepared, prepare(db, sql_));
            statement_ = std::move(prepared);
        }
        return statement_.get();
    }

  private:
    std::string sql_;
    StatementPtr statement_;
};

// Rolls back unless committed: every early return leaves the database as it was.
class Transaction {
  public:
    static Result<Transaction> begin_immediate(sqlite3* db) {
        // IMMEDIATE takes the write lock up front (waiting through busy_timeout), so two writers never
        // deadlock upgrading a read lock, and a stale WAL snapshot cannot fail the insert half-way.
        if (auto r = exec(db, "BEGIN IMMEDIATE", "begin"); !r) return r.error();
        return Transaction(db);
    }
    Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
    Transaction& operator=(Transaction&&) = delete;
    ~Transaction() {
        if (db_ != nullptr) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    Result<void> commit() {
        sqlite3* db = std::exchange(db_, nullptr);
        if (auto r = exec(db, "COMMIT", "commit"); !r) {
            sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
            return r;
        }
        return {};
    }

  private:
    explicit Transaction(sqlite3* db) : db_(db) {}
    sqlite3* db_;
};

bool bind_text(sqlite3_stmt* statement, int index, const std::string& text) {
    return sqlite3_bind_text(statement, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC) ==
           SQLITE_OK;
}

std::string column_text(sqlite3_stmt* statement, int index) {
    const auto* text = sqlite3_column_text(statement, index);
    const int length = sqlite3_column_bytes(statement, index);
    return text != nullptr
               ? std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(length))
               : std::string();
}

Result<IssuanceRecord> read_record(sqlite3* db, sqlite3_stmt* statement) {
    IssuanceRecord record;
    record.serial = column_text(statement, 0);
    record.subject = column_text(statement, 1);
    record.not_before = sqlite3_column_int64(statement, 2);
    record.not_after = sqlite3_column_int64(statement, 3);
    const std::string operation = column_text(statement, 4);
    const auto parsed = parse_operation_name(operation);
    if (!parsed)
        return database_error(db, "unknown operation '" + operation + "' in record " + record.serial);
    record.operation = *parsed;
    record.client_subject = column_text(statement, 5);
    record.issued_at = sqlite3_column_int64(statement, 6);
    const auto* blob = static_cast<const std::uint8_t*>(sqlite3_column_blob(statement, 7));
    const int length = sqlite3_column_bytes(statement, 7);
    if (blob != nullptr) record.certificate_der.assign(blob, blob + length);
    record.ra_subject = column_text(statement, 8);
    return record;
}

Result<std::vector<IssuanceRecord>> read_all(sqlite3* db, sqlite3_stmt* statement) {
    std::vector<IssuanceRecord> records;
    for (;;) {
        const int rc = sqlite3_step(statement);
        if (rc == SQLITE_DONE) return records;
        if (rc != SQLITE_ROW) return database_error(db, "query");
        ESTGW_TRY(record, read_record(db, statement));
        records.push_back(std::move(record));
    }
}

Result<int> user_version(sqlite3* db) {
    ESTGW_TRY(statement, prepare(db, "PRAGMA user_version"));
    if (sqlite3_step(statement.get()) != SQLITE_ROW) return database_error(db, "schema version");
    return sqlite3_column_int(statement.get(), 0);
}

Result<bool> has_table(sqlite3* db, const std::string& name) {
    ESTGW_TRY(statement, prepare(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1"));
    if (!bind_text(statement.get(), 1, name)) return database_error(db, "bind");
    const int rc = sqlite3_step(statement.get());
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) return database_error(db, "sqlite_master");
    return false;
}

Result<bool> has_column(sqlite3* db, std::string_view name) {
    ESTGW_TRY(statement, prepare(db, "SELECT name FROM pragma_table_info('issuance')"));
    for (;;) {
        const int rc = sqlite3_step(statement.get());
        if (rc == SQLITE_DONE) return false;
        if (rc != SQLITE_ROW) return database_error(db, "table_info");
        if (column_text(statement.get(), 0) == name) return true;
    }
}

Result<void> create_schema(sqlite3* db) {
    ESTGW_TRY(transaction, Transaction::begin_immediate(db));
    ESTGW_TRY(version, user_version(db));
    if (version > kSchemaVersion) {
        return make_error(Status::Internal, "issuance store: schema version " + std::to_string(version) +
                                                " is newer than this estgw understands (" +
                                                std::to_string(kSchemaVersion) + ")");
    }
    if (version == kSchemaVersion) return transaction.commit();
    // CREATE ... IF NOT EXISTS leaves an older file's table as it is; what it lacks is added below.
    ESTGW_TRY(had_journey, has_table(db, "journey"));
    if (auto r = exec(db, kSchema, "create schema"); !r) return r;
    if (version > 0 && !had_journey) {
        log::info("store.migrated", {{"from", version}, {"to", kSchemaVersion}, {"added", "journey"}});
    }
    ESTGW_TRY(has_ra_subject, has_column(db, "ra_subject"));
    if (!has_ra_subject) {
        if (auto r = exec(db, "ALTER TABLE issuance ADD COLUMN ra_subject TEXT NOT NULL DEFAULT ''",
                          "add column ra_subject");
            !r) {
            return r;
        }
        log::info("store.migrated", {{"from", version}, {"to", kSchemaVersion}, {"added", "ra_subject"}});
    }
    const std::string set_version = "PRAGMA user_version = " + std::to_string(kSchemaVersion);
    if (auto r = exec(db, set_version.c_str(), "schema version"); !r) return r;
    return transaction.commit();
}

// What the journal queries select first, one row per field of each event (and one, with a NULL key, for an
// event without fields), ordered so that an event's rows are adjacent.
constexpr const char* kEventColumns =
    "j.idevid_issuer, j.idevid_serial, j.device_serial, j.step, j.at_ms, j.id, f.key, f.value";
constexpr int kEventColumnCount = 8;
constexpr const char* kEventFields = "LEFT JOIN json_each(j.fields) AS f";

// The events of the rows of `statement`; `on_event(statement)` sees the first row of each, for columns
// selected after kEventColumns.
template <typename OnEvent>
Result<std::vector<JourneyEvent>> read_events(sqlite3* db, sqlite3_stmt* statement, OnEvent on_event) {
    std::vector<JourneyEvent> events;
    sqlite3_int64 current_id = 0;
    for (;;) {
        const int rc = sqlite3_step(statement);
        if (rc == SQLITE_DONE) return events;
        if (rc != SQLITE_ROW) return database_error(db, "journal query");
        const sqlite3_int64 id = sqlite3_column_int64(statement, 5);
        if (events.empty() || id != current_id) {
            current_id = id;
            JourneyEvent event;
            event.pledge.idevid_issuer = column_text(statement, 0);
            event.pledge.idevid_serial = column_text(statement, 1);
            event.device_serial = column_text(statement, 2);
            const std::string step = column_text(statement, 3);
            const auto parsed = parse_journey_step_name(step);
            if (!parsed) {
                return database_error(db, "unknown journey step '" + step + "' in row " + std::to_string(id));
            }
            event.step = *parsed;
            event.at_ms = sqlite3_column_int64(statement, 4);
            events.push_back(std::move(event));
            on_event(statement);
        }
        if (sqlite3_column_type(statement, 6) != SQLITE_NULL) {
            events.back().fields.emplace_back(column_text(statement, 6), column_text(statement, 7));
        }
    }
}

// Switching a new file to WAL needs a lock that SQLite does not wait for through busy_timeout: when several
// servers open one new file at once, all but one can get SQLITE_BUSY here. They try again, for as long as
// busy_timeout would have waited.
Result<void> use_wal(sqlite3* db, std::chrono::milliseconds busy_timeout) {
    const auto give_up = std::chrono::steady_clock::now() + busy_timeout;
    ESTGW_TRY(statement, prepare(db, "PRAGMA journal_mode = WAL"));
    int rc = sqlite3_step(statement.get());
    while ((rc & 0xff) == SQLITE_BUSY && std::chrono::steady_clock::now() < give_up) {
        sqlite3_reset(statement.get());
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        rc = sqlite3_step(statement.get());
    }
    if (rc != SQLITE_ROW) return database_error(db, "journal_mode");
    const std::string mode = column_text(statement.get(), 0);
    // Some file systems (network mounts) cannot share WAL memory; SQLite then keeps its rollback journal,
    // which is slower under concurrency but still correct.
    if (mode != "wal") log::warn("store.journal_mode", {{"wanted", "wal"}, {"got", mode}});
    return {};
}

}  // namespace

struct SqliteStore::Connection {
    DatabasePtr db;
    // The two inserts of every enrollment. Declared after db, so finalized before it closes.
    ReusedStatement insert_issuance{std::string("INSERT INTO issuance (") + kColumns +
                                    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"};
    ReusedStatement insert_journey{
        "INSERT INTO journey (idevid_issuer, idevid_serial, device_serial, step, at_ms, fields, "
        "ldevid_serial) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"};
    const char* columns = kColumns;  // what list() and find() select
    // False only for a file from before the journal opened read-only: it has no pledges to show.
    bool has_journal = true;
};

SqliteStore::SqliteStore(Token, std::unique_ptr<Connection> connection)
    : connection_(std::move(connection)) {}

SqliteStore::~SqliteStore() = default;

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::filesystem::path& file,
                                                       const SqliteOptions& options) {
    if (options.read_only && !std::filesystem::exists(file)) {
        return make_error(Status::NotFound, "issuance store '" + file.string() + "' does not exist");
    }
    // NOMUTEX: SqliteStore's own mutex serializes every use of the connection.
    const int flags = SQLITE_OPEN_NOMUTEX |
                      (options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(file.c_str(), &raw, flags, nullptr);
    DatabasePtr db(raw);  // sqlite3_open_v2 may hand out a handle even when it fails
    if (rc != SQLITE_OK) return database_error(db.get(), "open '" + file.string() + "'");
    sqlite3_extended_result_codes(db.get(), 1);
    sqlite3_busy_timeout(db.get(), options.busy_timeout_ms);
    const char* columns = kColumns;
    bool has_journal = true;
    if (!options.read_only) {
        if (auto r = use_wal(db.get(), std::chrono::milliseconds(options.busy_timeout_ms)); !r)
            return r.error();
        if (auto r = exec(db.get(), "PRAGMA synchronous = FULL", "synchronous"); !r) return r.error();
        if (auto r = create_schema(db.get()); !r) return r.error();
    } else {
        ESTGW_TRY(version, user_version(db.get()));
        if (version < 1 || version > kSchemaVersion) {
            return make_error(Status::Internal, "issuance store '" + file.string() + "' has schema version " +
                                                    std::to_string(version) + ", expected 1 to " +
                                                    std::to_string(kSchemaVersion));
        }
        ESTGW_TRY(has_ra_subject, has_column(db.get(), "ra_subject"));
        if (!has_ra_subject) columns = kColumnsWithoutRaSubject;
        ESTGW_TRY(journal, has_table(db.get(), "journey"));
        has_journal = journal;
    }
    auto connection = std::make_unique<Connection>();
    connection->db = std::move(db);
    connection->columns = columns;
    connection->has_journal = has_journal;
    return std::make_unique<SqliteStore>(Token{}, std::move(connection));
}

Result<InsertOutcome> SqliteStore::insert(const IssuanceRecord& record) {
    const std::lock_guard lock(mutex_);
    sqlite3* db = connection_->db.get();
    const std::string serial = uppercase_serial(record.serial);
    const std::string operation(operation_name(record.operation));
    if (record.certificate_der.size() > static_cast<std::size_t>(INT_MAX)) {
        return make_error(Status::Internal, "issuance store: certificate too large");
    }
    ESTGW_TRY(transaction, Transaction::begin_immediate(db));
    ESTGW_TRY(prepared, connection_->insert_issuance.get(db));
    ReusedStatement::Use statement(prepared);
    sqlite3_stmt* s = statement.get();
    const bool bound =
        bind_text(s, 1, serial) && bind_text(s, 2, record.subject) &&
        sqlite3_bind_int64(s, 3, record.not_before) == SQLITE_OK &&
        sqlite3_bind_int64(s, 4, record.not_after) == SQLITE_OK && bind_text(s, 5, operation) &&
        bind_text(s, 6, record.client_subject) && sqlite3_bind_int64(s, 7, record.issued_at) == SQLITE_OK &&
        sqlite3_bind_blob(s, 8, record.certificate_der.data(),
                          static_cast<int>(record.certificate_der.size()), SQLITE_STATIC) == SQLITE_OK &&
        bind_text(s, 9, record.ra_subject);
    if (!bound) return database_error(db, "bind");
    const int rc = sqlite3_step(s);
    if (rc == SQLITE_CONSTRAINT_UNIQUE) return InsertOutcome::DuplicateSerial;  // the serial column
    if (rc != SQLITE_DONE) return database_error(db, "insert " + serial);
    statement.done();
    if (auto r = transaction.commit(); !r) return r.error();
    return InsertOutcome::Inserted;
}

Result<std::vector<IssuanceRecord>> SqliteStore::list(std::size_t limit) {
    const std::lock_guard lock(mutex_);
    sqlite3* db = connection_->db.get();
    ESTGW_TRY(statement, prepare(db, std::string("SELECT ") + connection_->columns +
                                         " FROM issuance ORDER BY issued_at DESC, id DESC LIMIT ?1"));
    // SQLite reads a negative LIMIT as "no limit".
    const sqlite3_int64 rows =
        limit == 0 || limit > static_cast<std::size_t>(INT64_MAX) ? -1 : static_cast<sqlite3_int64>(limit);
    if (sqlite3_bind_int64(statement.get(), 1, rows) != SQLITE_OK) return database_error(db, "bind");
    return read_all(db, statement.get());
}

Result<std::optional<IssuanceRecord>> SqliteStore::find(std::string_view serial) {
    const std::lock_guard lock(mutex_);
    sqlite3* db = connection_->db.get();
    const std::string wanted = uppercase_serial(serial);
    ESTGW_TRY(statement, prepare(db, std::string("SELECT ") + connection_->columns +
                                         " FROM issuance WHERE serial = ?1"));
    if (!bind_text(statement.get(), 1, wanted)) return database_error(db, "bind");
    ESTGW_TRY(records, read_all(db, statement.get()));
    if (records.empty()) return std::optional<IssuanceRecord>{};
    return std::optional<IssuanceRecord>(std::move(records.front()));
}

}  // namespace estgw::certs

namespace estgw::certs {

Result<void> SqliteStore::record(const JourneyEvent& event) {
    if (event.pledge.idevid_serial.empty() || event.pledge.idevid_issuer.empty()) {
        return make_error(Status::Internal, "pledge journal: a " +
                                                std::string(journey_step_name(event.step)) +
                                                " step without the pledge's IDevID issuer and serial");
    }
    const std::lock_guard lock(mutex_);
    sqlite3* db = connection_->db.get();
    const std::string idevid_serial = uppercase_serial(event.pledge.idevid_serial);
    const std::string step(journey_step_name(event.step));
    const std::string fields = journey_fields_json(event.fields);
    const std::string ldevid_serial = linked_ldevid_serial(event);
    ESTGW_TRY(transaction, Transaction::begin_immediate(db));
    ESTGW_TRY(prepared, connection_->insert_journey.get(db));
    ReusedStatement::Use statement(prepared);
    sqlite3_stmt* s = statement.get();
    const bool bound =
        bind_text(s, 1, event.pledge.idevid_issuer) && bind_text(s, 2, idevid_serial) &&
        bind_text(s, 3, event.device_serial) && bind_text(s, 4, step) &&
        sqlite3_bind_int64(s, 5, event.at_ms) == SQLITE_OK && bind_text(s, 6, fields) &&
        (ldevid_serial.empty() ? sqlite3_bind_null(s, 7) == SQLITE_OK : bind_text(s, 7, ldevid_serial));
    if (!bound) return database_error(db, "bind");
    if (sqlite3_step(s) != SQLITE_DONE) return database_error(db, "record " + step + " of " + idevid_serial);
    statement.done();
    return transaction.commit();
}

Result<std::vector<PledgeSummary>> SqliteStore::pledges() {
    const std::lock_guard lock(mutex_);
    if (!connection_->has_journal) return std::vector<PledgeSummary>{};
    sqlite3* db = connection_->db.get();
    // The latest step of each pledge is the one a correlated sub-query finds through journey_pledge.
    ESTGW_TRY(
        statement,
        prepare(db, std::string("WITH summary AS (SELECT MAX(p.device_serial) AS device_serial, "
                                "MIN(p.at_ms) AS first_ms, COUNT(*) AS steps, "
                                "(SELECT l.id FROM journey AS l WHERE l.idevid_serial = p.idevid_serial AND "
                                "l.idevid_issuer = p.idevid_issuer ORDER BY l.at_ms DESC, l.id DESC LIMIT 1) "
                                "AS latest_id FROM journey AS p GROUP BY p.idevid_serial, p.idevid_issuer) "
                                "SELECT ") +
                        kEventColumns +
                        ", s.device_serial, s.first_ms, s.steps FROM summary AS s JOIN journey AS j ON "
                        "j.id = s.latest_id " +
                        kEventFields + " ORDER BY j.at_ms DESC, j.id DESC, f.id"));
    std::vector<PledgeSummary> summaries;
    ESTGW_TRY(latest, read_events(db, statement.get(), [&summaries](sqlite3_stmt* row) {
                  PledgeSummary summary;
                  summary.device_serial = column_text(row, kEventColumnCount);
                  summary.first_ms = sqlite3_column_int64(row, kEventColumnCount + 1);
                  summary.steps = static_cast<std::size_t>(sqlite3_column_int64(row, kEventColumnCount + 2));
                  summaries.push_back(std::move(summary));
              }));
    for (std::size_t i = 0; i < summaries.size(); ++i) {
        summaries[i].pledge = latest[i].pledge;
        summaries[i].latest = std::move(latest[i]);
    }
    return summaries;
}

Result<std::vector<JourneyEvent>> SqliteStore::journey(std::string_view serial) {
    const std::lock_guard lock(mutex_);
    if (!connection_->has_journal || serial.empty()) return std::vector<JourneyEvent>{};
    sqlite3* db = connection_->db.get();
    const std::string device_serial(serial);
    const std::string idevid_serial = uppercase_serial(serial);
    ESTGW_TRY(
        statement,
        prepare(db, std::string("WITH wanted AS (SELECT idevid_issuer, idevid_serial, MIN(id) AS first_id "
                                "FROM journey WHERE device_serial = ?1 OR idevid_serial = ?2 "
                                "GROUP BY idevid_serial, idevid_issuer) SELECT ") +
                        kEventColumns +
                        " FROM wanted AS w JOIN journey AS j ON j.idevid_serial = w.idevid_serial AND "
                        "j.idevid_issuer = w.idevid_issuer " +
                        kEventFields + " ORDER BY w.first_id, j.at_ms, j.id, f.id"));
    if (!bind_text(statement.get(), 1, device_serial) || !bind_text(statement.get(), 2, idevid_serial)) {
        return database_error(db, "bind");
    }
    return read_events(db, statement.get(), [](sqlite3_stmt*) {});
}

Result<std::optional<PledgeKey>> SqliteStore::pledge_of_ldevid(std::string_view ldevid_serial) {
    const std::lock_guard lock(mutex_);
    if (!connection_->has_journal || ldevid_serial.empty()) return std::optional<PledgeKey>{};
    sqlite3* db = connection_->db.get();
    const std::string wanted = uppercase_serial(ldevid_serial);
    ESTGW_TRY(statement, prepare(db,
                                 "SELECT idevid_issuer, idevid_serial FROM journey WHERE ldevid_serial = ?1 "
                                 "ORDER BY id DESC LIMIT 1"));
    if (!bind_text(statement.get(), 1, wanted)) return database_error(db, "bind");
    const int rc = sqlite3_step(statement.get());
    if (rc == SQLITE_DONE) return std::optional<PledgeKey>{};
    if (rc != SQLITE_ROW) return database_error(db, "journal query");
    return std::optional<PledgeKey>(
        PledgeKey{column_text(statement.get(), 0), column_text(statement.get(), 1)});
}

Result<bool> SqliteStore::voucher_issued(const PledgeKey& pledge) {
    const std::lock_guard lock(mutex_);
    if (!connection_->has_journal) return false;
    sqlite3* db = connection_->db.get();
    const std::string idevid_serial = uppercase_serial(pledge.idevid_serial);
    const std::string step(journey_step_name(JourneyStep::VoucherIssued));
    ESTGW_TRY(statement, prepare(db,
                                 "SELECT 1 FROM journey WHERE idevid_serial = ?1 AND idevid_issuer = ?2 AND "
                                 "step = ?3 LIMIT 1"));
    if (!bind_text(statement.get(), 1, idevid_serial) ||
        !bind_text(statement.get(), 2, pledge.idevid_issuer) || !bind_text(statement.get(), 3, step)) {
        return database_error(db, "bind");
    }
    const int rc = sqlite3_step(statement.get());
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) return database_error(db, "journal query");
    return false;
}

}  // namespace estgw::certs
