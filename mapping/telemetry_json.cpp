#include "mapping/telemetry_json.hpp"

#include <optional>
#include <set>
#include <string_view>
#include <variant>

#include "common/base64.hpp"
#include "common/json.hpp"

namespace estgw::mapping {

namespace {

Error bad(std::string message) {
    return make_error(Status::BadRequest, "telemetry: " + std::move(message));
}

// RFC 8949 §6.1: byte strings become base64url without padding.
std::string base64url(ByteView bytes) {
    std::string s = base64_encode(bytes);
    while (!s.empty() && s.back() == '=')
        s.pop_back();
    for (char& c : s) {
        if (c == '+') c = '-';
        if (c == '/') c = '_';
    }
    return s;
}

// Decimal text of an integer value, whichever alternative holds it; nullopt for non-integers.
std::optional<std::string> integer_text(const cbor::Value& v) {
    if (const auto* u = std::get_if<std::uint64_t>(&v.v)) return std::to_string(*u);
    if (const auto* i = std::get_if<std::int64_t>(&v.v)) return std::to_string(*i);
    if (const auto* n = std::get_if<cbor::Value::NegativeBig>(&v.v)) {
        // The value is -1-n; n+1 overflows only for n = 2^64-1.
        if (n->n == UINT64_MAX) return std::string("-18446744073709551616");
        return "-" + std::to_string(n->n + 1);
    }
    return std::nullopt;
}

Result<void> append_json(std::string& out, const cbor::Value& v);

Result<void> append_map(std::string& out, const cbor::Map& map) {
    std::set<std::string>
        names;  // 1 and "1" would both become "1": JSON names SHOULD be unique (RFC 8259 §4)
    out.push_back('{');
    bool first = true;
    for (const auto& [key, value] : map) {
        std::string name;
        if (key.is_text()) {
            name = key.as_text();
        } else if (auto number = integer_text(key)) {
            name = *number;
        } else {
            return bad("a map key that is neither text nor an integer has no JSON form");
        }
        if (!names.insert(name).second) return bad("map keys collide as JSON name \"" + name + "\"");
        if (!first) out.push_back(',');
        first = false;
        append_json_string(out, name);
        out.push_back(':');
        auto r = append_json(out, value);
        if (!r) return r;
    }
    out.push_back('}');
    return {};
}

Result<void> append_json(std::string& out, const cbor::Value& v) {
    if (auto number = integer_text(v)) {
        out += *number;
    } else if (v.is_text()) {
        append_json_string(out, v.as_text());
    } else if (v.is_bytes()) {
        append_json_string(out, base64url(v.as_bytes()));
    } else if (v.is_bool()) {
        out += v.as_bool() ? "true" : "false";
    } else if (v.is_null()) {
        out += "null";
    } else if (v.is_array()) {
        out.push_back('[');
        bool first = true;
        for (const auto& item : v.as_array()) {
            if (!first) out.push_back(',');
            first = false;
            auto r = append_json(out, item);
            if (!r) return r;
        }
        out.push_back(']');
    } else if (v.is_map()) {
        return append_map(out, v.as_map());
    } else {
        return bad("tag " + std::to_string(v.as_tag().tag) + " has no JSON form");
    }
    return {};
}

}  // namespace

Result<std::string> cbor_to_json(const cbor::Value& value) {
    std::string out;
    auto r = append_json(out, value);
    if (!r) return r.error();
    return out;
}

Result<std::string> telemetry_cbor_to_json(ByteView cbor_body) {
    auto value = cbor::decode(cbor_body);
    if (!value) return bad(value.error().message);
    // RFC 8995 §5.7 and §5.9.4 define the telemetry as a JSON object.
    if (!value->is_map()) return bad("body is not a CBOR map");
    return cbor_to_json(*value);
}

}  // namespace estgw::mapping
