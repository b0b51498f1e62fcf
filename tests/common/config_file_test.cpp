#include "common/config_file.hpp"

#include <gtest/gtest.h>

#include <ostream>

#include "support/process.hpp"

namespace estgw {

void PrintTo(const ConfigEntry& e, std::ostream* out) {
    *out << "{" << e.name << " = '" << e.value << "' line " << e.line << "}";
}

namespace {

using Entries = std::vector<ConfigEntry>;

Entries parsed(std::string_view text) {
    auto r = parse_config_text(text, "estgw.conf");
    if (!r) throw std::runtime_error(r.error().message);
    return *r;
}

// The message of the error `text` is refused with; the file is called demo/estgw.conf.
std::string refusal(std::string_view text) {
    auto r = parse_config_text(text, "demo/estgw.conf");
    if (r) return "accepted";
    EXPECT_EQ(r.status(), Status::BadRequest);
    return r.error().message;
}

TEST(ConfigFile, EachNameValueLineIsAnEntryWithItsLineNumber) {
    EXPECT_EQ(parsed("mode = server\n\n# the CA\nca-cert = /pki/ca.crt\n"),
              (Entries{{"mode", "server", 1}, {"ca-cert", "/pki/ca.crt", 4}}));
}

// As Boost.Program_options: '#' starts a comment anywhere, names and values are trimmed.
TEST(ConfigFile, ACommentMayFollowAValue) {
    EXPECT_EQ(parsed("  workers\t=  4   # two per core\n"), (Entries{{"workers", "4", 1}}));
}

TEST(ConfigFile, TheValueIsEverythingAfterTheFirstEqualsSign) {
    EXPECT_EQ(parsed("subject = CN=a,O=b\nkeylog-file =\n"),
              (Entries{{"subject", "CN=a,O=b", 1}, {"keylog-file", "", 2}}));
}

TEST(ConfigFile, RepeatedNamesAreKeptInOrder) {
    EXPECT_EQ(parsed("listen = 127.0.0.1:5684\nlisten = [::1]:5684\n"),
              (Entries{{"listen", "127.0.0.1:5684", 1}, {"listen", "[::1]:5684", 2}}));
}

TEST(ConfigFile, WindowsLineEndsAndAByteOrderMarkAreAccepted) {
    EXPECT_EQ(parsed("\xEF\xBB\xBFmode = server\r\ndb = x.db\r\n"),
              (Entries{{"mode", "server", 1}, {"db", "x.db", 2}}));
}

// Boost.Program_options reads "[tls]" then "cert = x" as the option "tls.cert"; so does this reader.
TEST(ConfigFile, ASectionPrefixesTheNamesBelowIt) {
    EXPECT_EQ(parsed("db = a\n[tls]\ncert = x\n"), (Entries{{"db", "a", 1}, {"tls.cert", "x", 3}}));
}

TEST(ConfigFile, ALineWithoutEqualsSignIsMalformedAndNamesFileAndLine) {
    EXPECT_EQ(refusal("mode = server\ndb estgw.db\n"),
              "malformed line 'db estgw.db' in demo/estgw.conf:2; write 'name = value' ('#' starts a "
              "comment)");
}

TEST(ConfigFile, ALineWithoutANameIsMalformed) {
    EXPECT_EQ(refusal("\n= 4\n"), "malformed line '= 4' in demo/estgw.conf:2: no option name before '='");
}

TEST(ConfigFile, AMissingFileIsAnErrorNamingConfigAndThePath) {
    auto r = read_config_file("/nonexistent/estgw.conf");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.status(), Status::BadRequest);
    EXPECT_NE(r.error().message.find("--config: cannot read '/nonexistent/estgw.conf'"), std::string::npos)
        << r.error().message;
}

TEST(ConfigFile, AFileIsReadWithItsLines) {
    test::TempDir dir;
    test::write_file(dir.file("estgw.conf"), "# demo\nmode = gateway\n");
    auto r = read_config_file(dir.file("estgw.conf"));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, (Entries{{"mode", "gateway", 2}}));
}

}  // namespace
}  // namespace estgw
