#include "common/result.hpp"

#include <gtest/gtest.h>

#include <set>

#include "common/bytes.hpp"

namespace estgw {
namespace {

Result<int> parse_positive(int v) {
    if (v <= 0) return make_error(Status::BadRequest, "not positive");
    return v;
}

Result<int> doubled(int v) {
    ESTGW_TRY(x, parse_positive(v));
    return x * 2;
}

TEST(Result, CarriesAValue) {
    auto r = parse_positive(3);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, 3);
    EXPECT_EQ(r.status(), Status::Ok);
}

TEST(Result, CarriesAnErrorWithStatusAndMessage) {
    auto r = parse_positive(-1);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.status(), Status::BadRequest);
    EXPECT_EQ(r.error().message, "not positive");
}

TEST(Result, TryPropagatesErrorsAndUnwrapsValues) {
    EXPECT_EQ(*doubled(4), 8);
    EXPECT_EQ(doubled(0).status(), Status::BadRequest);
}

TEST(Result, VoidResultIsOkByDefaultAndCarriesErrors) {
    Result<void> ok;
    EXPECT_TRUE(ok.ok());
    EXPECT_EQ(ok.status(), Status::Ok);
    Result<void> bad = make_error(Status::Forbidden, "no");
    EXPECT_FALSE(bad);
    EXPECT_EQ(bad.status(), Status::Forbidden);
    EXPECT_EQ(bad.error().message, "no");
}

TEST(Result, MovesValuesOut) {
    Result<std::string> r = std::string("payload");
    std::string s = std::move(r).value();
    EXPECT_EQ(s, "payload");
}

TEST(Status, EveryStatusHasADistinctName) {
    std::set<std::string_view> names;
    for (int s = static_cast<int>(Status::Ok); s <= static_cast<int>(Status::UpstreamTimeout); ++s) {
        auto name = status_name(static_cast<Status>(s));
        EXPECT_NE(name, "unknown");
        names.insert(name);
    }
    EXPECT_EQ(names.size(), static_cast<std::size_t>(Status::UpstreamTimeout) + 1);
}

TEST(Bytes, HexRoundTripsAndToleratesWhiteSpaceBetweenPairs) {
    Bytes b;
    ASSERT_TRUE(from_hex("00 ff\n7A", b));
    EXPECT_EQ(b, (Bytes{0x00, 0xff, 0x7a}));
    EXPECT_EQ(to_hex(b), "00ff7a");
}

TEST(Bytes, HexRejectsOddDigitsSplitPairsAndNonHex) {
    Bytes b;
    EXPECT_FALSE(from_hex("abc", b));
    EXPECT_FALSE(from_hex("a bc", b));
    EXPECT_FALSE(from_hex("zz", b));
}

TEST(Bytes, StringConversionsPreserveEveryByte) {
    std::string s("a\0b", 3);
    EXPECT_EQ(to_string(to_bytes(s)), s);
    EXPECT_EQ(as_bytes(s).size(), 3u);
}

}  // namespace
}  // namespace estgw
