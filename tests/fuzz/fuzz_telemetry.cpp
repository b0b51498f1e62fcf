// BRSKI telemetry (/vs, /es) as the registrar reads it: the first byte picks the Content-Format (even: CBOR,
// odd: JSON), the rest is the body. Whatever JSON is read and has a JSON form again must read back equal,
// so the string escapes and numbers of the JSON reader are checked against the JSON writer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "brski/telemetry.hpp"
#include "common/json_reader.hpp"
#include "mapping/telemetry_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace estgw;
    if (size == 0) return 0;
    const bool json = (data[0] & 1) != 0;
    const ByteView body(data + 1, size - 1);
    auto telemetry = brski::parse_telemetry(json ? ContentFormat::Json : ContentFormat::Cbor, body);
    if (telemetry && telemetry->version_unknown() != (telemetry->version > 1)) std::abort();
    if (!telemetry && telemetry.status() != Status::BadRequest) std::abort();
    if (!json) return 0;

    auto value = parse_json(to_string(body));
    if (telemetry && !value) std::abort();
    if (!value) return 0;
    auto written = mapping::cbor_to_json(*value);  // refuses the decimal fractions non-integers become
    if (!written) return 0;
    auto again = parse_json(*written);
    if (!again || !(*again == *value)) std::abort();
    return 0;
}
