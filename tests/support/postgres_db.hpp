// A real PostgreSQL for tests: the cluster tests/support/postgres.sh starts, and a fresh database on it per
// test, so that tests running at once (ctest -j) never see each other's rows.
#pragma once

#include <string>
#include <vector>

namespace estgw::test {

// The cluster's connection URI: $ESTGW_TEST_PG_URI, else line 2 of the file $ESTGW_TEST_PG_STATE (what the
// CTest fixture tests/support/postgres_fixture.sh writes), else a cluster this process starts with
// postgres.sh and stops at exit. Throws std::runtime_error saying why when there is none (PostgreSQL not
// installed: `./estgw.sh deps`).
const std::string& postgres_cluster_uri();

// `uri` with its database name replaced by `database`.
std::string with_database(const std::string& uri, const std::string& database);

// Runs `sql` (no parameters; tests only) on `uri`; returns the first column of every row as text. Throws
// with the server's message on failure.
std::vector<std::string> postgres_query(const std::string& uri, const std::string& sql);

// A database of its own on the test cluster, dropped (with any connection still open to it) on destruction.
class PostgresDatabase {
  public:
    PostgresDatabase();
    ~PostgresDatabase();
    PostgresDatabase(const PostgresDatabase&) = delete;
    PostgresDatabase& operator=(const PostgresDatabase&) = delete;

    const std::string& uri() const { return uri_; }
    const std::string& name() const { return name_; }

  private:
    std::string name_;
    std::string uri_;
};

}  // namespace estgw::test
