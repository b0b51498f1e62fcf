#include "brski/telemetry.hpp"

#include "common/json_reader.hpp"

namespace estgw::brski {

namespace {

Error bad(std::string message) {
    return make_error(Status::BadRequest, "telemetry: " + std::move(message));
}

Result<cbor::Value> decode_body(std::optional<ContentFormat> format, ByteView body) {
    if (format == ContentFormat::Cbor) {
        // The pledge's CBOR encoder may write indefinite lengths (RFC 9254 §3 makes decoders take them).
        cbor::DecodeLimits limits;
        limits.allow_indefinite = true;
        auto value = cbor::decode(body, limits);
        if (!value) return bad(value.error().message);
        return value;
    }
    if (format == ContentFormat::Json) {
        auto value = parse_json(to_string(body));
        if (!value) return bad(value.error().message);
        return value;
    }
    return make_error(
        Status::UnsupportedFormat,
        "telemetry is application/cbor (Content-Format 60) or application/json (50), not " +
            (format ? std::to_string(static_cast<unsigned>(*format)) : std::string("unlabelled")));
}

}  // namespace

Result<Telemetry> parse_telemetry(std::optional<ContentFormat> format, ByteView body) {
    auto value = decode_body(format, body);
    if (!value) return value.error();
    if (!value->is_map()) return bad("the body is not a map");

    Telemetry t;
    bool has_version = false, has_status = false;
    for (const auto& [key, member] : value->as_map()) {
        const std::string* name = key.is_text() ? &key.as_text() : nullptr;
        if (name && *name == "version") {
            if (!member.is_uint()) return bad("\"version\" must be an unsigned integer");
            t.version = member.as_uint();
            has_version = true;
        } else if (name && *name == "status") {
            if (!member.is_bool()) return bad("\"status\" must be true or false");
            t.status = member.as_bool();
            has_status = true;
        } else if (name && *name == "reason") {
            if (!member.is_text()) return bad("\"reason\" must be text");
            t.reason = member.as_text();
        } else if (name && *name == "reason-context") {
            t.reason_context = member;
        } else {
            t.unknown.emplace_back(key, member);
        }
    }
    // RFC 8995 §5.7 / §5.9.4: both are mandatory.
    if (!has_version) return bad("\"version\" is missing");
    if (!has_status) return bad("\"status\" is missing");
    return t;
}

}  // namespace estgw::brski
