// /.well-known/core: what we advertise, query filtering, and the link-format parser (RFC 6690 §2 and §4.1,
// RFC 9148 §4.1, cBRSKI §15.1 and App. E; digest §3).
#include "mapping/link_format.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace estgw::mapping {
namespace {

// RFC 9148 §4.1, with the line breaks of the RFC's layout removed.
constexpr std::string_view kRfc9148Example =
    "</est/crts>;rt=\"ace.est.crts\";ct=\"281 287\","
    "</est/sen>;rt=\"ace.est.sen\";ct=\"281 287\","
    "</est/sren>;rt=\"ace.est.sren\";ct=\"281 287\","
    "</est/att>;rt=\"ace.est.att\";ct=285,"
    "</est/skg>;rt=\"ace.est.skg\";ct=62,"
    "</est/skc>;rt=\"ace.est.skc\";ct=62";

// The RFC example predates cBRSKI's 62 on /crts and its base resource: the EST resources of RFC 9148 only.
DiscoveryConfig rfc9148_config() {
    DiscoveryConfig c;
    c.est_root = "/est";
    c.include_base_links = false;
    return c;
}

DiscoveryConfig registrar_config() {
    DiscoveryConfig c;
    c.est_root = "/est";
    c.brski_root = "/b";
    c.include_brski = true;
    return c;
}

std::vector<std::string> targets(const std::vector<Link>& links) {
    std::vector<std::string> out;
    for (const auto& l : links)
        out.push_back(l.target);
    return out;
}

// ---- what is advertised ----

// RFC 9148 §4.1: the discovery example, byte for byte, except for cBRSKI's extra 62 on /crts.
TEST(DiscoveryLinks, ReproduceTheRfc9148Example) {
    std::string expected(kRfc9148Example);
    expected.replace(expected.find("\"281 287\""), 9, "\"281 287 62\"");
    EXPECT_EQ(format_links(discovery_links(rfc9148_config())), expected);
}

// cBRSKI §15.1: the base resource carries rt="ace.est" and comes first.
TEST(DiscoveryLinks, BaseResourceComesFirst) {
    DiscoveryConfig c;
    c.est_root = "/est";
    auto links = discovery_links(c);
    ASSERT_FALSE(links.empty());
    EXPECT_EQ(format_links({links.front()}), "</est>;rt=\"ace.est\"");
}

// cBRSKI App. E: the BRSKI resources, with vs/es listing the formats they take.
TEST(DiscoveryLinks, RegistrarAdvertisesBrskiResources) {
    auto links = filter_links(discovery_links(registrar_config()), {"rt=brski*"});
    EXPECT_EQ(format_links(links),
              "</b>;rt=\"brski\",</b/rv>;rt=\"brski.rv\";ct=836,</b/vs>;rt=\"brski.vs\";ct=\"50 60\","
              "</b/es>;rt=\"brski.es\";ct=\"50 60\"");
}

// BRSKI links only when the gateway acts as registrar.
TEST(DiscoveryLinks, NoBrskiLinksByDefault) {
    EXPECT_TRUE(filter_links(discovery_links(DiscoveryConfig{}), {"rt=brski*"}).empty());
}

// RFC 9148 §4.1: att, skg and skc are listed only when implemented.
TEST(DiscoveryLinks, ListsOnlyEnabledOperations) {
    DiscoveryConfig c = rfc9148_config();
    c.enabled = {Operation::CaCerts, Operation::SimpleEnroll, Operation::SimpleReenroll};
    EXPECT_EQ(targets(discovery_links(c)), (std::vector<std::string>{"/est/crts", "/est/sen", "/est/sren"}));
}

// RFC 9148 §4.1: the well-known root is advertised when no other is configured.
TEST(DiscoveryLinks, DefaultRootIsWellKnown) {
    auto links = discovery_links(DiscoveryConfig{});
    EXPECT_EQ(links.front().target, "/.well-known/est");
    EXPECT_EQ(links[1].target, "/.well-known/est/crts");
}

// RFC 9148 §4.1: /<root>/<label>/<short> for each configured label.
TEST(DiscoveryLinks, EachLabelGetsItsOwnLinks) {
    DiscoveryConfig c = rfc9148_config();
    c.enabled = {Operation::CaCerts};
    c.labels = {"ca1", "ca2"};
    EXPECT_EQ(targets(discovery_links(c)),
              (std::vector<std::string>{"/est/crts", "/est/ca1/crts", "/est/ca2/crts"}));
}

// RFC 9148 §4.1: a non-default port is advertised with absolute links.
TEST(DiscoveryLinks, AuthorityMakesLinksAbsolute) {
    DiscoveryConfig c = rfc9148_config();
    c.enabled = {Operation::CaCerts};
    c.authority = "[2001:db8:3::123]:61617";
    EXPECT_EQ(format_links(discovery_links(c)),
              "<coaps://[2001:db8:3::123]:61617/est/crts>;rt=\"ace.est.crts\";ct=\"281 287 62\"");
}

// ---- filtering (RFC 6690 §4.1) ----

// RFC 9148 §4.1: ?rt=ace.est* is a prefix match: every EST link, the base included.
TEST(DiscoveryPayload, RtPrefixQuerySelectsEstLinks) {
    auto links = filter_links(discovery_links(registrar_config()), {"rt=ace.est*"});
    EXPECT_EQ(targets(links), (std::vector<std::string>{"/est", "/est/crts", "/est/sen", "/est/sren",
                                                        "/est/att", "/est/skg", "/est/skc"}));
}

// Without '*' the value must match exactly.
TEST(DiscoveryPayload, RtWithoutStarMatchesExactly) {
    EXPECT_EQ(discovery_payload(registrar_config(), {"rt=ace.est.sen"}),
              "</est/sen>;rt=\"ace.est.sen\";ct=\"281 287\"");
    EXPECT_EQ(discovery_payload(registrar_config(), {"rt=ace.est.se"}), "");
}

// RFC 6690 §4.1: ct is multi-valued; a link matches when any of its values does.
TEST(DiscoveryPayload, CtMatchesAnyOfSeveralValues) {
    auto links = filter_links(discovery_links(registrar_config()), {"ct=287"});
    EXPECT_EQ(targets(links), (std::vector<std::string>{"/est/crts", "/est/sen", "/est/sren"}));
}

// RFC 6690 §4.1: href filters on the link target, with the same prefix rule.
TEST(DiscoveryPayload, HrefMatchesTheTarget) {
    EXPECT_EQ(targets(filter_links(discovery_links(registrar_config()), {"href=/b/*"})),
              (std::vector<std::string>{"/b/rv", "/b/vs", "/b/es"}));
    EXPECT_EQ(targets(filter_links(discovery_links(registrar_config()), {"href=/est/att"})),
              std::vector<std::string>{"/est/att"});
}

// Our choice: several parameters must all match.
TEST(DiscoveryPayload, SeveralParametersMustAllMatch) {
    EXPECT_EQ(targets(filter_links(discovery_links(registrar_config()), {"rt=ace.est*", "ct=62"})),
              (std::vector<std::string>{"/est/crts", "/est/skg", "/est/skc"}));
}

// An attribute no link has (a join-proxy query, cBRSKI §6.1) selects nothing: 2.05 with an empty payload.
TEST(DiscoveryPayload, UnknownAttributeMatchesNothing) {
    EXPECT_EQ(discovery_payload(registrar_config(), {"brski-jp=*"}), "");
}

// A query parameter without '=' is no filter RFC 6690 defines: nothing matches.
TEST(DiscoveryPayload, ParameterWithoutEqualsMatchesNothing) {
    EXPECT_EQ(discovery_payload(registrar_config(), {"rt"}), "");
}

// Attribute names compare without case, values with case.
TEST(DiscoveryPayload, AttributeNameIgnoresCaseButValueDoesNot) {
    EXPECT_EQ(targets(filter_links(discovery_links(registrar_config()), {"RT=brski.rv"})),
              std::vector<std::string>{"/b/rv"});
    EXPECT_TRUE(filter_links(discovery_links(registrar_config()), {"rt=BRSKI.rv"}).empty());
}

// Attributes that are not lists (title, RFC 6690 §3) match on their whole value.
TEST(FilterLinks, SingleValuedAttributeMatchesTheWholeValue) {
    auto links = parse_link_format("</a>;title=\"a b\",</b>;title=a");
    ASSERT_TRUE(links) << links.error().message;
    EXPECT_EQ(targets(filter_links(*links, {"title=a"})), std::vector<std::string>{"/b"});
    EXPECT_EQ(targets(filter_links(*links, {"title=a*"})), (std::vector<std::string>{"/a", "/b"}));
}

// No query: every link.
TEST(DiscoveryPayload, EmptyQueryListsEverything) {
    EXPECT_EQ(discovery_payload(registrar_config(), {}), format_links(discovery_links(registrar_config())));
}

// A bare "*" matches any link that has the attribute at all.
TEST(DiscoveryPayload, StarAloneMatchesAnyValue) {
    EXPECT_EQ(filter_links(discovery_links(registrar_config()), {"ct=*"}).size(), 9u);
}

// "rt=a&ct=b" as Uri-Query options.
TEST(SplitQuery, SplitsOnAmpersandAndDropsEmptyPieces) {
    EXPECT_EQ(split_query("rt=ace.est*&&ct=281&"), (std::vector<std::string>{"rt=ace.est*", "ct=281"}));
    EXPECT_TRUE(split_query("").empty());
}

// ---- parsing (RFC 6690 §2) ----

// RFC 9148 §4.1: the example parses into six links with their attributes.
TEST(ParseLinkFormat, ParsesTheRfc9148Example) {
    auto links = parse_link_format(kRfc9148Example);
    ASSERT_TRUE(links) << links.error().message;
    ASSERT_EQ(links->size(), 6u);
    EXPECT_EQ((*links)[0].target, "/est/crts");
    EXPECT_EQ((*links)[0].attribute("rt"), "ace.est.crts");
    EXPECT_EQ((*links)[0].attribute("ct"), "281 287");
    EXPECT_EQ((*links)[3].attribute("ct"), "285");
    EXPECT_FALSE((*links)[3].attribute("if").has_value());
}

// The RFC's own layout, a newline after each comma, is accepted.
TEST(ParseLinkFormat, AcceptsWhiteSpaceAfterCommas) {
    auto links = parse_link_format("</est/crts>;rt=\"ace.est.crts\",\r\n  </est/sen>;rt=\"ace.est.sen\"\n");
    ASSERT_TRUE(links) << links.error().message;
    EXPECT_EQ(targets(*links), (std::vector<std::string>{"/est/crts", "/est/sen"}));
}

// format_links(parse_link_format(x)) == x for what we send.
TEST(ParseLinkFormat, RoundTripsOurDiscoveryPayload) {
    const std::string payload = discovery_payload(registrar_config(), {});
    auto links = parse_link_format(payload);
    ASSERT_TRUE(links) << links.error().message;
    EXPECT_EQ(*links, discovery_links(registrar_config()));
    EXPECT_EQ(format_links(*links), payload);
}

// RFC 6690 §2: a parameter may have no value ("obs"); quoted-pairs unescape.
TEST(ParseLinkFormat, ParsesBareParametersAndEscapes) {
    auto links = parse_link_format(R"(</s>;obs;title="a \"b\" \\ c";sz=12)");
    ASSERT_TRUE(links) << links.error().message;
    ASSERT_EQ(links->size(), 1u);
    const Link& l = links->front();
    ASSERT_EQ(l.params.size(), 3u);
    EXPECT_EQ(l.params[0].name, "obs");
    EXPECT_FALSE(l.params[0].value.has_value());
    EXPECT_EQ(l.attribute("title"), "a \"b\" \\ c");
    EXPECT_EQ(l.attribute("SZ"), "12");
    EXPECT_EQ(format_links(*links), R"(</s>;obs;title="a \"b\" \\ c";sz=12)");
}

// An unquoted value that is not a ptoken is quoted when formatted, so the output always parses.
TEST(FormatLinks, QuotesValuesThatAreNotPtokens) {
    Link l{"/x", {LinkParam{"title", std::string("a b"), false}, LinkParam{"e", std::string(), false}}};
    EXPECT_EQ(format_links({l}), "</x>;title=\"a b\";e=\"\"");
}

// RFC 6690 §2: an empty document is an empty list; so is white space alone.
TEST(ParseLinkFormat, EmptyInputIsNoLinks) {
    auto links = parse_link_format(" \r\n");
    ASSERT_TRUE(links);
    EXPECT_TRUE(links->empty());
}

// Everything outside the grammar is rejected with the offset.
TEST(ParseLinkFormat, RejectsMalformedInput) {
    for (const char* bad : {
             "/est/crts",            // no angle brackets
             "</est/crts",           // unterminated target
             "</a b>",               // space inside the target
             "</a>;",                // ';' without a parameter
             "</a>;rt=",             // '=' without a value
             "</a>;rt=\"x",          // unterminated quoted value
             "</a>;rt=\"x\ny\"",     // control character inside quotes
             "</a>;rt=x y",          // space inside a token
             "</a>,",                // trailing comma
             "</a> ,</b>",           // white space before the comma
             "</a>;r t=x",           // space inside a parameter name
             "</a></b>",             // missing comma
             "</a>;rt=\"x\"y",       // junk after a quoted value
             "</a>;rt=\"x\\",        // backslash at the end
             "</a>;rt=\"x\\\x1c\"",  // escaped control character
         }) {
        auto r = parse_link_format(bad);
        EXPECT_EQ(r.status(), Status::BadRequest) << bad;
        if (!r) {
            EXPECT_NE(r.error().message.find("offset"), std::string::npos);
        }
    }
}

}  // namespace
}  // namespace estgw::mapping
