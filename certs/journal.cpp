#include "certs/journal.hpp"

#include <cstdio>
#include <ctime>

#include "certs/store.hpp"

namespace estgw::certs {

namespace {

// The spelling of each step, and which of its fields `pledges list` shows as the outcome (with its reason)
// when the step is a pledge's latest. A MASA call has no status of its own but an HTTP one, and the failure
// when there was no answer: what an operator looks for when pledges stop at "masa-call".
struct StepRow {
    JourneyStep step;
    std::string_view name;
    std::string_view outcome_field;  // empty: the step has no outcome
    std::string_view reason_field;
};
constexpr StepRow kSteps[] = {
    // step                        name               outcome         reason
    {JourneyStep::VoucherRequest, "voucher-request", "", ""},
    {JourneyStep::MasaCall, "masa-call", "http_status", "failure"},
    {JourneyStep::VoucherIssued, "voucher-issued", "", ""},
    {JourneyStep::VoucherRefused, "voucher-refused", "code", "reason"},
    {JourneyStep::VoucherStatus, "voucher-status", "status", "reason"},
    {JourneyStep::Enrolled, "enrolled", "", ""},
    {JourneyStep::EnrollStatus, "enroll-status", "status", "reason"},
};

const StepRow* step_row(JourneyStep step) {
    for (const StepRow& row : kSteps) {
        if (row.step == step) return &row;
    }
    return nullptr;
}

std::string_view field(const JourneyEvent& event, std::string_view name) {
    for (const auto& [key, value] : event.fields) {
        if (key == name) return value;
    }
    return {};
}

// "2025-06-01T12:00:00.123Z".
std::string format_utc_ms(std::int64_t unix_ms) {
    // Floor division, so that a time before 1970 still reads as a time and not as negative milliseconds.
    std::int64_t seconds = unix_ms / 1000;
    std::int64_t millis = unix_ms % 1000;
    if (millis < 0) {
        millis += 1000;
        --seconds;
    }
    const auto t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    if (gmtime_r(&t, &tm) == nullptr) return std::to_string(unix_ms);
    char text[40];
    const std::size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
    char fraction[8];
    std::snprintf(fraction, sizeof fraction, ".%03dZ", static_cast<int>(millis));
    return std::string(text, length) + fraction;
}

std::string latest_outcome(const JourneyEvent& event) {
    const StepRow* row = step_row(event.step);
    if (row == nullptr || row->outcome_field.empty()) return "-";
    const std::string_view outcome = field(event, row->outcome_field);
    const std::string_view reason = field(event, row->reason_field);
    if (outcome.empty() && reason.empty()) return "-";
    std::string text(outcome.empty() ? "-" : outcome);
    if (!reason.empty()) text += ": " + std::string(reason);
    return list_column(text);
}

// A value of `pledges show`: as it is when it is one word, else in double quotes with '"' and '\' escaped.
// Control characters become '?' either way, so that a step stays one line.
std::string show_value(std::string_view value) {
    bool plain = !value.empty();
    std::string text;
    for (char c : value) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
        if (c == ' ' || c == '"' || c == '\\') plain = false;
        text.push_back(c);
    }
    if (plain) return text;
    std::string quoted = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\') quoted.push_back('\\');
        quoted.push_back(c);
    }
    quoted.push_back('"');
    return quoted;
}

std::string pledge_heading(const PledgeKey& pledge, std::string_view device_serial) {
    return "pledge " + show_value(device_serial.empty() ? "-" : device_serial) +
           "  idevid-serial=" + show_value(pledge.idevid_serial) +
           "  idevid-issuer=" + show_value(pledge.idevid_issuer) + "\n";
}

}  // namespace

std::string_view journey_step_name(JourneyStep step) {
    const StepRow* row = step_row(step);
    return row != nullptr ? row->name : "unknown";
}

std::optional<JourneyStep> parse_journey_step_name(std::string_view name) {
    for (const StepRow& row : kSteps) {
        if (row.name == name) return row.step;
    }
    return std::nullopt;
}

std::string format_pledge_list(const std::vector<PledgeSummary>& pledges) {
    std::string out(kPledgeListHeader);
    out += '\n';
    for (const PledgeSummary& summary : pledges) {
        for (const std::string& column :
             {list_column(summary.device_serial), list_column(summary.pledge.idevid_serial),
              list_column(summary.pledge.idevid_issuer), std::string(journey_step_name(summary.latest.step)),
              latest_outcome(summary.latest), format_utc_ms(summary.latest.at_ms)}) {
            out += column;
            out += '\t';
        }
        out += std::to_string(summary.steps);
        out += '\n';
    }
    return out;
}

std::string format_journey(const std::vector<JourneyEvent>& events) {
    std::string out;
    for (std::size_t i = 0; i < events.size(); ++i) {
        const bool new_pledge = i == 0 || !(events[i].pledge == events[i - 1].pledge);
        if (new_pledge) {
            // The device serial-number a pledge showed first; every step of one IDevID carries the same.
            std::string_view device_serial;
            for (std::size_t j = i; j < events.size() && events[j].pledge == events[i].pledge; ++j) {
                if (!events[j].device_serial.empty()) {
                    device_serial = events[j].device_serial;
                    break;
                }
            }
            if (i > 0) out += '\n';
            out += pledge_heading(events[i].pledge, device_serial);
        }
        out += "  " + format_utc_ms(events[i].at_ms) + "  " + std::string(journey_step_name(events[i].step));
        for (const auto& [name, value] : events[i].fields) {
            out += "  " + show_value(name) + "=" + show_value(value);
        }
        out += '\n';
    }
    return out;
}

}  // namespace estgw::certs
