#include "support/postgres_db.hpp"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <stdexcept>

#include "support/process.hpp"

namespace estgw::test {

namespace {

struct ConnectionCloser {
    void operator()(PGconn* connection) const noexcept { PQfinish(connection); }
};
struct ResultClearer {
    void operator()(PGresult* result) const noexcept { PQclear(result); }
};

// A cluster of this process's own, for running a test binary by hand: started at the first use, stopped
// when the process exits.
class OwnCluster {
  public:
    OwnCluster() {
        dir_ = "/tmp/estgw-pg-" + std::to_string(::getpid());
        const RunResult started = run_command(
            {"bash", "-c", std::string(ESTGW_POSTGRES_SH) + " start " + dir_ + " 2>" + dir_ + ".log"},
            std::chrono::seconds(120));
        std::string log;
        {
            std::ifstream in(dir_ + ".log");
            log.assign(std::istreambuf_iterator<char>(in), {});
        }
        std::remove((dir_ + ".log").c_str());
        if (started.exit_code != 0) {
            throw std::runtime_error("no PostgreSQL for the tests: postgres.sh start failed: " + log);
        }
        uri_ = started.output.substr(0, started.output.find('\n'));
    }
    ~OwnCluster() { (void)run_command({ESTGW_POSTGRES_SH, "stop", dir_}, std::chrono::seconds(60)); }
    const std::string& uri() const { return uri_; }

  private:
    std::string dir_;
    std::string uri_;
};

std::string find_uri() {
    if (const char* uri = std::getenv("ESTGW_TEST_PG_URI"); uri != nullptr && *uri != '\0') return uri;
    if (const char* state = std::getenv("ESTGW_TEST_PG_STATE"); state != nullptr && *state != '\0') {
        std::ifstream in(state);
        std::string dir, uri;
        if (!std::getline(in, dir) || !std::getline(in, uri) || uri.empty()) {
            throw std::runtime_error(std::string("no PostgreSQL for the tests: ") + state +
                                     " holds no URI (did the postgres/start fixture fail? Is Debian's "
                                     "postgresql installed? ./estgw.sh deps installs it)");
        }
        return uri;
    }
    static OwnCluster cluster;
    return cluster.uri();
}

}  // namespace

const std::string& postgres_cluster_uri() {
    static const std::string uri = find_uri();
    return uri;
}

std::string with_database(const std::string& uri, const std::string& database) {
    const std::size_t authority = uri.find("://");
    const std::size_t slash = uri.find('/', authority == std::string::npos ? 0 : authority + 3);
    if (slash == std::string::npos) return uri + "/" + database;
    const std::size_t end = std::min(uri.find('?', slash), uri.size());
    return uri.substr(0, slash + 1) + database + uri.substr(end);
}

std::vector<std::string> postgres_query(const std::string& uri, const std::string& sql) {
    std::unique_ptr<PGconn, ConnectionCloser> connection(PQconnectdb(uri.c_str()));
    if (PQstatus(connection.get()) != CONNECTION_OK) {
        throw std::runtime_error("test PostgreSQL: " + std::string(PQerrorMessage(connection.get())));
    }
    std::unique_ptr<PGresult, ResultClearer> result(PQexec(connection.get(), sql.c_str()));
    const ExecStatusType status = PQresultStatus(result.get());
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
        throw std::runtime_error("test PostgreSQL: " + sql + ": " + PQresultErrorMessage(result.get()));
    }
    std::vector<std::string> rows;
    for (int row = 0; row < PQntuples(result.get()); ++row)
        rows.emplace_back(PQgetvalue(result.get(), row, 0));
    return rows;
}

PostgresDatabase::PostgresDatabase() {
    // Unique among the processes of a run (a PID is reused only after the process is gone, but a process
    // killed mid-test leaves its database behind): the PID, a counter and a random part.
    static std::atomic<int> counter{0};
    name_ = "t" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
            std::to_string(std::random_device{}() % 1'000'000);
    const std::string& cluster = postgres_cluster_uri();
    postgres_query(cluster, "CREATE DATABASE " + name_);
    uri_ = with_database(cluster, name_);
}

PostgresDatabase::~PostgresDatabase() {
    try {
        postgres_query(postgres_cluster_uri(), "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (const std::exception&) {
        // The cluster may be gone already (stopped at the end of a run); its folder goes with it.
    }
}

}  // namespace estgw::test
