// The pledge journal's names and what `estgw pledges list` and `estgw pledges show` print
// (certs/journal.hpp).
#include "certs/journal.hpp"

#include <gtest/gtest.h>

namespace estgw::certs {
namespace {

const PledgeKey kPledge{"CN=estgw demo manufacturer CA,O=estgw demo", "0A1B"};

JourneyEvent event(JourneyStep step, std::int64_t at_ms,
                   std::vector<std::pair<std::string, std::string>> fields, const PledgeKey& pledge = kPledge,
                   std::string device_serial = "pledge-0001") {
    return JourneyEvent{pledge, std::move(device_serial), step, at_ms, std::move(fields)};
}

TEST(JourneyStepName, EveryStepHasItsSpellingAndParsesBack) {
    const std::pair<JourneyStep, std::string_view> expected[] = {
        {JourneyStep::VoucherRequest, "voucher-request"}, {JourneyStep::MasaCall, "masa-call"},
        {JourneyStep::VoucherIssued, "voucher-issued"},   {JourneyStep::VoucherRefused, "voucher-refused"},
        {JourneyStep::VoucherStatus, "voucher-status"},   {JourneyStep::Enrolled, "enrolled"},
        {JourneyStep::EnrollStatus, "enroll-status"},
    };
    for (const auto& [step, name] : expected) {
        EXPECT_EQ(journey_step_name(step), name);
        EXPECT_EQ(parse_journey_step_name(name), step) << name;
    }
}

TEST(JourneyStepName, AnUnknownOrDifferentlyCasedNameDoesNotParse) {
    EXPECT_FALSE(parse_journey_step_name("Enrolled").has_value());
    EXPECT_FALSE(parse_journey_step_name("enrolled ").has_value());
    EXPECT_FALSE(parse_journey_step_name("").has_value());
}

TEST(PledgeList, WithoutPledgesIsTheHeaderAlone) {
    EXPECT_EQ(format_pledge_list({}), std::string(kPledgeListHeader) + "\n");
}

TEST(PledgeList, OneLinePerPledgeWithTheLatestStepItsOutcomeAndTheStepCount) {
    PledgeSummary summary{kPledge, "pledge-0001", 1764950400000,
                          event(JourneyStep::VoucherRefused, 1764950400123,
                                {{"code", "4.03"}, {"reason", "serial-number mismatch"}}),
                          3};
    EXPECT_EQ(format_pledge_list({summary}),
              std::string(kPledgeListHeader) +
                  "\npledge-0001\t0A1B\tCN=estgw demo manufacturer CA,O=estgw demo\tvoucher-refused\t4.03: "
                  "serial-number mismatch\t2025-12-05T16:00:00.123Z\t3\n");
}

TEST(PledgeList, AStepWithoutOutcomeAndAnEmptyDeviceSerialShowADash) {
    PledgeSummary summary{kPledge, "", 0,
                          event(JourneyStep::Enrolled, 1000, {{"ldevid_serial", "7F"}}, kPledge, ""), 1};
    const std::string out = format_pledge_list({summary});
    EXPECT_NE(out.find("\n-\t0A1B\t"), std::string::npos) << out;
    EXPECT_NE(out.find("\tenrolled\t-\t1970-01-01T00:00:01.000Z\t1\n"), std::string::npos) << out;
}

TEST(PledgeList, AStatusWithoutReasonIsTheStatusAlone) {
    PledgeSummary summary{kPledge, "d", 0,
                          event(JourneyStep::VoucherStatus, 0, {{"version", "1"}, {"status", "true"}}), 2};
    EXPECT_NE(format_pledge_list({summary}).find("\tvoucher-status\ttrue\t"), std::string::npos);
}

TEST(PledgeList, AMasaCallWithoutAnswerShowsItsFailure) {
    PledgeSummary summary{
        kPledge, "d", 0,
        event(
            JourneyStep::MasaCall, 0,
            {{"url", "https://masa:9443"}, {"http_status", "0"}, {"ms", "30000"}, {"failure", "timed out"}}),
        2};
    EXPECT_NE(format_pledge_list({summary}).find("\tmasa-call\t0: timed out\t"), std::string::npos);
}

TEST(PledgeList, ControlCharactersCannotSplitALine) {
    PledgeSummary summary{kPledge, "evil\tserial\n", 0,
                          event(JourneyStep::EnrollStatus, 0, {{"status", "false"}, {"reason", "bad\nkey"}}),
                          1};
    const std::string out = format_pledge_list({summary});
    EXPECT_NE(out.find("\nevil?serial?\t0A1B\t"), std::string::npos) << out;
    EXPECT_NE(out.find("\tfalse: bad?key\t"), std::string::npos) << out;
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2);
}

TEST(PledgeList, TimesBefore1970StillReadAsTimes) {
    PledgeSummary summary{kPledge, "d", 0, event(JourneyStep::VoucherRequest, -1, {}), 1};
    EXPECT_NE(format_pledge_list({summary}).find("\t1969-12-31T23:59:59.999Z\t"), std::string::npos);
}

TEST(Journey, NothingForNoEvents) {
    EXPECT_EQ(format_journey({}), "");
}

TEST(Journey, AHeadingThenOneIndentedLinePerStepWithItsFieldsInOrder) {
    const std::string out = format_journey(
        {event(JourneyStep::VoucherRequest, 1764950400000, {{"nonce", "A1B2"}, {"proximity", "cert"}}),
         event(JourneyStep::VoucherStatus, 1764950400250,
               {{"status", "false"}, {"reason", "nonce mismatch"}, {"version", "1"}})});
    EXPECT_EQ(
        out,
        "pledge pledge-0001  idevid-serial=0A1B  idevid-issuer=\"CN=estgw demo manufacturer CA,O=estgw "
        "demo\"\n"
        "  2025-12-05T16:00:00.000Z  voucher-request  nonce=A1B2  proximity=cert\n"
        "  2025-12-05T16:00:00.250Z  voucher-status  status=false  reason=\"nonce mismatch\"  version=1\n");
}

TEST(Journey, QuotesAndBackslashesInAValueAreEscapedAndAnEmptyValueIsQuoted) {
    const std::string out = format_journey(
        {event(JourneyStep::VoucherRefused, 0, {{"code", "4.00"}, {"reason", "say \"hi\\\""}, {"x", ""}})});
    EXPECT_NE(out.find("  reason=\"say \\\"hi\\\\\\\"\"  x=\"\"\n"), std::string::npos) << out;
}

TEST(Journey, EachPledgeGetsItsOwnHeadingSeparatedByABlankLine) {
    const PledgeKey other{"CN=other manufacturer", "FF"};
    const std::string out =
        format_journey({event(JourneyStep::VoucherRequest, 0, {}), event(JourneyStep::VoucherIssued, 1, {}),
                        event(JourneyStep::VoucherRequest, 2, {}, other, "")});
    EXPECT_NE(out.find("\n\npledge -  idevid-serial=FF  idevid-issuer=\"CN=other manufacturer\"\n"),
              std::string::npos)
        << out;
    EXPECT_EQ(out.find("pledge pledge-0001"), 0u) << out;
    EXPECT_EQ(out.find("pledge pledge-0001", 1), std::string::npos) << out;
}

TEST(Journey, ControlCharactersInValuesKeepAStepOnOneLine) {
    const std::string out = format_journey({event(JourneyStep::EnrollStatus, 0, {{"reason", "a\nb"}})});
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
    EXPECT_NE(out.find("reason=a?b\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace estgw::certs
