// `estgw serve --mode server --db postgresql://…` end to end: coap-client-openssl enrolls, and the record is
// in PostgreSQL before the answer (read here straight from the database, and by `estgw certs list`).
#include <gtest/gtest.h>

#include <cctype>

#include "common/x509.hpp"
#include "support/postgres_db.hpp"
#include "support/process.hpp"
#include "support/server_env.hpp"
#include "support/test_pki.hpp"

namespace estgw::test {
namespace {

std::string serial_of_file(const std::string& pem_file) {
    const X509Ptr cert = load_certificate(pem_file);
    if (!cert) return "";
    const ASN1_INTEGER* serial = X509_get0_serialNumber(cert.get());
    std::string hex = to_hex(ByteView(ASN1_STRING_get0_data(serial), ASN1_STRING_length(serial)));
    for (char& c : hex)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return hex;
}

std::string password_of(const std::string& uri) {
    const std::size_t colon = uri.find(':', uri.find("://") + 3);
    return uri.substr(colon + 1, uri.find('@') - colon - 1);
}

TEST(PostgresServer, AnEnrollmentIsRecordedInPostgresql) {
    const PostgresDatabase database;
    ServerEnv env;
    env.start({"--db", database.uri()});
    const Credentials ldevid = env.enroll("pg-ldevid", "CN=pg-ldevid-1", {"DNS:pg-ldevid-1.example"});
    const std::string serial = serial_of_file(ldevid.cert);
    ASSERT_FALSE(serial.empty());
    EXPECT_EQ(postgres_query(database.uri(), "SELECT serial FROM issuance WHERE subject = 'CN=pg-ldevid-1'"),
              std::vector<std::string>{serial});
    const RunResult listed =
        run_command({ESTGW_BINARY, "certs", "list", "--db", database.uri()}, std::chrono::seconds(10));
    EXPECT_EQ(listed.exit_code, 0) << listed.output;
    EXPECT_NE(listed.output.find(serial + "\tCN=pg-ldevid-1\t"), std::string::npos) << listed.output;
    // The enrollment over the IDevID's session is a step of that pledge's journey, in the same database.
    const RunResult pledges =
        run_command({ESTGW_BINARY, "pledges", "list", "--db", database.uri()}, std::chrono::seconds(10));
    ASSERT_EQ(pledges.exit_code, 0) << pledges.output;
    const std::size_t line = pledges.output.find('\n') + 1;
    const std::string device_serial = pledges.output.substr(line, pledges.output.find('\t', line) - line);
    EXPECT_NE(pledges.output.find("\tenrolled\t"), std::string::npos) << pledges.output;
    const RunResult journey = run_command(
        {ESTGW_BINARY, "pledges", "show", device_serial, "--db", database.uri()}, std::chrono::seconds(10));
    EXPECT_EQ(journey.exit_code, 0) << journey.output;
    EXPECT_NE(journey.output.find("ldevid_serial=" + serial), std::string::npos) << journey.output;
    EXPECT_EQ(env.stop(), 0);
    // The server names its database in the log, never with the password.
    EXPECT_NE(env.log().find(":***@127.0.0.1"), std::string::npos) << env.log();
    EXPECT_EQ(env.log().find(password_of(database.uri())), std::string::npos) << env.log();
}

TEST(PostgresServer, AWrongPasswordStopsTheServerWithOneLineWithoutThePassword) {
    const PostgresDatabase database;
    ServerEnv env;
    std::string uri = database.uri();
    const std::string password = password_of(uri);
    uri.replace(uri.find(password), password.size(), "wrong-password");
    const RunResult r = run_command({ESTGW_BINARY, "serve", "--config", env.pki + "/estgw.conf", "--listen",
                                     "127.0.0.1:" + std::to_string(free_port(true)), "--db", uri},
                                    std::chrono::seconds(30));
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("estgw serve: --db: database postgresql://estgw:***@127.0.0.1:"),
              std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("password authentication failed"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("wrong-password"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace estgw::test
