// The embedded issuance store and pledge journal: one SQLite file in WAL mode.
//
// Concurrency: one connection per SqliteStore, guarded by a mutex, so worker threads of one process take
// turns (SQLite admits one writer at a time anyway, and an insert is far cheaper than the signature before
// it). Other processes on the same file (a second server, `estgw certs list`) are handled by SQLite's
// locking: writes run in BEGIN IMMEDIATE transactions and wait up to busy_timeout_ms for the lock.
// Durability: synchronous=FULL, so a returned Inserted (or a recorded journey step) survives power loss, not
// only a crash.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>

#include "certs/database.hpp"

namespace estgw::certs {

struct SqliteOptions {
    bool read_only = false;  // `certs list`: the file must exist; nothing is created or written
    int busy_timeout_ms = 5000;
};

class SqliteStore final : public Database {
  public:
    // Creates the file and schema when missing (read-write only). A file with a newer schema is refused; an
    // older one is migrated when opened read-write, and read as it is when opened read-only (a file from
    // before the journal then has no pledges).
    static Result<std::unique_ptr<SqliteStore>> open(const std::filesystem::path& file,
                                                     const SqliteOptions& options = {});
    ~SqliteStore() override;
    SqliteStore(const SqliteStore&) = delete;
    SqliteStore& operator=(const SqliteStore&) = delete;

    Result<InsertOutcome> insert(const IssuanceRecord& record) override;
    Result<std::vector<IssuanceRecord>> list(std::size_t limit = 0) override;
    Result<std::optional<IssuanceRecord>> find(std::string_view serial) override;

    Result<void> record(const JourneyEvent& event) override;
    Result<std::vector<PledgeSummary>> pledges() override;
    Result<std::vector<JourneyEvent>> journey(std::string_view serial) override;
    Result<std::optional<PledgeKey>> pledge_of_ldevid(std::string_view ldevid_serial) override;
    Result<bool> voucher_issued(const PledgeKey& pledge) override;

  private:
    struct Connection;
    struct Token {};  // only open() constructs, yet through std::make_unique

  public:
    SqliteStore(Token, std::unique_ptr<Connection> connection);

  private:
    std::mutex mutex_;
    std::unique_ptr<Connection> connection_;
};

}  // namespace estgw::certs
