// `estgw serve --config FILE` through the real binary: a mistake in the file is reported with FILE:LINE and
// the fix, and --mode on the command line runs a file written for the other mode.
#include <gtest/gtest.h>

#include <algorithm>

#include "gateway/gateway_env.hpp"
#include "support/server_env.hpp"

namespace estgw::test {
namespace {

// The server-mode configuration `estgw pki init` writes, with lines added at its end.
class ServeConfigFile : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        env_ = std::make_unique<ServerEnv>();
        demo_ = read_file(env_->pki + "/estgw.conf");
    }
    static void TearDownTestSuite() { env_.reset(); }

    // `estgw serve --config FILE` on a free address, so that a file taken for good starts nothing in the
    // way (and fails the test by running into the timeout).
    RunResult serve(const std::string& file, const std::vector<std::string>& extra = {}) {
        std::vector<std::string> args = {"serve", "--config", file, "--listen",
                                         "127.0.0.1:" + std::to_string(free_port(true))};
        args.insert(args.end(), extra.begin(), extra.end());
        return run_estgw(args, std::chrono::seconds(10));
    }

    // "<file>:<line>" of the added line `n` in the file `name`.
    std::string at(const std::string& name, std::size_t n) const {
        const auto demo_lines = static_cast<std::size_t>(std::count(demo_.begin(), demo_.end(), '\n'));
        return env_->dir.file(name) + ":" + std::to_string(demo_lines + 1 + n);
    }

    // Serves the demo configuration followed by `lines`, written as `name`: exit 2 with `message`.
    void expect_refused(const std::string& name, const std::string& lines, const std::string& message) {
        write_file(env_->dir.file(name), demo_ + lines);
        RunResult r = serve(env_->dir.file(name));
        EXPECT_EQ(r.exit_code, 2) << r.output;
        EXPECT_NE(r.output.find(message), std::string::npos) << message << "\n" << r.output;
    }

    static inline std::unique_ptr<ServerEnv> env_;
    static inline std::string demo_;
};

TEST_F(ServeConfigFile, AnUnknownOptionNamesFileLineAndTheClosestOption) {
    expect_refused(
        "unknown.conf", "dbfile = other.db\n",
        "estgw serve: unrecognised option 'dbfile' in " + at("unknown.conf", 0) + "; did you mean 'db'?");
}

TEST_F(ServeConfigFile, AValueItsOptionRefusesNamesFileLineAndWhatItTakes) {
    expect_refused("value.conf", "# more workers\nworkers = abc\n",
                   "invalid value 'abc' for 'workers' in " + at("value.conf", 1) + " (a whole number)");
}

TEST_F(ServeConfigFile, AMalformedLineNamesFileAndLine) {
    expect_refused(
        "malformed.conf", "validity-days 30\n",
        "malformed line 'validity-days 30' in " + at("malformed.conf", 0) + "; write 'name = value'");
}

// Checked after the file is read, like the command line's values; the place is still known.
TEST_F(ServeConfigFile, AValueOutOfRangeNamesFileAndLine) {
    expect_refused("range.conf", "workers = 0\n",
                   "'workers' in " + at("range.conf", 0) + ": must be between 1 and 1024");
}

TEST_F(ServeConfigFile, AMetricsAddressThatIsNotHostPortNamesFileAndLine) {
    expect_refused("metrics.conf", "metrics-listen = 9464\n",
                   "'metrics-listen' in " + at("metrics.conf", 0) + ": '9464' is not HOST:PORT");
}

TEST_F(ServeConfigFile, ASingleValuedOptionSetTwiceNamesBothLines) {
    expect_refused("twice.conf", "validity-days = 30\nvalidity-days = 90\n",
                   "'validity-days' is set twice, in " + at("twice.conf", 0) + " and " + at("twice.conf", 1));
}

TEST_F(ServeConfigFile, AnOptionUnderASectionIsNamedAsBoostReadsItWithTheOptionMeant) {
    expect_refused("section.conf", "[ca]\nvalidity-days = 30\n",
                   "unrecognised option 'ca.validity-days' in " + at("section.conf", 1) +
                       "; did you mean 'validity-days'?");
}

// The file says server mode, and nothing on the command line says otherwise: its gateway option is a
// mistake in the file.
TEST_F(ServeConfigFile, AnOptionOfTheOtherModeIsRefusedNamingFileAndLine) {
    expect_refused("other-mode.conf", "upstream = https://127.0.0.1:1\n",
                   "'upstream' in " + at("other-mode.conf", 0) + ": is not used in server mode");
}

// --mode gateway sets the file's server options aside, but one given on the command line itself is a
// mistake made right there.
TEST_F(ServeConfigFile, AnOptionOfTheOtherModeOnTheCommandLineIsStillRefused) {
    RunResult r = serve(env_->pki + "/estgw.conf", {"--mode", "gateway", "--ca-key", env_->pki + "/ca.key"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.output.find("--ca-key: is not used in gateway mode"), std::string::npos) << r.output;
}

TEST(ServeConfigFileMode, ModeOnTheCommandLineIgnoresTheFilesOptionsOfTheOtherModeWithOneWarning) {
    GatewayEnv env;
    write_file(env.dir.file("server.conf"),
               "mode = server\nca-cert = /nonexistent/ca.crt\nca-key = /nonexistent/ca.key\n"
               "db = /nonexistent/estgw.db\n");
    env.start_gateway({"--config", env.dir.file("server.conf")});  // with --mode gateway
    EXPECT_EQ(env.coap("/est/crts").code, "2.05");
    const std::string log = env.gateway_log();
    const std::string event = "warn config-options-ignored ";
    const std::size_t warning = log.find(event);
    ASSERT_NE(warning, std::string::npos) << log;
    EXPECT_EQ(log.find(event, warning + event.size()), std::string::npos) << log;
    const std::string record = log.substr(warning, log.find('\n', warning) - warning);
    EXPECT_NE(record.find("file=" + env.dir.file("server.conf")), std::string::npos) << record;
    EXPECT_NE(record.find("options=\"ca-cert ca-key db\""), std::string::npos) << record;
}

}  // namespace
}  // namespace estgw::test
