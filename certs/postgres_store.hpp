// The issuance store and pledge journal on PostgreSQL (libpq): several estgw servers share one CA database.
//
// Concurrency: a small pool of connections (DatabaseOptions::connections), each used by one thread at a time.
// A pool rather than one mutex-guarded connection because an insert's cost is the commit's WAL flush on the
// database server: with one connection every worker would wait for every other worker's flush in turn, while
// concurrent commits on several connections share flushes (PostgreSQL's group commit). Connections open
// lazily up to the limit; a thread finding all busy waits for one.
//
// Failures: a connection found broken (the server restarted, a proxy dropped it) is discarded and the
// operation tried once more on a fresh connection, so that a restart of PostgreSQL costs no failed
// enrollment. Should the first attempt have committed before the connection broke, the retried insert finds
// its own serial taken and returns DuplicateSerial: the CA then issues again under a new serial, so the
// record of the answer that goes out is always there (the first record describes a certificate nobody got).
//
// Every statement is one autocommit statement, prepared once per connection: insert returns after the
// server's COMMIT (and its WAL flush as the server's synchronous_commit says: on, the default, is power-loss
// durable). Serial numbers are unique across every server by the UNIQUE constraint on issuance.serial.
//
// Schema: created at the first read-write open, under an advisory lock so that servers starting together on
// an empty database do not race; schema_version holds the version, shared with the SQLite store's numbering
// (the same tables and columns). A database with a newer schema is refused.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "certs/database.hpp"

namespace estgw::certs {

class PostgresStore final : public Database {
  public:
    // `uri`: a libpq connection URI or key=value string. Opens one connection at once (so that a wrong
    // address, password or schema fails here, not at the first enrollment).
    static Result<std::unique_ptr<PostgresStore>> open(std::string_view uri,
                                                       const DatabaseOptions& options = {});
    ~PostgresStore() override;
    PostgresStore(const PostgresStore&) = delete;
    PostgresStore& operator=(const PostgresStore&) = delete;

    Result<InsertOutcome> insert(const IssuanceRecord& record) override;
    Result<std::vector<IssuanceRecord>> list(std::size_t limit = 0) override;
    Result<std::optional<IssuanceRecord>> find(std::string_view serial) override;

    Result<void> record(const JourneyEvent& event) override;
    Result<std::vector<PledgeSummary>> pledges() override;
    Result<std::vector<JourneyEvent>> journey(std::string_view serial) override;
    Result<std::optional<PledgeKey>> pledge_of_ldevid(std::string_view ldevid_serial) override;
    Result<bool> voucher_issued(const PledgeKey& pledge) override;

    struct Pool;  // the connections; defined in postgres_store.cpp, where its helpers need its name
  private:
    struct Token {};  // only open() constructs, yet through std::make_unique

  public:
    PostgresStore(Token, std::unique_ptr<Pool> pool);

  private:
    std::unique_ptr<Pool> pool_;
};

}  // namespace estgw::certs
