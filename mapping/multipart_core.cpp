#include "mapping/multipart_core.hpp"

#include <string>

#include "common/cbor.hpp"
#include "mapping/content_format.hpp"

namespace estgw::mapping {

namespace {

constexpr std::uint64_t kMaxContentFormat = 0xffff;  // uint .size 2

Error malformed(const std::string& what) {
    return make_error(Status::BadRequest, "multipart-core: " + what);
}

}  // namespace

Bytes encode_multipart_core(const std::vector<BodyPart>& parts) {
    cbor::Array items;
    items.reserve(parts.size() * 2);
    for (const auto& part : parts) {
        items.emplace_back(std::uint64_t{content_format_number(part.format)});
        items.emplace_back(part.body ? cbor::Value(*part.body) : cbor::Value(nullptr));
    }
    return cbor::encode(cbor::Value(std::move(items)));
}

Result<std::vector<BodyPart>> decode_multipart_core(ByteView cbor) {
    auto decoded = cbor::decode(cbor);
    if (!decoded) return malformed(decoded.error().message);
    if (!decoded->is_array()) return malformed("not a CBOR array");
    auto& items = std::get<cbor::Array>(decoded->v);
    if (items.size() % 2 != 0) {
        return malformed("array has odd length " + std::to_string(items.size()) +
                         " (content-format/representation pairs expected)");
    }
    std::vector<BodyPart> parts;
    parts.reserve(items.size() / 2);
    for (std::size_t k = 0; k < items.size(); k += 2) {
        const std::string where = "part " + std::to_string(k / 2) + ": ";
        const cbor::Value& number = items[k];
        if (!number.is_uint()) return malformed(where + "content-format is not an unsigned integer");
        if (number.as_uint() > kMaxContentFormat) {
            return malformed(where + "content-format " + std::to_string(number.as_uint()) + " exceeds 65535");
        }
        auto format = content_format_from_number(static_cast<unsigned>(number.as_uint()));
        if (!format) {
            return malformed(where + "content-format " + std::to_string(number.as_uint()) + " is unknown");
        }
        cbor::Value& representation = items[k + 1];
        BodyPart part{*format, std::nullopt};
        if (representation.is_bytes()) {
            part.body = std::move(std::get<Bytes>(representation.v));
        } else if (!representation.is_null()) {
            return malformed(where + "representation is neither a byte string nor null");
        }
        parts.push_back(std::move(part));
    }
    return parts;
}

}  // namespace estgw::mapping
