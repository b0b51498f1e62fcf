// What only the PostgreSQL store does: one-line errors that name the database without its password, a
// newer schema refused, a connection the server dropped replaced, text PostgreSQL cannot hold made valid.
// The behaviour it shares with SQLite is in the store suites (store_backends.hpp).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "certs/postgres_store.hpp"
#include "support/postgres_db.hpp"

namespace estgw::certs {
namespace {

IssuanceRecord record(const std::string& serial) {
    IssuanceRecord r;
    r.serial = serial;
    r.subject = "CN=device " + serial;
    r.not_before = 1'700'000'000;
    r.not_after = 1'800'000'000;
    r.client_subject = "CN=pledge";
    r.issued_at = 1'700'000'000;
    r.certificate_der = {0x30, 0x00};
    return r;
}

std::unique_ptr<PostgresStore> open_store(const std::string& uri) {
    auto store = PostgresStore::open(uri);
    if (!store) throw std::runtime_error(store.error().message);
    return std::move(*store);
}

// The URI's password: between "user:" and '@'.
std::string password_of(const std::string& uri) {
    const std::size_t at = uri.find('@');
    const std::size_t colon = uri.find(':', uri.find("://") + 3);
    return uri.substr(colon + 1, at - colon - 1);
}

TEST(PostgresStore, ANewerSchemaIsRefusedNamingTheDatabaseButNotItsPassword) {
    const test::PostgresDatabase database;
    open_store(database.uri());
    test::postgres_query(database.uri(), "UPDATE schema_version SET version = 4");
    for (bool read_only : {false, true}) {
        auto store = PostgresStore::open(database.uri(), DatabaseOptions{.read_only = read_only});
        ASSERT_FALSE(store.ok());
        const std::string& message = store.error().message;
        EXPECT_NE(message.find("schema version 4"), std::string::npos) << message;
        EXPECT_NE(message.find(redact_database(database.uri())), std::string::npos) << message;
        EXPECT_EQ(message.find(password_of(database.uri())), std::string::npos) << message;
    }
}

TEST(PostgresStore, TheSchemaIsCreatedOnceWhateverTheNumberOfOpens) {
    const test::PostgresDatabase database;
    for (int i = 0; i < 3; ++i)
        open_store(database.uri());
    EXPECT_EQ(test::postgres_query(database.uri(), "SELECT version FROM schema_version"),
              std::vector<std::string>{"3"});
}

TEST(PostgresStore, AWrongPasswordIsOneLineWithoutThePassword) {
    const test::PostgresDatabase database;
    std::string uri = database.uri();
    const std::string password = password_of(uri);
    uri.replace(uri.find(password), password.size(), "not-the-password");
    auto store = PostgresStore::open(uri);
    ASSERT_FALSE(store.ok());
    const std::string& message = store.error().message;
    EXPECT_NE(message.find("password authentication failed"), std::string::npos) << message;
    EXPECT_NE(message.find(":***@127.0.0.1"), std::string::npos) << message;
    EXPECT_EQ(message.find("not-the-password"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

TEST(PostgresStore, AnUnreachableServerIsOneLineNamingIt) {
    // A port nothing listens on: bound, never listened, closed at the end.
    const int holder = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(holder, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    socklen_t length = sizeof address;
    ::getsockname(holder, reinterpret_cast<sockaddr*>(&address), &length);
    const std::string port = std::to_string(ntohs(address.sin_port));
    auto store = PostgresStore::open("postgresql://estgw:secret@127.0.0.1:" + port + "/estgw");
    ::close(holder);
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status(), Status::ServiceUnavailable);
    const std::string& message = store.error().message;
    EXPECT_EQ(
        message.rfind("database postgresql://estgw:***@127.0.0.1:" + port + "/estgw: cannot connect: ", 0),
        0u)
        << message;
    EXPECT_EQ(message.find("secret"), std::string::npos) << message;
    EXPECT_EQ(message.find_first_of("\n\t"), std::string::npos) << message;
}

TEST(PostgresStore, ReadOnlyOpenCannotWriteEvenWithSql) {
    const test::PostgresDatabase database;
    open_store(database.uri());
    auto reader = PostgresStore::open(database.uri(), DatabaseOptions{.read_only = true});
    ASSERT_TRUE(reader.ok()) << reader.error().message;
    auto inserted = (*reader)->insert(record("01"));
    ASSERT_FALSE(inserted.ok());
    EXPECT_NE(inserted.error().message.find("read-only"), std::string::npos) << inserted.error().message;
}

// A restart of PostgreSQL, or a proxy closing idle connections: the next operation connects again.
TEST(PostgresStore, ConnectionsTheServerTerminatedAreReplacedWithoutAFailure) {
    const test::PostgresDatabase database;
    auto store = open_store(database.uri());
    // Several connections in the pool, all of which the server then drops: the retry must not take another
    // dead one.
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&store, t] {
            for (int i = 0; i < 50; ++i)
                (void)store->insert(record("F" + std::to_string(t) + "0" + std::to_string(i)));
        });
    }
    for (std::thread& thread : threads)
        thread.join();
    ASSERT_EQ(*store->insert(record("01")), InsertOutcome::Inserted);
    const auto terminated = test::postgres_query(test::postgres_cluster_uri(),
                                                 "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                                 "WHERE application_name = 'estgw' AND datname = '" +
                                                     database.name() + "'");
    ASSERT_GE(terminated.size(), 2u);
    auto inserted = store->insert(record("02"));
    ASSERT_TRUE(inserted.ok()) << inserted.error().message;
    EXPECT_EQ(*inserted, InsertOutcome::Inserted);
    auto listed = store->list();
    ASSERT_TRUE(listed.ok()) << listed.error().message;
    EXPECT_EQ(listed->size(), 202u);
}

TEST(PostgresStore, NoMoreConnectionsThanConfiguredAreOpened) {
    const test::PostgresDatabase database;
    auto store = PostgresStore::open(database.uri(), DatabaseOptions{.connections = 2});
    ASSERT_TRUE(store.ok()) << store.error().message;
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < 6; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 10; ++i) {
                if (!(*store)->insert(record(std::to_string(t) + "A" + std::to_string(i))).ok()) ++failures;
            }
        });
    }
    for (std::thread& thread : threads)
        thread.join();
    EXPECT_EQ(failures.load(), 0);
    const auto connections = test::postgres_query(
        test::postgres_cluster_uri(),
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'estgw' AND datname = '" +
            database.name() + "'");
    ASSERT_EQ(connections.size(), 1u);
    EXPECT_LE(std::stoi(connections.front()), 2);
    EXPECT_EQ((*store)->list()->size(), 60u);
}

// PostgreSQL text holds neither NUL nor invalid UTF-8 (SQLite keeps any bytes): what a pledge put there is
// recorded with U+FFFD in their place rather than failing the step.
TEST(PostgresStore, ANulOrInvalidUtf8InAStepIsRecordedAsAReplacementCharacter) {
    const test::PostgresDatabase database;
    auto store = open_store(database.uri());
    const JourneyEvent event{PledgeKey{"CN=mfg", "0A"},
                             std::string("dev\xff", 4),
                             JourneyStep::EnrollStatus,
                             1,
                             {{"reason", std::string("a\0b", 3)}}};
    auto recorded = store->record(event);
    ASSERT_TRUE(recorded.ok()) << recorded.error().message;
    auto journey = store->journey("0A");
    ASSERT_TRUE(journey.ok()) << journey.error().message;
    ASSERT_EQ(journey->size(), 1u);
    EXPECT_EQ(journey->front().device_serial, "dev\xEF\xBF\xBD");
    EXPECT_EQ(journey->front().fields.front().second,
              "a\xEF\xBF\xBD"
              "b");
    auto by_device = store->journey(std::string("dev\xff", 4));
    ASSERT_TRUE(by_device.ok()) << by_device.error().message;
    EXPECT_EQ(by_device->size(), 1u);
}

}  // namespace
}  // namespace estgw::certs
