// Uri-Path → resource and label (RFC 9148 §4.1, RFC 7030 §3.2.2, cBRSKI App. E.1; digest §3).
#include "mapping/paths.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace estgw::mapping {
namespace {

using Path = std::vector<std::string>;

RouteConfig config_with_roots() {
    RouteConfig c;
    c.est_roots = {"/est", "/a/b/e"};
    c.brski_roots = {"/b"};
    c.labels = {"lbl"};
    return c;
}

RouteConfig config_with_labels(std::vector<std::string> labels) {
    RouteConfig c;
    c.labels = std::move(labels);
    return c;
}

Operation op_of(const Result<Route>& r) {
    return r->resource->op;
}

// RFC 9148 §4.1: /.well-known/est/<short> is always served, for every EST resource.
TEST(ParsePath, WellKnownEstShortNamesResolve) {
    const std::pair<std::string, Operation> cases[] = {
        {"crts", Operation::CaCerts}, {"sen", Operation::SimpleEnroll}, {"sren", Operation::SimpleReenroll},
        {"att", Operation::CsrAttrs}, {"skg", Operation::ServerKeyGen}, {"skc", Operation::ServerKeyGenCert},
    };
    for (const auto& [name, op] : cases) {
        auto r = parse_path({".well-known", "est", name}, RouteConfig{});
        ASSERT_TRUE(r) << name << ": " << r.error().message;
        EXPECT_EQ(op_of(r), op);
        EXPECT_EQ(r->label, "");
    }
}

// RFC 9148 §4.1: /.well-known/est/<ArbitraryLabel>/<short>.
TEST(ParsePath, WellKnownEstWithLabelCarriesTheLabel) {
    auto r = parse_path({".well-known", "est", "tenant-A", "sen"}, config_with_labels({"ca1", "tenant-A"}));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(op_of(r), Operation::SimpleEnroll);
    EXPECT_EQ(r->label, "tenant-A");
}

// RFC 7030 §3.2.2: the labels are the server's; a well-formed one it does not serve is 4.04 naming it.
TEST(ParsePath, LabelTheServerDoesNotServeIsNotFoundNamingIt) {
    for (const RouteConfig& c : {RouteConfig{}, config_with_labels({"ca1"})}) {
        auto r = parse_path({".well-known", "est", "tenant-B", "sen"}, c);
        EXPECT_EQ(r.status(), Status::NotFound);
        EXPECT_NE(r.error().message.find("unknown label \"tenant-B\""), std::string::npos)
            << r.error().message;
    }
}

// Paths compare case-sensitively (RFC 3986 §6.2.2.1), labels included.
TEST(ParsePath, LabelMatchesOnlyWithTheConfiguredCase) {
    EXPECT_EQ(parse_path({".well-known", "est", "CA1", "crts"}, config_with_labels({"ca1"})).status(),
              Status::NotFound);
}

// RFC 9148 §4.1: a root learnt by discovery, such as /est, serves the same resources.
TEST(ParsePath, ConfiguredSingleSegmentRootResolves) {
    auto r = parse_path({"est", "crts"}, config_with_roots());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(op_of(r), Operation::CaCerts);
}

// A configured root may have several segments.
TEST(ParsePath, ConfiguredMultiSegmentRootResolvesWithLabel) {
    auto r = parse_path({"a", "b", "e", "lbl", "sren"}, config_with_roots());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(op_of(r), Operation::SimpleReenroll);
    EXPECT_EQ(r->label, "lbl");
}

// The well-known root keeps working next to configured roots (cBRSKI App. E.1).
TEST(ParsePath, WellKnownRootStillServedWithConfiguredRoots) {
    auto r = parse_path({".well-known", "est", "crts"}, config_with_roots());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(op_of(r), Operation::CaCerts);
}

// A root that is not configured is not served.
TEST(ParsePath, UnconfiguredRootIsNotFound) {
    auto r = parse_path({"est", "crts"}, RouteConfig{});
    EXPECT_EQ(r.status(), Status::NotFound);
}

// cBRSKI §6.5: /.well-known/brski/rv, vs and es.
TEST(ParsePath, WellKnownBrskiShortNamesResolve) {
    const std::pair<std::string, Operation> cases[] = {
        {"rv", Operation::RequestVoucher}, {"vs", Operation::VoucherStatus}, {"es", Operation::EnrollStatus}};
    for (const auto& [name, op] : cases) {
        auto r = parse_path({".well-known", "brski", name}, RouteConfig{});
        ASSERT_TRUE(r) << name;
        EXPECT_EQ(op_of(r), op);
    }
}

// cBRSKI App. E.1: a short BRSKI root such as /b is processed like /.well-known/brski.
TEST(ParsePath, ConfiguredBrskiRootResolves) {
    auto r = parse_path({"b", "es"}, config_with_roots());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(op_of(r), Operation::EnrollStatus);
}

// BRSKI resources take no label.
TEST(ParsePath, BrskiPathWithLabelIsNotFound) {
    EXPECT_EQ(parse_path({".well-known", "brski", "x", "rv"}, RouteConfig{}).status(), Status::NotFound);
}

// EST resources live under the EST root only, BRSKI ones under the BRSKI root only.
TEST(ParsePath, ResourceUnderTheOtherFamilysRootIsNotFound) {
    EXPECT_EQ(parse_path({".well-known", "brski", "crts"}, RouteConfig{}).status(), Status::NotFound);
    EXPECT_EQ(parse_path({".well-known", "est", "rv"}, RouteConfig{}).status(), Status::NotFound);
}

// RFC 9148 §4.1: only the short names exist over CoAP; /cacerts is an HTTP name.
TEST(ParsePath, Rfc7030OperationNameIsNotFound) {
    auto r = parse_path({".well-known", "est", "cacerts"}, RouteConfig{});
    EXPECT_EQ(r.status(), Status::NotFound);
    EXPECT_NE(r.error().message.find("cacerts"), std::string::npos);
}

// The root alone, an empty path and paths too deep for root[/label]/short are not resources.
TEST(ParsePath, PathsOfTheWrongLengthAreNotFound) {
    for (const Path& p : {Path{}, Path{".well-known"}, Path{".well-known", "est"},
                          Path{".well-known", "est", "a", "b", "crts"}, Path{"crts"}}) {
        EXPECT_EQ(parse_path(p, RouteConfig{}).status(), Status::NotFound);
    }
}

// RFC 3986 §6.2.2.1: path segments compare case-sensitively.
TEST(ParsePath, ShortNameIsCaseSensitive) {
    EXPECT_EQ(parse_path({".well-known", "est", "CRTS"}, RouteConfig{}).status(), Status::NotFound);
}

// A Uri-Path option is one segment even when it contains '/' (RFC 7252 §5.10.1).
TEST(ParsePath, SlashInsideASegmentDoesNotSplitIt) {
    EXPECT_EQ(parse_path({".well-known", "est/crts"}, RouteConfig{}).status(), Status::NotFound);
    EXPECT_EQ(parse_path({".well-known", "est", "x/y", "crts"}, RouteConfig{}).status(), Status::NotFound);
}

// RFC 7030 §3.2.2: a label never equals an operation name (short or RFC 7030 name).
TEST(ParsePath, LabelEqualToAnOperationNameIsNotFound) {
    for (const char* label : {"crts", "sen", "cacerts", "simpleenroll", "fullcmc", "rv", "requestvoucher"}) {
        auto r = parse_path({".well-known", "est", label, "crts"}, RouteConfig{});
        EXPECT_EQ(r.status(), Status::NotFound) << label;
    }
}

// A label with a character outside the unreserved set is not found (RFC 3986 §2.3).
TEST(ParsePath, LabelWithReservedCharacterIsNotFound) {
    auto r = parse_path({".well-known", "est", "a b", "crts"}, RouteConfig{});
    EXPECT_EQ(r.status(), Status::NotFound);
    EXPECT_NE(r.error().message.find("invalid label"), std::string::npos);
}

// The check both fronts share: no label always passes, a configured one passes, any other is NotFound.
TEST(CheckLabel, PassesNoLabelAndConfiguredLabelsOnly) {
    const RouteConfig c = config_with_labels({"ca1", "ca2"});
    EXPECT_TRUE(check_label("", c));
    EXPECT_TRUE(check_label("ca2", c));
    EXPECT_EQ(check_label("ca3", c).status(), Status::NotFound);
    EXPECT_TRUE(check_label("", RouteConfig{}));
    EXPECT_EQ(check_label("ca1", RouteConfig{}).status(), Status::NotFound);
}

// A function configured as not offered answers 4.04 (RFC 9148 §4.5).
TEST(ParsePath, DisabledFunctionIsNotFound) {
    RouteConfig c;
    c.disabled = {Operation::ServerKeyGen};
    auto r = parse_path({".well-known", "est", "skg"}, c);
    EXPECT_EQ(r.status(), Status::NotFound);
    EXPECT_NE(r.error().message.find("not offered"), std::string::npos);
    EXPECT_TRUE(parse_path({".well-known", "est", "skc"}, c));
}

// Our label rule: 1 to 64 unreserved characters.
TEST(IsValidLabel, AcceptsUnreservedCharactersUpTo64) {
    EXPECT_TRUE(is_valid_label("a"));
    EXPECT_TRUE(is_valid_label("Tenant-1.profile_x~y"));
    EXPECT_TRUE(is_valid_label(std::string(64, 'x')));
}

// Longer than 64 characters, or empty: invalid.
TEST(IsValidLabel, RejectsEmptyAndOverlongLabels) {
    EXPECT_FALSE(is_valid_label(""));
    EXPECT_FALSE(is_valid_label(std::string(65, 'x')));
}

// Reserved, percent-encoded and non-ASCII characters, and the dot segments, are invalid.
TEST(IsValidLabel, RejectsCharactersOutsideTheUnreservedSet) {
    for (const char* bad : {"a b", "a/b", "a%20b", "a?b", "a;b", "caf\xc3\xa9", ".", "..", "a\x01"}) {
        EXPECT_FALSE(is_valid_label(bad)) << bad;
    }
}

// RFC 7030 §3.2.2, compared without case (our stricter choice).
TEST(IsValidLabel, RejectsOperationNamesIgnoringCase) {
    for (const char* bad : {"CACERTS", "Sen", "serverkeygen", "csrattrs", "simplereenroll", "voucher_status",
                            "enrollstatus", "requestauditlog", "att", "skc", "es", "vs"}) {
        EXPECT_FALSE(is_valid_label(bad)) << bad;
    }
}

// A well-formed configuration passes unchanged.
TEST(ValidateRouteConfig, AcceptsDisjointRoots) {
    auto r = validate_route_config(config_with_roots());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->est_roots, (std::vector<std::string>{"/est", "/a/b/e"}));
    EXPECT_EQ(r->brski_roots, std::vector<std::string>{"/b"});
}

// Roots must be absolute, without empty segments, trailing '/' or dot segments.
TEST(ValidateRouteConfig, RejectsMalformedRoots) {
    for (const char* bad :
         {"", "est", "/", "/est/", "//est", "/a//b", "/a b", "/./est", "/est/..", "/%65st"}) {
        RouteConfig c;
        c.est_roots = {bad};
        auto r = validate_route_config(c);
        EXPECT_EQ(r.status(), Status::BadRequest) << bad;
    }
}

// "/est" and "/est/v2" would make "/est/v2/crts" ambiguous (label v2, or root /est/v2).
TEST(ValidateRouteConfig, RejectsNestedRoots) {
    RouteConfig c;
    c.est_roots = {"/est", "/est/v2"};
    auto r = validate_route_config(c);
    EXPECT_EQ(r.status(), Status::BadRequest);
    EXPECT_NE(r.error().message.find("overlaps"), std::string::npos);
}

// A root nested inside a well-known root is ambiguous as well.
TEST(ValidateRouteConfig, RejectsRootInsideAWellKnownRoot) {
    RouteConfig c;
    c.brski_roots = {"/.well-known/est/b"};
    EXPECT_EQ(validate_route_config(c).status(), Status::BadRequest);
}

// One root cannot serve both families.
TEST(ValidateRouteConfig, RejectsRootSharedByBothFamilies) {
    RouteConfig c;
    c.est_roots = {"/x"};
    c.brski_roots = {"/x"};
    EXPECT_EQ(validate_route_config(c).status(), Status::BadRequest);
}

// /.well-known/core belongs to discovery (RFC 6690 §4).
TEST(ValidateRouteConfig, RejectsTheDiscoveryPathAsRoot) {
    RouteConfig c;
    c.est_roots = {"/.well-known/core"};
    EXPECT_EQ(validate_route_config(c).status(), Status::BadRequest);
}

// Repeated entries, and a configured copy of the family's own well-known root, are merged.
TEST(ValidateRouteConfig, MergesRepeatedRootsAndDisabledOperations) {
    RouteConfig c;
    c.est_roots = {"/est", "/est", "/.well-known/est"};
    c.brski_roots = {"/.well-known/brski"};
    c.disabled = {Operation::CsrAttrs, Operation::CsrAttrs};
    auto r = validate_route_config(c);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->est_roots, std::vector<std::string>{"/est"});
    EXPECT_TRUE(r->brski_roots.empty());
    EXPECT_EQ(r->disabled, std::vector<Operation>{Operation::CsrAttrs});
}

// RFC 9148 §4.1: crts, sen and sren are mandatory and cannot be switched off.
TEST(ValidateRouteConfig, RejectsDisablingAMandatoryEstFunction) {
    for (Operation op : {Operation::CaCerts, Operation::SimpleEnroll, Operation::SimpleReenroll}) {
        RouteConfig c;
        c.disabled = {op};
        EXPECT_EQ(validate_route_config(c).status(), Status::BadRequest);
    }
}

// Optional EST functions and the BRSKI ones (an EST-only gateway relays no vouchers) may be switched off.
TEST(ValidateRouteConfig, AcceptsDisablingOptionalAndBrskiFunctions) {
    RouteConfig c;
    c.disabled = {Operation::CsrAttrs,       Operation::ServerKeyGen,  Operation::ServerKeyGenCert,
                  Operation::RequestVoucher, Operation::VoucherStatus, Operation::EnrollStatus};
    EXPECT_TRUE(validate_route_config(c));
}

// A configured label must be one a request could name (is_valid_label); repeats are merged.
TEST(ValidateRouteConfig, RejectsInvalidLabelsAndMergesRepeatedOnes) {
    for (const char* bad : {"", "a b", "crts", "cacerts", ".."}) {
        auto r = validate_route_config(config_with_labels({"ca1", bad}));
        EXPECT_EQ(r.status(), Status::BadRequest) << bad;
    }
    auto r = validate_route_config(config_with_labels({"ca1", "ca2", "ca1"}));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->labels, (std::vector<std::string>{"ca1", "ca2"}));
}

// A zero body limit would refuse every POST.
TEST(ValidateRouteConfig, RejectsZeroMaxBody) {
    RouteConfig c;
    c.max_body = 0;
    EXPECT_EQ(validate_route_config(c).status(), Status::BadRequest);
}

// "/.well-known/est" splits into its two segments.
TEST(SplitRoot, SplitsIntoSegments) {
    auto r = split_root("/.well-known/est");
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, (Path{".well-known", "est"}));
}

// digest §3: 301–306 are the EST resources, 401–403 the BRSKI ones, expanded to the well-known paths.
TEST(ExpandUriPathAbbrev, ExpandsEveryValueToItsWellKnownPath) {
    const std::pair<unsigned, Path> cases[] = {
        {301, {".well-known", "est", "crts"}}, {302, {".well-known", "est", "sen"}},
        {303, {".well-known", "est", "sren"}}, {304, {".well-known", "est", "skg"}},
        {305, {".well-known", "est", "skc"}},  {306, {".well-known", "est", "att"}},
        {401, {".well-known", "brski", "es"}}, {402, {".well-known", "brski", "rv"}},
        {403, {".well-known", "brski", "vs"}},
    };
    for (const auto& [value, path] : cases) {
        auto r = expand_uri_path_abbrev(value);
        ASSERT_TRUE(r) << value;
        EXPECT_EQ(*r, path) << value;
        EXPECT_TRUE(parse_path(*r, RouteConfig{})) << value;
    }
}

// digest §3: an unknown value is 4.02 Bad Option, not 4.04.
TEST(ExpandUriPathAbbrev, UnknownValueIsBadOption) {
    for (unsigned value : {0u, 300u, 307u, 400u, 404u, 65535u}) {
        auto r = expand_uri_path_abbrev(value);
        EXPECT_EQ(r.status(), Status::BadOption) << value;
    }
}

}  // namespace
}  // namespace estgw::mapping
