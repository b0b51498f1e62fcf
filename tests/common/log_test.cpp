#include "common/log.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace estgw::log {
namespace {

class LogTest : public ::testing::Test {
  protected:
    void SetUp() override {
        set_sink([this](std::string_view r) { records.emplace_back(r); });
        set_level(Level::Info);
    }
    void TearDown() override {
        set_sink(nullptr);
        set_level(Level::Info);
    }
    std::vector<std::string> records;
};

TEST_F(LogTest, WritesOneLineRecordWithTimestampLevelEventAndFields) {
    info("request", {{"op", "sen"}, {"code", "2.04"}, {"ms", 12}});
    ASSERT_EQ(records.size(), 1u);
    const std::string& r = records[0];
    EXPECT_EQ(r.find('\n'), std::string::npos);
    EXPECT_EQ(r.size() > 24 && r[4] == '-' && r[10] == 'T' && r[23] == 'Z', true) << r;
    EXPECT_NE(r.find(" info request op=sen code=2.04 ms=12"), std::string::npos) << r;
}

TEST_F(LogTest, QuotesValuesWithSpacesQuotesEqualsAndControlCharacters) {
    EXPECT_EQ(format_fields(Level::Warn, "x", {{"subject", "CN=pledge 1"}}),
              "warn x subject=\"CN=pledge 1\"");
    EXPECT_EQ(format_fields(Level::Warn, "x", {{"d", "a\"b\\c"}}), "warn x d=\"a\\\"b\\\\c\"");
    EXPECT_EQ(format_fields(Level::Warn, "x", {{"d", "l1\nl2\r\t\x01"}}), "warn x d=\"l1\\nl2\\r\\t\\x01\"");
    EXPECT_EQ(format_fields(Level::Warn, "x", {{"d", ""}}), "warn x d=\"\"");
}

TEST_F(LogTest, DropsRecordsBelowTheLevel) {
    set_level(Level::Warn);
    info("hidden");
    debug("hidden");
    warn("shown");
    error("shown too");
    EXPECT_EQ(records.size(), 2u);
}

TEST_F(LogTest, OffSilencesEverything) {
    set_level(Level::Off);
    error("nothing");
    EXPECT_TRUE(records.empty());
    EXPECT_FALSE(enabled(Level::Off));
}

TEST_F(LogTest, DebugLevelShowsDebugRecords) {
    set_level(Level::Debug);
    debug("detail", {{"n", 1}});
    ASSERT_EQ(records.size(), 1u);
    EXPECT_NE(records[0].find(" debug detail n=1"), std::string::npos);
}

TEST(LogLevel, ParsesEveryLevelNameAndRejectsOthers) {
    EXPECT_EQ(parse_level("debug"), Level::Debug);
    EXPECT_EQ(parse_level("info"), Level::Info);
    EXPECT_EQ(parse_level("warn"), Level::Warn);
    EXPECT_EQ(parse_level("warning"), Level::Warn);
    EXPECT_EQ(parse_level("error"), Level::Error);
    EXPECT_EQ(parse_level("off"), Level::Off);
    EXPECT_EQ(parse_level("verbose"), std::nullopt);
    for (Level l : {Level::Debug, Level::Info, Level::Warn, Level::Error, Level::Off}) {
        EXPECT_EQ(parse_level(level_name(l)), l);
    }
}

}  // namespace
}  // namespace estgw::log
