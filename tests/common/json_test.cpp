// JSON strings (RFC 8259 §7) as `estgw certs list --json`, `estgw bench --json` and the telemetry relay
// write them.
#include "common/json.hpp"

#include <gtest/gtest.h>

namespace estgw {
namespace {

TEST(JsonString, PlainAsciiIsOnlyQuoted) {
    EXPECT_EQ(json_string("CN=pledge,O=Example"), "\"CN=pledge,O=Example\"");
    EXPECT_EQ(json_string(""), "\"\"");
}

TEST(JsonString, QuoteAndBackslashAreEscaped) {
    EXPECT_EQ(json_string(R"(CN=a\,b "c")"), R"("CN=a\\,b \"c\"")");
}

TEST(JsonString, ControlCharactersUseShortFormsOrUnicodeEscapes) {
    EXPECT_EQ(json_string("\n\r\t\b\f"), R"("\n\r\t\b\f")");
    EXPECT_EQ(json_string(std::string("a\x01z\x1f\x7f", 5)), R"("a\u0001z\u001f\u007f")");
    EXPECT_EQ(json_string(std::string("\0", 1)), R"("\u0000")");
}

TEST(JsonString, WellFormedUtf8IsKeptAsIs) {
    EXPECT_EQ(json_string("CN=caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
              "\"CN=caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
}

// A name read back from a database may hold anything; the output must still be JSON.
TEST(JsonString, BytesThatAreNotUtf8BecomeReplacementCharacters) {
    EXPECT_EQ(json_string("a\xFF"
                          "b\xC3"),
              "\"a\xEF\xBF\xBD"
              "b\xEF\xBF\xBD\"");
    EXPECT_EQ(json_string("\xE2\x82"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");  // truncated: each byte replaced
}

TEST(JsonString, AppendsToWhatIsThere) {
    std::string out = "[";
    append_json_string(out, "x");
    EXPECT_EQ(out, "[\"x\"");
}

}  // namespace
}  // namespace estgw
