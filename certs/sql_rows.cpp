#include "certs/sql_rows.hpp"

#include <algorithm>
#include <cctype>

#include "common/json.hpp"

namespace estgw::certs {

std::string uppercase_serial(std::string_view serial) {
    std::string out(serial);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return out;
}

std::string journey_fields_json(const std::vector<std::pair<std::string, std::string>>& fields) {
    std::string out = "{";
    for (const auto& [name, value] : fields) {
        if (out.size() > 1) out += ',';
        append_json_string(out, name);
        out += ':';
        append_json_string(out, value);
    }
    out += '}';
    return out;
}

std::string linked_ldevid_serial(const JourneyEvent& event) {
    std::string serial;
    if (event.step != JourneyStep::Enrolled) return serial;
    for (const auto& [name, value] : event.fields) {
        if (name == "ldevid_serial") serial = uppercase_serial(value);
    }
    return serial;
}

}  // namespace estgw::certs
