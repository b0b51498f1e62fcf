// The command line of every estgw command, through the real binary: --help exits 0 with the command's usage,
// an unknown option is one line naming it, the closest known option and the command's --help, and a command
// group without a known command lists its commands.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "support/estgw_env.hpp"

namespace estgw::test {
namespace {

// "pki init" -> {"pki", "init"}, followed by `more`.
std::vector<std::string> command_line(const std::string& command, const std::vector<std::string>& more) {
    std::vector<std::string> args;
    std::istringstream words(command);
    for (std::string word; words >> word;)
        args.push_back(word);
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

struct CommandCase {
    const char* test_name;
    const char* command;
    const char* mistyped;  // an option one slip away from
    const char* meant;
};

class EveryCommand : public ::testing::TestWithParam<CommandCase> {};

TEST_P(EveryCommand, HelpExitsZeroWithTheCommandsUsage) {
    RunResult r = run_estgw(command_line(GetParam().command, {"--help"}));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find(std::string("Usage: estgw ") + GetParam().command), std::string::npos)
        << r.output;
}

TEST_P(EveryCommand, AnUnknownOptionIsOneLineWithTheClosestOptionAndTheCommandsHelp) {
    RunResult r = run_estgw(command_line(GetParam().command, {GetParam().mistyped}));
    EXPECT_EQ(r.exit_code, 2);
    const std::string command = std::string("estgw ") + GetParam().command;
    EXPECT_EQ(r.output, command + ": unrecognised option '" + GetParam().mistyped + "'; did you mean '" +
                            GetParam().meant + "'? See '" + command + " --help'.\n");
}

INSTANTIATE_TEST_SUITE_P(
    Commands, EveryCommand,
    ::testing::Values(CommandCase{"serve", "serve", "--listn", "--listen"},
                      CommandCase{"pki_init", "pki init", "--froce", "--force"},
                      CommandCase{"certs_list", "certs list", "--limt", "--limit"},
                      CommandCase{"pledges_list", "pledges list", "--cnofig", "--config"},
                      CommandCase{"pledges_show", "pledges show", "--sreial", "--serial"},
                      CommandCase{"enroll", "enroll", "--sever", "--server"},
                      CommandCase{"bench", "bench", "--concurency", "--concurrency"},
                      CommandCase{"masa", "masa", "--pledge-cas", "--pledge-ca"},
                      CommandCase{"health", "health", "--metircs", "--metrics"}),
    [](const auto& info) { return std::string(info.param.test_name); });

TEST(UnknownOption, WithoutACloseOneItStillPointsToTheCommandsHelp) {
    RunResult r = run_estgw({"enroll", "--zzzz"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.output, "estgw enroll: unrecognised option '--zzzz'. See 'estgw enroll --help'.\n");
}

TEST(UnknownOption, GivenWithAValueItIsNamedWithoutTheValue) {
    RunResult r = run_estgw({"enroll", "--sever=coaps://127.0.0.1"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.output.find("unrecognised option '--sever'; did you mean '--server'?"), std::string::npos)
        << r.output;
}

// --dir is required, but --help asks for nothing else.
TEST(RequiredOption, MissingItIsOneLinePointingToHelp) {
    RunResult r = run_estgw({"pki", "init"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.output,
              "estgw pki init: the option '--dir' is required but missing. See 'estgw pki init --help'.\n");
}

TEST(ServeWithoutArguments, SaysHowToStartAndThatTheModeDefaultsToGateway) {
    RunResult r = run_estgw({"serve"});
    EXPECT_EQ(r.exit_code, 2);
    for (const char* hint : {"estgw serve --config FILE", "./estgw.sh run", "The mode is gateway",
                             "--mode server", "estgw serve --help"})
        EXPECT_NE(r.output.find(hint), std::string::npos) << hint << "\n" << r.output;
}

struct GroupCase {
    const char* group;
    const char* command;  // the group's command, as listed
};

class CommandGroup : public ::testing::TestWithParam<GroupCase> {};

TEST_P(CommandGroup, WithoutACommandListsItsCommandsAndExitsTwo) {
    RunResult r = run_estgw({GetParam().group});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.output.find(std::string("estgw ") + GetParam().group + ": missing command"),
              std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find(std::string("  ") + GetParam().command + "  "), std::string::npos) << r.output;
}

TEST_P(CommandGroup, HelpListsItsCommandsAndExitsZero) {
    RunResult r = run_estgw({GetParam().group, "--help"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.output.find(std::string("  ") + GetParam().command + "  "), std::string::npos) << r.output;
}

INSTANTIATE_TEST_SUITE_P(Groups, CommandGroup,
                         ::testing::Values(GroupCase{"pki", "pki init"}, GroupCase{"certs", "certs list"},
                                           GroupCase{"pledges", "pledges show"}),
                         [](const auto& info) { return std::string(info.param.group); });

TEST(CommandGroupUnknownCommand, IsNamedWithTheClosestCommandAndTheList) {
    RunResult r = run_estgw({"certs", "lst"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.output.find("estgw certs: unknown command 'lst'; did you mean 'list'?"), std::string::npos)
        << r.output;
    EXPECT_NE(r.output.find("  certs list  "), std::string::npos) << r.output;
}

TEST(UnknownCommand, GetsTheClosestCommandAndExitsTwo) {
    RunResult r = run_estgw({"serv"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.output, "estgw: unknown command 'serv'; did you mean 'serve'? Try 'estgw --help'.\n");
}

TEST(PkiInit, NamesTheMasaFilesAndTheMasaAuthorityGoesIntoThePledgeCertificate) {
    TempDir dir;
    RunResult r = run_estgw({"pki", "init", "--dir", dir.file("pki"), "--masa-authority", "[::1]:9443"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    for (const char* file : {"/masa.crt\n", "/masa.key\n", "/masa-sign.crt\n", "/masa-sign.key\n"})
        EXPECT_NE(r.output.find(file), std::string::npos) << file << "\n" << r.output;
    RunResult text = run_command({"openssl", "x509", "-in", dir.file("pki/pledge.crt"), "-noout", "-text"},
                                 std::chrono::seconds(10));
    // openssl prints the unknown extension's DER as text: the IA5String header, then the authority.
    EXPECT_NE(text.output.find("1.3.6.1.5.5.7.1.32:"), std::string::npos) << text.output;
    EXPECT_NE(text.output.find("[::1]:9443"), std::string::npos) << text.output;
}

TEST(PkiInit, AMasaAuthorityThatIsNotHostColonPortExitsTwoAndWritesNothing) {
    TempDir dir;
    RunResult r = run_estgw({"pki", "init", "--dir", dir.file("pki"), "--masa-authority", "https://masa"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.output.rfind("estgw pki init: --masa-authority 'https://masa': ", 0), 0u) << r.output;
    EXPECT_FALSE(std::filesystem::exists(dir.file("pki/ca.key")));
}

}  // namespace
}  // namespace estgw::test
