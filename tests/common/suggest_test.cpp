#include "common/suggest.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace estgw {
namespace {

TEST(EditDistance, CountsInsertionsDeletionsAndSubstitutions) {
    EXPECT_EQ(edit_distance("sever", "server"), 1u);
    EXPECT_EQ(edit_distance("server", "sever"), 1u);
    EXPECT_EQ(edit_distance("cert", "cart"), 1u);
    EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
    EXPECT_EQ(edit_distance("", "db"), 2u);
    EXPECT_EQ(edit_distance("db", "db"), 0u);
}

// Damerau: two neighbouring characters typed in the wrong order are one slip, not two substitutions.
TEST(EditDistance, AnAdjacentTranspositionCostsOne) {
    EXPECT_EQ(edit_distance("wokrers", "workers"), 1u);
    EXPECT_EQ(edit_distance("ab", "ba"), 1u);
}

// The optimal-string-alignment variant edits no substring twice: "ca" -> "ac" -> "abc" is not 2.
TEST(EditDistance, NoSubstringIsEditedTwice) {
    EXPECT_EQ(edit_distance("ca", "abc"), 3u);
}

const std::vector<std::string> kOptions = {"listen",      "cert",     "key",
                                           "client-ca",   "db",       "workers",
                                           "keylog-file", "upstream", "upstream-password-file"};

TEST(ClosestName, ATypoGetsTheOptionOneEditAway) {
    EXPECT_EQ(closest_name("listn", kOptions), "listen");
    EXPECT_EQ(closest_name("wokrers", kOptions), "workers");
}

TEST(ClosestName, CaseIsIgnored) {
    EXPECT_EQ(closest_name("Workers", kOptions), "workers");
}

TEST(ClosestName, LongerNamesMayBeTwoEditsAway) {
    EXPECT_EQ(closest_name("clent-cq", kOptions), "client-ca");
    EXPECT_EQ(closest_name("krt", kOptions), std::nullopt);  // two edits from "cert", but only three letters
}

TEST(ClosestName, ATruncatedNameGetsTheShortestOptionItBegins) {
    EXPECT_EQ(closest_name("keylog", kOptions), "keylog-file");
    EXPECT_EQ(closest_name("upstream-pass", kOptions), "upstream-password-file");
}

TEST(ClosestName, ANameWithSomethingAddedGetsTheLongestOptionThatBeginsIt) {
    EXPECT_EQ(closest_name("dbfile", kOptions), "db");
    EXPECT_EQ(closest_name("upstream-url", kOptions), "upstream");
}

TEST(ClosestName, ATypoIsPreferredToATruncation) {
    EXPECT_EQ(closest_name("cart", std::vector<std::string>{"cart-file", "card"}), "card");
}

TEST(ClosestName, ATruncationIsPreferredToAnAddition) {
    EXPECT_EQ(closest_name("keylog", std::vector<std::string>{"key", "keylog-file"}), "keylog-file");
}

TEST(ClosestName, ANameFarFromEveryOptionGetsNone) {
    EXPECT_EQ(closest_name("database", kOptions), std::nullopt);
    EXPECT_EQ(closest_name("", kOptions), std::nullopt);
    EXPECT_EQ(closest_name("db", std::vector<std::string>{}), std::nullopt);
}

TEST(ClosestName, ATieGoesToTheCandidateListedFirst) {
    EXPECT_EQ(closest_name("cat", std::vector<std::string>{"cut", "cap"}), "cut");
    EXPECT_EQ(closest_name("cat", std::vector<std::string>{"cap", "cut"}), "cap");
}

}  // namespace
}  // namespace estgw
