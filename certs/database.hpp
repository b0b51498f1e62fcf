// The database of full-server mode: the issuance store and the pledge journal in one, on SQLite (a file, the
// default) or PostgreSQL (several servers sharing one CA database, docs/SCALING.md). `estgw serve --db`,
// `estgw certs list --db` and `estgw pledges list|show --db` open it through open_database.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "certs/journal.hpp"
#include "certs/store.hpp"
#include "common/result.hpp"

namespace estgw::certs {

class Database : public IssuanceStore, public PledgeJournal {};

struct DatabaseOptions {
    // `certs list`, `pledges`: nothing is created, migrated or written; a missing database is NotFound.
    bool read_only = false;
    // SQLite: how long a writer waits for another process's lock.
    int busy_timeout_ms = 5000;
    // PostgreSQL: connections opened at most (one per worker thread that may write at once).
    std::size_t connections = 4;
    // PostgreSQL: how long opening a connection may take, unless the URI sets connect_timeout.
    std::chrono::seconds connect_timeout{10};
};

// "postgresql://…" or "postgres://…" (a libpq connection URI) is PostgreSQL; anything else an SQLite file.
bool is_postgres_uri(std::string_view db);

// What may be shown of `db` in messages and logs: a URI's password (in the user-info or a password=
// parameter) becomes "***"; a file name is returned as it is.
std::string redact_database(std::string_view db);

// Opens, and unless read_only creates or migrates, the database `db` names. Errors are one line naming the
// database (redacted).
Result<std::unique_ptr<Database>> open_database(std::string_view db, const DatabaseOptions& options = {});

}  // namespace estgw::certs
