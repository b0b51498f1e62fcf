// Every pledge's journey through the registrar (issue 13 §3; BRSKI.md §3.7 "per pledge ... keep: PVR, RVR,
// MASA status, voucher, /vs, enrollment result, /es"): one row per step, committed before the answer that
// step produces goes out, so that `estgw pledges show` never misses a step a pledge saw the result of.
//
// A pledge is its IDevID: the issuer's name and the certificate's serial number. The device's own
// serial-number (the X520 serialNumber of the IDevID subject, what vouchers name) is kept beside it for
// look-up and display. An LDevID issued to a pledge over its IDevID session is linked to the pledge by its
// serial, so that an /es sent over a session authenticated with the new LDevID lands in the same journey.
//
// Implemented by the SQL stores (certs/sqlite_store.hpp, certs/postgres_store.hpp); nothing here depends on
// a database.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace estgw::certs {

struct PledgeKey {
    std::string idevid_issuer;  // RFC 2253
    std::string idevid_serial;  // the IDevID certificate's serial number, uppercase hex (certs::serial_hex)

    bool operator==(const PledgeKey&) const = default;
};

enum class JourneyStep {
    VoucherRequest,  // PVR received: nonce (hex), proximity ("cert", "pubk", "pubk-sha256", comma-separated)
    MasaCall,        // MASA called: url, http_status (0 when no answer), ms, failure (text, when no answer)
    VoucherIssued,   // voucher returned to the pledge: assertion, pinned_ca_sha256 (hex of the pinned cert)
    VoucherRefused,  // /rv answered with an error: code ("4.03"), reason
    VoucherStatus,   // /vs: status ("true"/"false"), reason, version
    Enrolled,        // certificate issued to the pledge: ldevid_serial, operation ("enroll", "rekey", ...)
    EnrollStatus,    // /es: status, reason, version, session ("ldevid", "idevid" or "other": see below)
};

// "voucher-request", "masa-call", "voucher-issued", "voucher-refused", "voucher-status", "enrolled",
// "enroll-status": the spelling stored and shown.
std::string_view journey_step_name(JourneyStep step);
std::optional<JourneyStep> parse_journey_step_name(std::string_view name);

struct JourneyEvent {
    PledgeKey pledge;
    std::string device_serial;  // X520 serialNumber of the IDevID subject; empty when it has none
    JourneyStep step = JourneyStep::VoucherRequest;
    std::int64_t at_ms = 0;  // Unix milliseconds
    // Step-specific facts in a fixed order (see JourneyStep), name → value; stored as a JSON object of
    // strings. Values are text as shown to an operator; never a private key or a whole CSR.
    std::vector<std::pair<std::string, std::string>> fields;

    bool operator==(const JourneyEvent&) const = default;
};

// One line of `estgw pledges list`: a pledge and its latest step.
struct PledgeSummary {
    PledgeKey pledge;
    std::string device_serial;
    std::int64_t first_ms = 0;
    JourneyEvent latest;
    std::size_t steps = 0;
};

class PledgeJournal {
  public:
    virtual ~PledgeJournal() = default;

    // Returns only after the event is committed.
    virtual Result<void> record(const JourneyEvent& event) = 0;
    // Every pledge, the most recently active first.
    virtual Result<std::vector<PledgeSummary>> pledges() = 0;
    // The journeys of every pledge whose device serial-number or IDevID certificate serial (hex, any case)
    // is `serial`, each in the order recorded (time, then insertion order); pledges one after the other.
    virtual Result<std::vector<JourneyEvent>> journey(std::string_view serial) = 0;
    // The pledge an LDevID (certificate serial, hex any case) was issued to, from its Enrolled step.
    virtual Result<std::optional<PledgeKey>> pledge_of_ldevid(std::string_view ldevid_serial) = 0;
    // Whether a VoucherIssued step is recorded for the pledge (--require-voucher).
    virtual Result<bool> voucher_issued(const PledgeKey& pledge) = 0;
};

// `estgw pledges list`: a header, then one tab-separated line per pledge, each ending in '\n':
//   device-serial  idevid-serial  idevid-issuer  latest-step  latest-outcome  latest-at  steps
// latest-outcome is the step's status or code with its reason when it has one ("4.03: serial mismatch"; for a
// MASA call its http_status and failure; "-" otherwise); times RFC 3339 UTC with milliseconds; "-" for empty
// fields; control characters become '?'.
std::string format_pledge_list(const std::vector<PledgeSummary>& pledges);
inline constexpr std::string_view kPledgeListHeader =
    "device-serial\tidevid-serial\tidevid-issuer\tlatest-step\tlatest-outcome\tlatest-at\tsteps";
// `estgw pledges show`: per pledge a heading line ("pledge DEVICE-SERIAL  idevid-serial=..
// idevid-issuer=.."), then one line per step, indented by two spaces: time, step name, then the fields as
// name=value, separated by two spaces (values that are empty or hold a space, '"' or '\' in double quotes
// with '"' and '\' backslash-escaped; control characters become '?'); a blank line between pledges.
std::string format_journey(const std::vector<JourneyEvent>& events);

}  // namespace estgw::certs
