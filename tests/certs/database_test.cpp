// open_database: which back end a --db value selects, and what of it may be shown.
#include "certs/database.hpp"

#include <gtest/gtest.h>

#include "tests/certs/certs_fixtures.hpp"

namespace estgw::certs {
namespace {

TEST(DatabaseUri, PostgresqlAndPostgresSchemesArePostgresql) {
    EXPECT_TRUE(is_postgres_uri("postgresql://estgw@db.example/estgw"));
    EXPECT_TRUE(is_postgres_uri("postgres:///estgw?host=/run/postgresql"));
    EXPECT_FALSE(is_postgres_uri("./estgw.db"));
    EXPECT_FALSE(is_postgres_uri("/var/lib/postgresql/estgw.db"));
    EXPECT_FALSE(is_postgres_uri("host=db dbname=estgw"));
}

TEST(DatabaseUri, ThePasswordOfTheUserInfoIsRedacted) {
    EXPECT_EQ(redact_database("postgresql://estgw:s3cret@127.0.0.1:5432/estgw"),
              "postgresql://estgw:***@127.0.0.1:5432/estgw");
    EXPECT_EQ(redact_database("postgres://u:p%40ss@db/x?sslmode=require"),
              "postgres://u:***@db/x?sslmode=require");
}

TEST(DatabaseUri, APasswordParameterIsRedacted) {
    EXPECT_EQ(redact_database("postgresql://db/estgw?user=estgw&password=s3cret&sslmode=verify-full"),
              "postgresql://db/estgw?user=estgw&password=***&sslmode=verify-full");
    EXPECT_EQ(redact_database("postgresql:///estgw?password=s3cret"), "postgresql:///estgw?password=***");
}

TEST(DatabaseUri, AUriWithoutPasswordAndAFileNameStayAsTheyAre) {
    EXPECT_EQ(redact_database("postgresql://estgw@db:5432/estgw"), "postgresql://estgw@db:5432/estgw");
    EXPECT_EQ(redact_database("postgresql://db/estgw"), "postgresql://db/estgw");
    EXPECT_EQ(redact_database("./a:b@c.db"), "./a:b@c.db");
}

TEST(DatabaseUri, AnythingElseIsAnSqliteFile) {
    const fixtures::TempDir dir;
    const std::string file = (dir.path() / "postgresql.db").string();
    auto database = open_database(file);
    ASSERT_TRUE(database.ok()) << database.error().message;
    EXPECT_TRUE(std::filesystem::exists(file));
}

}  // namespace
}  // namespace estgw::certs
