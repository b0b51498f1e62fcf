// `estgw pledges list` and `estgw pledges show` through the real binary, on a journal the test writes with
// SqliteStore itself (what a registrar would have recorded).
#include <gtest/gtest.h>

#include "certs/sqlite_store.hpp"
#include "support/estgw_env.hpp"

namespace estgw::test {
namespace {

const certs::PledgeKey kPledge{"CN=estgw demo manufacturer CA,O=estgw demo", "0A1B"};

// A database with one pledge that got a voucher and an LDevID.
std::string journal_file(const TempDir& dir) {
    const std::string file = dir.file("estgw.db");
    auto store = certs::SqliteStore::open(file);
    if (!store) throw std::runtime_error(store.error().message);
    using certs::JourneyStep;
    for (const certs::JourneyEvent& e : {
             certs::JourneyEvent{kPledge,
                                 "pledge-0001",
                                 JourneyStep::VoucherRequest,
                                 1764950400000,
                                 {{"nonce", "A1B2"}, {"proximity", "cert"}}},
             certs::JourneyEvent{kPledge,
                                 "pledge-0001",
                                 JourneyStep::VoucherIssued,
                                 1764950400100,
                                 {{"assertion", "proximity"}}},
             certs::JourneyEvent{kPledge,
                                 "pledge-0001",
                                 JourneyStep::EnrollStatus,
                                 1764950400200,
                                 {{"status", "false"}, {"reason", "key refused"}, {"session", "ldevid"}}},
         }) {
        if (auto r = (*store)->record(e); !r) throw std::runtime_error(r.error().message);
    }
    return file;
}

TEST(PledgesList, PrintsTheHeaderAndOneLinePerPledge) {
    const TempDir dir;
    RunResult r = run_estgw({"pledges", "list", "--db", journal_file(dir)});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.output, std::string(certs::kPledgeListHeader) +
                            "\npledge-0001\t0A1B\tCN=estgw demo manufacturer CA,O=estgw demo\tenroll-status\t"
                            "false: key refused\t2025-12-05T16:00:00.200Z\t3\n");
}

TEST(PledgesList, FindsTheDatabaseThroughTheConfigFile) {
    const TempDir dir;
    const std::string db = journal_file(dir);
    write_file(dir.file("estgw.conf"), "mode = server\ndb = " + db + "\n");
    RunResult r = run_estgw({"pledges", "list", "--config", dir.file("estgw.conf")});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("\npledge-0001\t0A1B\t"), std::string::npos) << r.output;
}

TEST(PledgesList, WithoutADatabaseExitsTwoNamingIt) {
    const TempDir dir;
    RunResult r = run_estgw({"pledges", "list", "--db", dir.file("missing.db")});
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("no database at " + dir.file("missing.db")), std::string::npos) << r.output;
}

TEST(PledgesShow, PrintsTheWholeJourneyByDeviceSerial) {
    const TempDir dir;
    RunResult r = run_estgw({"pledges", "show", "pledge-0001", "--db", journal_file(dir)});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(
        r.output,
        "pledge pledge-0001  idevid-serial=0A1B  idevid-issuer=\"CN=estgw demo manufacturer CA,O=estgw "
        "demo\"\n"
        "  2025-12-05T16:00:00.000Z  voucher-request  nonce=A1B2  proximity=cert\n"
        "  2025-12-05T16:00:00.100Z  voucher-issued  assertion=proximity\n"
        "  2025-12-05T16:00:00.200Z  enroll-status  status=false  reason=\"key refused\"  session=ldevid\n");
}

TEST(PledgesShow, FindsThePledgeByItsIdevidSerialInAnyCase) {
    const TempDir dir;
    RunResult r = run_estgw({"pledges", "show", "--db", journal_file(dir), "0a1b"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.output.find("pledge pledge-0001"), 0u) << r.output;
}

TEST(PledgesShow, AnUnknownSerialExitsOneSayingSo) {
    const TempDir dir;
    RunResult r = run_estgw({"pledges", "show", "nobody", "--db", journal_file(dir)});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("no pledge with device serial-number or IDevID serial 'nobody'"),
              std::string::npos)
        << r.output;
}

TEST(PledgesShow, WithoutASerialExitsTwo) {
    const TempDir dir;
    RunResult r = run_estgw({"pledges", "show", "--db", journal_file(dir)});
    EXPECT_EQ(r.exit_code, 2) << r.output;
}

TEST(PledgesShow, HelpNamesTheSerialAndBothWaysToFindTheDatabase) {
    RunResult r = run_estgw({"pledges", "show", "--help"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("Usage: estgw pledges show SERIAL"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("--config"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace estgw::test
