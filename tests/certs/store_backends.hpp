// The store suites (store_test.cpp, journal_store_test.cpp) run against every database back end: a fresh
// SQLite file and a fresh database on a real PostgreSQL (tests/support/postgres_db.hpp). Their names end in
// "/sqlite" or "/postgres"; tests/CMakeLists.txt runs the PostgreSQL half with the cluster fixture.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "certs/database.hpp"
#include "support/postgres_db.hpp"
#include "tests/certs/certs_fixtures.hpp"

namespace estgw::certs::fixtures {

enum class Backend { Sqlite, Postgres };

inline std::string backend_name(const testing::TestParamInfo<Backend>& info) {
    return info.param == Backend::Sqlite ? "sqlite" : "postgres";
}

// Readable test names in ctest ("# GetParam() = postgres") instead of a byte dump.
inline void PrintTo(Backend backend, std::ostream* os) {
    *os << (backend == Backend::Sqlite ? "sqlite" : "postgres");
}

// A fresh, empty database of the test's back end; what open_database takes names it.
class TestDatabase {
  public:
    explicit TestDatabase(Backend backend) {
        if (backend == Backend::Sqlite) {
            dir_.emplace();
            db_ = (dir_->path() / "estgw.db").string();
        } else {
            postgres_ = std::make_unique<test::PostgresDatabase>();
            db_ = postgres_->uri();
        }
    }
    const std::string& db() const { return db_; }

    // Throws (failing the test with the message) when the database cannot be opened.
    std::unique_ptr<Database> open(bool read_only = false, std::size_t connections = 4) const {
        auto database =
            open_database(db_, DatabaseOptions{.read_only = read_only, .connections = connections});
        if (!database) throw std::runtime_error(database.error().message);
        return std::move(*database);
    }

  private:
    std::optional<TempDir> dir_;
    std::unique_ptr<test::PostgresDatabase> postgres_;
    std::string db_;
};

// A test of the store suites: database() is fresh for each test.
class StoreTest : public testing::TestWithParam<Backend> {
  protected:
    void SetUp() override { database_ = std::make_unique<TestDatabase>(GetParam()); }
    const TestDatabase& database() const { return *database_; }

  private:
    std::unique_ptr<TestDatabase> database_;
};

}  // namespace estgw::certs::fixtures
