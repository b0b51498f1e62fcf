#include "brski/voucher_answer.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "common/cbor.hpp"
#include "common/cose.hpp"

namespace estgw::brski {

namespace {

Error not_a_voucher(const std::string& what) {
    return make_error(Status::UpstreamFailed, "the MASA's voucher is not a COSE_Sign1: " + what);
}

// The length of a CBOR head (initial byte and argument) for additional information `ai` (RFC 8949 §3).
std::size_t head_length(std::uint8_t initial) {
    switch (initial & 0x1f) {
        case 24:
            return 2;
        case 25:
            return 3;
        case 26:
            return 5;
        case 27:
            return 9;
        default:
            return 1;  // 0..23 and 31 (indefinite); 28..30 do not pass decode_sign1
    }
}

// RFC 9360 §2, cBRSKI §6.8: the certificates the pledge must not receive.
bool is_certificate_label(const cbor::Value& key) {
    const auto label = key.to_int64();
    return label && (*label == cose::kHeaderX5Bag || *label == cose::kHeaderX5Chain);
}

}  // namespace

Result<Bytes> strip_voucher_certificates(ByteView voucher) {
    // The strict decoder decides what a COSE_Sign1 is; the splice below only finds where its parts are.
    auto message = cose::decode_sign1(voucher);
    if (!message) return not_a_voucher(message.error().message);

    cbor::DecodeLimits limits;
    limits.allow_indefinite = true;
    const std::size_t tag_head = head_length(voucher[0]);
    const std::size_t array_head = head_length(voucher[tag_head]);
    const bool indefinite_array = (voucher[tag_head] & 0x1f) == 31;

    // [protected, unprotected, payload, signature], each as its exact bytes.
    std::array<ByteView, 4> parts;
    std::size_t at = tag_head + array_head;
    for (ByteView& part : parts) {
        auto length = cbor::item_length(voucher.subspan(at), limits);
        if (!length) return not_a_voucher(length.error().message);
        part = voucher.subspan(at, *length);
        at += *length;
    }

    cbor::Map kept;
    for (const auto& entry : message->unprotected) {
        if (!is_certificate_label(entry.first)) kept.push_back(entry);
    }

    Bytes out(voucher.begin(), voucher.begin() + static_cast<std::ptrdiff_t>(tag_head + array_head));
    out.insert(out.end(), parts[0].begin(), parts[0].end());
    const Bytes unprotected = cbor::encode(cbor::Value(std::move(kept)));  // an empty map is A0
    out.insert(out.end(), unprotected.begin(), unprotected.end());
    for (const ByteView& part : {parts[2], parts[3]})
        out.insert(out.end(), part.begin(), part.end());
    if (indefinite_array) out.push_back(0xff);  // the break, which decode_sign1 found right after the four
    return out;
}

}  // namespace estgw::brski
