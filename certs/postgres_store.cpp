#include "certs/postgres_store.hpp"

#include <libpq-fe.h>

#include <array>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <utility>
#include <vector>

#include "certs/sql_rows.hpp"
#include "common/bytes.hpp"
#include "common/log.hpp"

namespace estgw::certs {

namespace {

struct ConnectionCloser {
    void operator()(PGconn* connection) const noexcept { PQfinish(connection); }
};
using ConnectionPtr = std::unique_ptr<PGconn, ConnectionCloser>;

struct ResultClearer {
    void operator()(PGresult* result) const noexcept { PQclear(result); }
};
using PgResultPtr = std::unique_ptr<PGresult, ResultClearer>;

// The SQLite store's numbering (certs/sqlite_store.cpp): version 3 has issuance with ra_subject and the
// journey table, which is what PostgreSQL databases were created with from the start. A later version adds
// its migration from 3 here, in the same transaction as the check.
constexpr int kSchemaVersion = 3;

// pg_advisory_xact_lock's key for creating or migrating the schema: "estgw" in ASCII, arbitrary but fixed.
constexpr const char* kSchemaLock = "SELECT pg_advisory_xact_lock(435475768183)";

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS schema_version (
    version integer NOT NULL
);
CREATE TABLE IF NOT EXISTS issuance (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    serial         text   NOT NULL UNIQUE,
    subject        text   NOT NULL,
    not_before     bigint NOT NULL,
    not_after      bigint NOT NULL,
    operation      text   NOT NULL,
    client_subject text   NOT NULL,
    issued_at      bigint NOT NULL,
    certificate    bytea  NOT NULL,
    ra_subject     text   NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS issuance_newest ON issuance (issued_at DESC, id DESC);
CREATE TABLE IF NOT EXISTS journey (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idevid_issuer text   NOT NULL,
    idevid_serial text   NOT NULL,
    device_serial text   NOT NULL,
    step          text   NOT NULL,
    at_ms         bigint NOT NULL,
    fields        json   NOT NULL,
    ldevid_serial text
);
CREATE INDEX IF NOT EXISTS journey_pledge ON journey (idevid_serial, idevid_issuer, at_ms, id);
CREATE INDEX IF NOT EXISTS journey_device ON journey (device_serial);
CREATE INDEX IF NOT EXISTS journey_ldevid ON journey (ldevid_serial) WHERE ldevid_serial IS NOT NULL;
CREATE INDEX IF NOT EXISTS journey_newest ON journey (at_ms DESC, id DESC);
)sql";

#define ESTGW_ISSUANCE_COLUMNS \
    "serial, subject, not_before, not_after, operation, client_subject, issued_at, certificate, ra_subject"
// One row per field of each event (and one, with a NULL key, for an event without fields), ordered so that
// an event's rows are adjacent; json_each_text WITH ORDINALITY keeps the order the fields were written in.
#define ESTGW_EVENT_COLUMNS \
    "j.idevid_issuer, j.idevid_serial, j.device_serial, j.step, j.at_ms, j.id, f.key, f.value"
#define ESTGW_EVENT_FIELDS \
    "LEFT JOIN LATERAL json_each_text(j.fields) WITH ORDINALITY AS f(key, value, n) ON true"
constexpr int kEventColumnCount = 8;

// Every statement, prepared on each connection before its first use.
enum Statement : std::size_t {
    kInsertIssuance,
    kListIssuance,
    kFindIssuance,
    kRecordStep,
    kPledges,
    kJourney,
    kPledgeOfLdevid,
    kVoucherIssued,
    kStatementCount,
};
constexpr std::array<const char*, kStatementCount> kStatements = {
    // ON CONFLICT on the serial alone: a duplicate returns no row rather than failing, and any other
    // constraint still fails loudly. A concurrent insert of the same serial waits for the other to commit.
    "INSERT INTO issuance (" ESTGW_ISSUANCE_COLUMNS
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (serial) DO NOTHING RETURNING id",
    // LIMIT NULL is no limit.
    "SELECT " ESTGW_ISSUANCE_COLUMNS " FROM issuance ORDER BY issued_at DESC, id DESC LIMIT $1::bigint",
    "SELECT " ESTGW_ISSUANCE_COLUMNS " FROM issuance WHERE serial = $1",
    "INSERT INTO journey (idevid_issuer, idevid_serial, device_serial, step, at_ms, fields, ldevid_serial) "
    "VALUES ($1, $2, $3, $4, $5, $6::json, $7)",
    // The latest step of each pledge is the one a correlated sub-query finds through journey_pledge. MAX in
    // the "C" collation compares bytes, as SQLite does.
    "WITH summary AS (SELECT MAX(p.device_serial COLLATE \"C\") AS device_serial, MIN(p.at_ms) AS first_ms, "
    "COUNT(*) AS steps, (SELECT l.id FROM journey AS l WHERE l.idevid_serial = p.idevid_serial AND "
    "l.idevid_issuer = p.idevid_issuer ORDER BY l.at_ms DESC, l.id DESC LIMIT 1) AS latest_id "
    "FROM journey AS p GROUP BY p.idevid_serial, p.idevid_issuer) "
    "SELECT " ESTGW_EVENT_COLUMNS
    ", s.device_serial, s.first_ms, s.steps FROM summary AS s "
    "JOIN journey AS j ON j.id = s.latest_id " ESTGW_EVENT_FIELDS " ORDER BY j.at_ms DESC, j.id DESC, f.n",
    "WITH wanted AS (SELECT idevid_issuer, idevid_serial, MIN(id) AS first_id FROM journey "
    "WHERE device_serial = $1 OR idevid_serial = $2 GROUP BY idevid_serial, idevid_issuer) "
    "SELECT " ESTGW_EVENT_COLUMNS
    " FROM wanted AS w JOIN journey AS j ON j.idevid_serial = w.idevid_serial "
    "AND j.idevid_issuer = w.idevid_issuer " ESTGW_EVENT_FIELDS " ORDER BY w.first_id, j.at_ms, j.id, f.n",
    "SELECT idevid_issuer, idevid_serial FROM journey WHERE ldevid_serial = $1 ORDER BY id DESC LIMIT 1",
    "SELECT 1 FROM journey WHERE idevid_serial = $1 AND idevid_issuer = $2 AND step = $3 LIMIT 1",
};
#undef ESTGW_ISSUANCE_COLUMNS
#undef ESTGW_EVENT_COLUMNS
#undef ESTGW_EVENT_FIELDS

// libpq's messages end in a newline and may span lines, the later ones indented by a tab ("connection to
// server ... failed: Connection refused\n\tIs the server running ..."): one line for logs and the command
// line, every run of white space one blank.
std::string one_line(const char* message) {
    std::string out;
    for (const char* c = message; c != nullptr && *c != '\0'; ++c) {
        const bool blank = *c == '\n' || *c == '\t' || *c == '\r' || *c == ' ';
        if (!blank) {
            out += *c;
        } else if (!out.empty() && out.back() != ' ') {
            out += ' ';
        }
    }
    while (!out.empty() && out.back() == ' ')
        out.pop_back();
    return out;
}

// Text columns hold valid UTF-8 without NUL (the database's encoding); SQLite keeps any bytes. What a
// pledge may put in a name or a status reason (a NUL, invalid UTF-8) becomes U+FFFD, as the JSON writer does
// with the journal's fields, so that recording a step never fails on its text. Lookups pass through the same.
std::string valid_text(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    const ByteView bytes = as_bytes(text);
    for (std::size_t i = 0; i < bytes.size();) {
        const std::size_t length = utf8_sequence_length(bytes, i);
        if (length == 0 || text[i] == '\0') {
            out += "\xEF\xBF\xBD";
            ++i;
        } else {
            out.append(text.substr(i, length));
            i += length;
        }
    }
    return out;
}

// The fields of a step with NUL replaced: json accepts "\u0000" but json_each_text cannot turn it into text.
std::string fields_json(const std::vector<std::pair<std::string, std::string>>& fields) {
    std::vector<std::pair<std::string, std::string>> valid;
    valid.reserve(fields.size());
    for (const auto& [name, value] : fields)
        valid.emplace_back(valid_text(name), valid_text(value));
    return journey_fields_json(valid);
}

// Statement parameters: text (PostgreSQL converts to the column's type), bytes or NULL.
class Params {
  public:
    Params& text(std::string value) {
        storage_.push_back(std::move(value));
        values_.push_back(storage_.back().c_str());
        lengths_.push_back(static_cast<int>(storage_.back().size()));
        formats_.push_back(0);
        return *this;
    }
    Params& integer(std::int64_t value) { return text(std::to_string(value)); }
    Params& bytes(const Bytes& value) {  // `value` outlives the statement
        values_.push_back(reinterpret_cast<const char*>(value.data()));
        lengths_.push_back(static_cast<int>(value.size()));
        formats_.push_back(1);
        return *this;
    }
    Params& null() {
        values_.push_back(nullptr);
        lengths_.push_back(0);
        formats_.push_back(0);
        return *this;
    }
    int count() const { return static_cast<int>(values_.size()); }
    const char* const* values() const { return values_.data(); }
    const int* lengths() const { return lengths_.data(); }
    const int* formats() const { return formats_.data(); }

  private:
    std::deque<std::string> storage_;  // stable addresses for values_
    std::vector<const char*> values_;
    std::vector<int> lengths_;
    std::vector<int> formats_;
};

// Results come in binary: text as its bytes, bigint as 8 bytes in network order, bytea as its bytes.
std::string column_text(const PGresult* result, int row, int column) {
    return std::string(PQgetvalue(result, row, column),
                       static_cast<std::size_t>(PQgetlength(result, row, column)));
}

std::int64_t column_int64(const PGresult* result, int row, int column) {
    if (PQgetlength(result, row, column) != 8) return 0;  // every integer column selected is a bigint
    const auto* bytes = reinterpret_cast<const unsigned char*>(PQgetvalue(result, row, column));
    std::uint64_t value = 0;
    for (int i = 0; i < 8; ++i)
        value = (value << 8) | bytes[i];
    return static_cast<std::int64_t>(value);
}

Bytes column_bytes(const PGresult* result, int row, int column) {
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(PQgetvalue(result, row, column));
    return Bytes(bytes, bytes + PQgetlength(result, row, column));
}

struct Connection {
    ConnectionPtr handle;
    bool prepared = false;
};

}  // namespace

struct PostgresStore::Pool {
    std::string uri;
    std::string name;  // redacted, for messages
    DatabaseOptions options;
    std::mutex mutex;
    std::condition_variable returned;
    std::vector<Connection> idle;
    std::size_t open = 0;  // idle and lent

    Error error(std::string_view what, PGconn* connection) const {
        return make_error(Status::Internal, "database " + name + ": " + std::string(what) + ": " +
                                                one_line(PQerrorMessage(connection)));
    }
    Error error(std::string_view what, const PGresult* result) const {
        return make_error(Status::Internal, "database " + name + ": " + std::string(what) + ": " +
                                                one_line(PQresultErrorMessage(result)));
    }

    Result<Connection> connect() const {
        // Defaults a URI may override: keywords after dbname (the expanded URI) would override the URI's.
        // Keepalives and tcp_user_timeout bound how long a worker can wait on a database that vanished from
        // the network (rather than closing its connections): about a minute instead of TCP's quarter hour.
        const std::string timeout = std::to_string(options.connect_timeout.count());
        struct Default {
            const char* key;
            const char* value;
        };
        const Default defaults[] = {
            {"application_name", "estgw"}, {"connect_timeout", timeout.c_str()},
            {"keepalives_idle", "30"},     {"keepalives_interval", "10"},
            {"keepalives_count", "3"},     {"tcp_user_timeout", "60000"},
            {"dbname", uri.c_str()},
        };
        std::vector<const char*> keys, values;
        for (const Default& d : defaults) {
            keys.push_back(d.key);
            values.push_back(d.value);
        }
        keys.push_back(nullptr);
        values.push_back(nullptr);
        ConnectionPtr connection(PQconnectdbParams(keys.data(), values.data(), 1));
        if (!connection)
            return make_error(Status::ServiceUnavailable, "database " + name + ": out of memory");
        if (PQstatus(connection.get()) != CONNECTION_OK) {
            return make_error(Status::ServiceUnavailable, "database " + name + ": cannot connect: " +
                                                              one_line(PQerrorMessage(connection.get())));
        }
        if (options.read_only) {
            PgResultPtr set(PQexec(connection.get(), "SET default_transaction_read_only = on"));
            if (PQresultStatus(set.get()) != PGRES_COMMAND_OK) return error("read-only session", set.get());
        }
        return Connection{std::move(connection), false};
    }

    Result<void> prepare(Connection& connection) const {
        for (std::size_t i = 0; i < kStatements.size(); ++i) {
            const std::string statement_name = "estgw_" + std::to_string(i);
            PgResultPtr prepared(
                PQprepare(connection.handle.get(), statement_name.c_str(), kStatements[i], 0, nullptr));
            if (PQresultStatus(prepared.get()) != PGRES_COMMAND_OK) return error("prepare", prepared.get());
        }
        connection.prepared = true;
        return {};
    }
};

namespace {

// One connection lent by the pool; given back at the end of the scope, or closed when it broke.
class Lease {
  public:
    Lease(PostgresStore::Pool& pool, Connection connection)
        : pool_(&pool), connection_(std::move(connection)) {}
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)), connection_(std::move(other.connection_)) {}
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
        if (pool_ == nullptr) return;
        const std::lock_guard lock(pool_->mutex);
        if (broken()) {
            --pool_->open;
            // The others were most likely opened to the same server incarnation (a restart, a failover):
            // closed now, so that the retry connects afresh rather than meets another dead connection.
            pool_->open -= pool_->idle.size();
            pool_->idle.clear();
        } else {
            pool_->idle.push_back(std::move(connection_));
        }
        pool_->returned.notify_all();
    }

    bool broken() const { return PQstatus(connection_.handle.get()) != CONNECTION_OK; }

    Result<PgResultPtr> execute(Statement statement, const Params& params) {
        if (!connection_.prepared) {
            if (auto r = pool_->prepare(connection_); !r) return r.error();
        }
        const std::string name = "estgw_" + std::to_string(statement);
        PgResultPtr result(PQexecPrepared(connection_.handle.get(), name.c_str(), params.count(),
                                          params.values(), params.lengths(), params.formats(), 1));
        const ExecStatusType status = PQresultStatus(result.get());
        if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
            if (!result) return pool_->error("query", connection_.handle.get());
            return pool_->error("query", result.get());
        }
        return result;
    }

  private:
    PostgresStore::Pool* pool_;
    Connection connection_;
};

Result<Lease> acquire(PostgresStore::Pool& pool) {
    std::unique_lock lock(pool.mutex);
    pool.returned.wait(lock, [&pool] { return !pool.idle.empty() || pool.open < pool.options.connections; });
    if (!pool.idle.empty()) {
        Connection connection = std::move(pool.idle.back());
        pool.idle.pop_back();
        return Lease(pool, std::move(connection));
    }
    ++pool.open;
    lock.unlock();
    auto connection = pool.connect();
    if (!connection) {
        lock.lock();
        --pool.open;
        pool.returned.notify_one();
        return connection.error();
    }
    return Lease(pool, std::move(*connection));
}

// Runs `statement` on a pooled connection; once more on a fresh one when the connection turned out broken.
Result<PgResultPtr> run(PostgresStore::Pool& pool, Statement statement, const Params& params) {
    for (int attempt = 0;; ++attempt) {
        ESTGW_TRY(lease, acquire(pool));
        auto result = lease.execute(statement, params);
        if (result.ok() || !lease.broken() || attempt == 1) return result;
        log::warn("store.reconnect", {{"db", pool.name}, {"error", result.error().message}});
    }
}

Result<IssuanceRecord> read_record(const PostgresStore::Pool& pool, const PGresult* result, int row) {
    IssuanceRecord record;
    record.serial = column_text(result, row, 0);
    record.subject = column_text(result, row, 1);
    record.not_before = column_int64(result, row, 2);
    record.not_after = column_int64(result, row, 3);
    const std::string operation = column_text(result, row, 4);
    const auto parsed = parse_operation_name(operation);
    if (!parsed) {
        return make_error(Status::Internal, "database " + pool.name + ": unknown operation '" + operation +
                                                "' in record " + record.serial);
    }
    record.operation = *parsed;
    record.client_subject = column_text(result, row, 5);
    record.issued_at = column_int64(result, row, 6);
    record.certificate_der = column_bytes(result, row, 7);
    record.ra_subject = column_text(result, row, 8);
    return record;
}

Result<std::vector<IssuanceRecord>> read_records(const PostgresStore::Pool& pool, const PGresult* result) {
    std::vector<IssuanceRecord> records;
    const int rows = PQntuples(result);
    records.reserve(static_cast<std::size_t>(rows));
    for (int row = 0; row < rows; ++row) {
        ESTGW_TRY(record, read_record(pool, result, row));
        records.push_back(std::move(record));
    }
    return records;
}

// The events of the rows of `result` (ESTGW_EVENT_COLUMNS first); `on_event(row)` sees the first row of
// each, for columns selected after them.
template <typename OnEvent>
Result<std::vector<JourneyEvent>> read_events(const PostgresStore::Pool& pool, const PGresult* result,
                                              OnEvent on_event) {
    std::vector<JourneyEvent> events;
    std::int64_t current_id = 0;
    const int rows = PQntuples(result);
    for (int row = 0; row < rows; ++row) {
        const std::int64_t id = column_int64(result, row, 5);
        if (events.empty() || id != current_id) {
            current_id = id;
            JourneyEvent event;
            event.pledge.idevid_issuer = column_text(result, row, 0);
            event.pledge.idevid_serial = column_text(result, row, 1);
            event.device_serial = column_text(result, row, 2);
            const std::string step = column_text(result, row, 3);
            const auto parsed = parse_journey_step_name(step);
            if (!parsed) {
                return make_error(Status::Internal, "database " + pool.name + ": unknown journey step '" +
                                                        step + "' in row " + std::to_string(id));
            }
            event.step = *parsed;
            event.at_ms = column_int64(result, row, 4);
            events.push_back(std::move(event));
            on_event(row);
        }
        if (!PQgetisnull(result, row, 6)) {
            events.back().fields.emplace_back(column_text(result, row, 6), column_text(result, row, 7));
        }
    }
    return events;
}

Result<void> command(const PostgresStore::Pool& pool, PGconn* connection, const char* sql,
                     std::string_view what) {
    PgResultPtr result(PQexec(connection, sql));
    const ExecStatusType status = PQresultStatus(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        return result ? pool.error(what, result.get()) : pool.error(what, connection);
    }
    return {};
}

// The schema's version, 0 when the database has no schema_version table (nothing of estgw's).
Result<int> schema_version(const PostgresStore::Pool& pool, PGconn* connection) {
    PgResultPtr exists(PQexec(connection, "SELECT to_regclass('schema_version') IS NOT NULL"));
    if (PQresultStatus(exists.get()) != PGRES_TUPLES_OK) return pool.error("schema version", exists.get());
    if (column_text(exists.get(), 0, 0) != "t") return 0;
    PgResultPtr version(PQexec(connection, "SELECT coalesce(max(version), 0) FROM schema_version"));
    if (PQresultStatus(version.get()) != PGRES_TUPLES_OK) return pool.error("schema version", version.get());
    return std::stoi(column_text(version.get(), 0, 0));
}

Error newer_schema(const PostgresStore::Pool& pool, int version) {
    return make_error(Status::Internal,
                      "database " + pool.name + " has schema version " + std::to_string(version) +
                          ", newer than this estgw understands (" + std::to_string(kSchemaVersion) + ")");
}

// In one transaction under an advisory lock: servers starting together on an empty database take turns, and
// the second finds the first's schema. CREATE ... IF NOT EXISTS alone is not enough: two of them racing for
// one name fail on the catalog's unique index.
Result<void> create_schema(const PostgresStore::Pool& pool, PGconn* connection) {
    if (auto r = command(pool, connection, "BEGIN", "begin"); !r) return r;
    auto in_transaction = [&]() -> Result<void> {
        if (auto r = command(pool, connection, kSchemaLock, "schema lock"); !r) return r;
        ESTGW_TRY(version, schema_version(pool, connection));
        if (version > kSchemaVersion) return newer_schema(pool, version);
        if (version == kSchemaVersion) return {};
        if (version != 0) {
            return make_error(Status::Internal, "database " + pool.name + " has schema version " +
                                                    std::to_string(version) +
                                                    ", which no PostgreSQL store wrote");
        }
        if (auto r = command(pool, connection, kSchema, "create schema"); !r) return r;
        const std::string set_version =
            "INSERT INTO schema_version (version) VALUES (" + std::to_string(kSchemaVersion) + ")";
        if (auto r = command(pool, connection, set_version.c_str(), "schema version"); !r) return r;
        log::info("store.created", {{"db", pool.name}, {"version", kSchemaVersion}});
        return {};
    };
    if (auto r = in_transaction(); !r) {
        PgResultPtr rollback(PQexec(connection, "ROLLBACK"));
        return r;
    }
    return command(pool, connection, "COMMIT", "commit");
}

}  // namespace

PostgresStore::PostgresStore(Token, std::unique_ptr<Pool> pool) : pool_(std::move(pool)) {}

PostgresStore::~PostgresStore() = default;

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(std::string_view uri,
                                                           const DatabaseOptions& options) {
    auto pool = std::make_unique<Pool>();
    pool->uri = std::string(uri);
    pool->name = redact_database(uri);
    pool->options = options;
    if (pool->options.connections == 0) pool->options.connections = 1;
    ESTGW_TRY(connection, pool->connect());
    if (options.read_only) {
        ESTGW_TRY(version, schema_version(*pool, connection.handle.get()));
        if (version == 0) {
            return make_error(
                Status::NotFound,
                "database " + pool->name + " holds no estgw tables (a server creates them at start)");
        }
        if (version > kSchemaVersion) return newer_schema(*pool, version);
    } else {
        if (auto r = create_schema(*pool, connection.handle.get()); !r) return r.error();
    }
    if (auto r = pool->prepare(connection); !r) return r.error();
    pool->idle.push_back(std::move(connection));
    pool->open = 1;
    return std::make_unique<PostgresStore>(Token{}, std::move(pool));
}

Result<InsertOutcome> PostgresStore::insert(const IssuanceRecord& record) {
    Params params;
    params.text(uppercase_serial(record.serial))
        .text(valid_text(record.subject))
        .integer(record.not_before)
        .integer(record.not_after)
        .text(std::string(operation_name(record.operation)))
        .text(valid_text(record.client_subject))
        .integer(record.issued_at)
        .bytes(record.certificate_der)
        .text(valid_text(record.ra_subject));
    ESTGW_TRY(result, run(*pool_, kInsertIssuance, params));
    return PQntuples(result.get()) == 1 ? InsertOutcome::Inserted : InsertOutcome::DuplicateSerial;
}

Result<std::vector<IssuanceRecord>> PostgresStore::list(std::size_t limit) {
    Params params;
    if (limit == 0 || limit > static_cast<std::size_t>(INT64_MAX)) {
        params.null();
    } else {
        params.integer(static_cast<std::int64_t>(limit));
    }
    ESTGW_TRY(result, run(*pool_, kListIssuance, params));
    return read_records(*pool_, result.get());
}

Result<std::optional<IssuanceRecord>> PostgresStore::find(std::string_view serial) {
    Params params;
    params.text(valid_text(uppercase_serial(serial)));
    ESTGW_TRY(result, run(*pool_, kFindIssuance, params));
    ESTGW_TRY(records, read_records(*pool_, result.get()));
    if (records.empty()) return std::optional<IssuanceRecord>{};
    return std::optional<IssuanceRecord>(std::move(records.front()));
}

Result<void> PostgresStore::record(const JourneyEvent& event) {
    if (event.pledge.idevid_serial.empty() || event.pledge.idevid_issuer.empty()) {
        return make_error(Status::Internal, "pledge journal: a " +
                                                std::string(journey_step_name(event.step)) +
                                                " step without the pledge's IDevID issuer and serial");
    }
    const std::string ldevid_serial = linked_ldevid_serial(event);
    Params params;
    params.text(valid_text(event.pledge.idevid_issuer))
        .text(valid_text(uppercase_serial(event.pledge.idevid_serial)))
        .text(valid_text(event.device_serial))
        .text(std::string(journey_step_name(event.step)))
        .integer(event.at_ms)
        .text(fields_json(event.fields));
    if (ldevid_serial.empty()) {
        params.null();
    } else {
        params.text(valid_text(ldevid_serial));
    }
    if (auto r = run(*pool_, kRecordStep, params); !r) return r.error();
    return {};
}

Result<std::vector<PledgeSummary>> PostgresStore::pledges() {
    ESTGW_TRY(result, run(*pool_, kPledges, Params{}));
    std::vector<PledgeSummary> summaries;
    const PGresult* rows = result.get();
    ESTGW_TRY(latest, read_events(*pool_, rows, [&summaries, rows](int row) {
                  PledgeSummary summary;
                  summary.device_serial = column_text(rows, row, kEventColumnCount);
                  summary.first_ms = column_int64(rows, row, kEventColumnCount + 1);
                  summary.steps = static_cast<std::size_t>(column_int64(rows, row, kEventColumnCount + 2));
                  summaries.push_back(std::move(summary));
              }));
    for (std::size_t i = 0; i < summaries.size(); ++i) {
        summaries[i].pledge = latest[i].pledge;
        summaries[i].latest = std::move(latest[i]);
    }
    return summaries;
}

Result<std::vector<JourneyEvent>> PostgresStore::journey(std::string_view serial) {
    if (serial.empty()) return std::vector<JourneyEvent>{};
    Params params;
    params.text(valid_text(serial)).text(valid_text(uppercase_serial(serial)));
    ESTGW_TRY(result, run(*pool_, kJourney, params));
    return read_events(*pool_, result.get(), [](int) {});
}

Result<std::optional<PledgeKey>> PostgresStore::pledge_of_ldevid(std::string_view ldevid_serial) {
    if (ldevid_serial.empty()) return std::optional<PledgeKey>{};
    Params params;
    params.text(valid_text(uppercase_serial(ldevid_serial)));
    ESTGW_TRY(result, run(*pool_, kPledgeOfLdevid, params));
    if (PQntuples(result.get()) == 0) return std::optional<PledgeKey>{};
    return std::optional<PledgeKey>(
        PledgeKey{column_text(result.get(), 0, 0), column_text(result.get(), 0, 1)});
}

Result<bool> PostgresStore::voucher_issued(const PledgeKey& pledge) {
    Params params;
    params.text(valid_text(uppercase_serial(pledge.idevid_serial)))
        .text(valid_text(pledge.idevid_issuer))
        .text(std::string(journey_step_name(JourneyStep::VoucherIssued)));
    ESTGW_TRY(result, run(*pool_, kVoucherIssued, params));
    return PQntuples(result.get()) > 0;
}

}  // namespace estgw::certs
