// What the voucher model refuses (BRSKI.md §1.2 "Strictness", our choice), each with a message naming it.
#include <gtest/gtest.h>

#include <string>

#include "brski/voucher.hpp"
#include "brski/voucher_test_support.hpp"
#include "common/cbor.hpp"
#include "support/test_data.hpp"

namespace estgw::brski {
namespace {

using test::hex;
using test::read_hex;
using Map = cbor::Map;
using Value = cbor::Value;

Value sid(std::uint64_t absolute) {
    return Value::tagged(47, absolute);
}

// A voucher request with the given leaves under 2501.
Bytes request(Map leaves) {
    return cbor::encode(Map{{2501, std::move(leaves)}});
}

void expect_refused(Kind kind, const Bytes& payload, const std::string& phrase) {
    const std::string message = refusal(kind, payload);
    EXPECT_NE(message.find(phrase), std::string::npos) << message;
}

// ---------------------------------------------------------------------------------------------------------
// The outer map.

TEST(VoucherStrictness, OuterMapWithTwoEntriesIsRefused) {
    expect_refused(Kind::VoucherRequest, cbor::encode(Map{{2501, Map{{1, 2}}}, {2451, Map{{1, 2}}}}),
                   "voucher request: the outer map must hold exactly one entry");
}

TEST(VoucherStrictness, EmptyOuterMapIsRefused) {
    expect_refused(Kind::Voucher, cbor::encode(Map{}),
                   "exactly one entry (the voucher container), it holds 0");
}

TEST(VoucherStrictness, PayloadThatIsNotAMapIsRefused) {
    expect_refused(Kind::Voucher, cbor::encode(cbor::Array{2451u}), "payload is [2451], not a map");
}

TEST(VoucherStrictness, VoucherRequestIsRefusedWhereAVoucherIsExpected) {
    expect_refused(
        Kind::Voucher, read_hex("brski/appC4-rvr-payload.hex"),
        "voucher: outer key 2501 is the voucher request container, 2451 or \"ietf-voucher:voucher\" "
        "was expected");
    expect_refused(Kind::Voucher, cbor::encode(Map{{"ietf-voucher-request:voucher", Map{}}}),
                   "is the voucher request container");
}

TEST(VoucherStrictness, VoucherIsRefusedWhereAVoucherRequestIsExpected) {
    expect_refused(Kind::VoucherRequest, read_hex("brski/appC5-voucher-payload.hex"),
                   "voucher request: outer key 2451 is the voucher container, 2501 or "
                   "\"ietf-voucher-request:voucher\" was expected");
}

TEST(VoucherStrictness, OuterKeyOfNeitherTreeIsRefused) {
    expect_refused(Kind::Voucher, cbor::encode(Map{{2452, Map{}}}),
                   "outer key 2452 is not 2451 or \"ietf-voucher:voucher\"");
    expect_refused(Kind::Voucher, cbor::encode(Map{{"ietf-voucher:vouchers", Map{}}}), "is not 2451");
    expect_refused(Kind::Voucher, cbor::encode(Map{{"voucher", Map{}}}), "is not 2451");
    expect_refused(Kind::Voucher, cbor::encode(Map{{Value::tagged(48, 2451u), Map{}}}), "is not 2451");
}

TEST(VoucherStrictness, ContainerThatIsNotAMapIsRefused) {
    expect_refused(Kind::Voucher, cbor::encode(Map{{2451, cbor::Array{}}}),
                   "the voucher container must be a map, got []");
}

// ---------------------------------------------------------------------------------------------------------
// Values.

TEST(VoucherStrictness, LeafOfTheWrongTypeIsRefusedNamingIt) {
    const struct {
        Value key;
        Value value;
        const char* phrase;
    } cases[] = {
        {2, hex("00"), "leaf \"created-on\" must be a text string, got h'00'"},
        // RFC 9254 §6: date-and-time is a plain string, not CBOR tag 0.
        {2, Value::tagged(0, "2022-12-06T20:04:15Z"), "leaf \"created-on\" must be a text string"},
        {1, "proximity", "leaf \"assertion\" must be an unsigned integer (enumeration), got \"proximity\""},
        {1, -1, "leaf \"assertion\" must be an unsigned integer"},
        {3, 1, "leaf \"domain-cert-revocation-checks\" must be true or false, got 1"},
        {7, "0123456789", "leaf \"nonce\" must be a byte string"},
        {9, cbor::Array{hex("d2")}, "leaf \"prior-signed-voucher-request\" must be a byte string"},
        {13, 123456789, "leaf \"serial-number\" must be a text string"},
        {21, Map{{1, 2}}, "leaf \"extensions\" must be an array of SIDs and names"},
        {21, cbor::Array{hex("01")}, "leaf \"extensions\" must be an array of SIDs and names"},
        {"serial-number", nullptr, "leaf \"serial-number\" must be a text string, got null"},
    };
    for (const auto& c : cases) {
        expect_refused(Kind::VoucherRequest, request(Map{{c.key, c.value}}), c.phrase);
    }
}

TEST(VoucherStrictness, AssertionOutsideTheEnumerationIsRefused) {
    expect_refused(Kind::Voucher, cbor::encode(Map{{2451, Map{{1, 4}}}}),
                   "voucher: assertion 4 is not one of 0 verified, 1 logged, 2 proximity, 3 agent-proximity");
    EXPECT_EQ(decoded(Kind::Voucher, cbor::encode(Map{{2451, Map{{1, 3}}}})).assertion,
              Assertion::AgentProximity);
}

// 8366bis YANG: nonce is binary of length 8..32.
TEST(VoucherStrictness, NonceOutside8To32BytesIsRefused) {
    expect_refused(Kind::VoucherRequest, request(Map{{7, Bytes(7, 1)}}),
                   "leaf \"nonce\" must be 8..32 bytes, got 7");
    expect_refused(Kind::VoucherRequest, request(Map{{7, Bytes(33, 1)}}), "must be 8..32 bytes, got 33");
    expect_refused(Kind::Voucher, cbor::encode(Map{{2451, Map{{"nonce", Bytes()}}}}), "got 0");
    EXPECT_EQ(decoded(Kind::VoucherRequest, request(Map{{7, Bytes(8, 1)}})).nonce, Bytes(8, 1));
    EXPECT_EQ(decoded(Kind::VoucherRequest, request(Map{{7, Bytes(32, 1)}})).nonce, Bytes(32, 1));
}

// ---------------------------------------------------------------------------------------------------------
// Keys.

TEST(VoucherStrictness, LeafGivenAsDeltaAndAsTag47SidIsRefused) {
    expect_refused(Kind::VoucherRequest, request(Map{{7, Bytes(8, 1)}, {sid(2508), Bytes(8, 2)}}),
                   "voucher request: leaf \"nonce\" given twice, as 7 and as 47(2508)");
}

TEST(VoucherStrictness, LeafGivenAsSidAndAsNameIsRefused) {
    expect_refused(Kind::VoucherRequest, request(Map{{7, Bytes(8, 1)}, {"nonce", Bytes(8, 1)}}),
                   "leaf \"nonce\" given twice, as 7 and as \"nonce\"");
    expect_refused(Kind::Voucher,
                   cbor::encode(Map{{"ietf-voucher:voucher", Map{{"serial-number", "A"}, {2462, "A"}}}}),
                   "leaf \"serial-number\" given twice, as \"serial-number\" and as 2462");
}

// The CBOR layer already refuses the same key twice in one map (RFC 8949 §5.6).
TEST(VoucherStrictness, SameKeyTwiceIsRefused) {
    // {2501: {7: h'0101010101010101', 7: h'0101010101010101'}}, which cbor::encode would not write.
    expect_refused(Kind::VoucherRequest, hex("a11909c5a20748010101010101010107480101010101010101"),
                   "duplicate map key 7");
}

// Constrained-voucher drafts -00 to -05 used 1001100–1001150; BRSKI.md §1.1 says to reject them.
TEST(VoucherStrictness, PreSidAllocationSidsAreRefusedAsSuch) {
    const std::string phrase = "is from the pre-2019 experimental range 1001100-1001150";
    expect_refused(Kind::VoucherRequest, cbor::encode(Map{{1001104, Map{{1, 2}}}}), "SID 1001104 " + phrase);
    expect_refused(Kind::Voucher, cbor::encode(Map{{sid(1001104), Map{}}}), phrase);
    expect_refused(Kind::VoucherRequest, request(Map{{sid(1001105), 2}}), "SID 1001105 " + phrase);
    expect_refused(Kind::VoucherRequest,
                   cbor::encode(Map{{"ietf-voucher-request:voucher", Map{{1001150, "JADA"}}}}),
                   "SID 1001150 " + phrase);
    // A delta that lands in the range.
    expect_refused(Kind::VoucherRequest, request(Map{{1001100 - 2501, 2}}), "SID 1001100 " + phrase);
}

TEST(VoucherStrictness, KeyThatIsNeitherSidNorNameIsRefused) {
    expect_refused(Kind::VoucherRequest, request(Map{{hex("01"), 2}}),
                   "key h'01' is neither a SID nor a name");
    expect_refused(Kind::VoucherRequest, request(Map{{Value::tagged(48, 2502u), 2}}),
                   "is neither a SID nor a name");
    expect_refused(Kind::VoucherRequest, request(Map{{Value::tagged(47, "x"), 2}}),
                   "is neither a SID nor a name");
    expect_refused(Kind::VoucherRequest, request(Map{{true, 2}}), "is neither a SID nor a name");
}

TEST(VoucherStrictness, DeltaThatGivesNoSidIsRefused) {
    expect_refused(Kind::VoucherRequest, request(Map{{-2503, 2}}),
                   "key -2503 does not give a SID as a delta from 2501");
    expect_refused(Kind::VoucherRequest, request(Map{{Value(~std::uint64_t{0}), 2}}), "does not give a SID");
    // Under a name key an integer is absolute, and SIDs are never negative.
    expect_refused(Kind::VoucherRequest, cbor::encode(Map{{"ietf-voucher-request:voucher", Map{{-1, 2}}}}),
                   "key -1 does not give a SID");
}

TEST(VoucherStrictness, NegativeDeltaToAnotherSidIsAnUnknownLeaf) {
    // 2501 - 1 = 2500, the module's SID: no leaf, so unknown rather than malformed.
    const Voucher v = decoded(Kind::VoucherRequest, request(Map{{-1, 2}}));
    EXPECT_EQ(v.unknown, std::vector<std::string>{"2500: 2"});
}

// ---------------------------------------------------------------------------------------------------------
// The CBOR around it.

TEST(VoucherStrictness, TrailingBytesAreRefused) {
    Bytes payload = read_hex("brski/appC4-rvr-payload.hex");
    payload.push_back(0x00);
    expect_refused(Kind::VoucherRequest, payload, "voucher request: CBOR: 1 trailing byte(s)");
}

TEST(VoucherStrictness, TruncatedPayloadIsRefused) {
    const Bytes payload = read_hex("brski/appC5-voucher-payload.hex");
    expect_refused(Kind::Voucher, Bytes(payload.begin(), payload.end() - 1), "voucher: CBOR: ");
}

TEST(VoucherStrictness, DepthBombIsRefusedBeforeItIsBuilt) {
    // {2501: {99: [[[[...]]]]}}: an unknown leaf is still bounded by the decoder's nesting limit.
    Bytes definite = hex("a11909c5a11863");
    definite.insert(definite.end(), 100000, 0x81);
    definite.push_back(0x00);
    expect_refused(Kind::VoucherRequest, definite, "nesting deeper than");

    Bytes chunked = hex("bf1909c5bf1863");
    chunked.insert(chunked.end(), 100000, 0x9f);
    expect_refused(Kind::VoucherRequest, chunked, "nesting deeper than");
}

// ---------------------------------------------------------------------------------------------------------
// Encoding refuses what decoding would.

std::string encode_refusal(Kind kind, const Voucher& v) {
    auto result = encode(kind, v);
    EXPECT_FALSE(result.ok());
    if (result.ok()) return {};
    EXPECT_EQ(result.status(), Status::BadRequest);
    return result.error().message;
}

TEST(VoucherEncoding, VoucherRequestLeafInAVoucherIsRefused) {
    Voucher v;
    v.serial_number = "JADA123456789";
    v.proximity_registrar_cert = Bytes(10, 1);
    EXPECT_EQ(
        encode_refusal(Kind::Voucher, v),
        "voucher: leaf \"proximity-registrar-cert\" does not exist in a voucher (ietf-voucher:voucher)");
    v.proximity_registrar_cert.reset();
    v.prior_signed_voucher_request = Bytes(10, 1);
    EXPECT_NE(encode_refusal(Kind::Voucher, v).find("prior-signed-voucher-request"), std::string::npos);
}

TEST(VoucherEncoding, InvalidValuesAreRefused) {
    Voucher nonce;
    nonce.nonce = Bytes(4, 1);
    EXPECT_EQ(encode_refusal(Kind::VoucherRequest, nonce),
              "voucher request: leaf \"nonce\" must be 8..32 bytes, got 4");

    Voucher assertion;
    assertion.assertion = static_cast<Assertion>(9);
    EXPECT_NE(encode_refusal(Kind::Voucher, assertion).find("assertion 9 is not one of"), std::string::npos);

    Voucher text;
    text.serial_number = std::string("JADA\xff");
    EXPECT_NE(encode_refusal(Kind::Voucher, text).find("\"serial-number\" is not valid UTF-8"),
              std::string::npos);

    Voucher not_cbor;
    not_cbor.extensions = hex("ff");
    EXPECT_NE(encode_refusal(Kind::Voucher, not_cbor).find("leaf \"extensions\": CBOR:"), std::string::npos);

    Voucher not_a_list;
    not_a_list.extensions = cbor::encode(Map{{1, 2}});
    EXPECT_NE(encode_refusal(Kind::Voucher, not_a_list).find("must be an array of SIDs and names"),
              std::string::npos);
}

TEST(VoucherEncoding, EmptyModelEncodesAsAnEmptyContainer) {
    auto encoded = encode(Kind::Voucher, Voucher{});
    ASSERT_TRUE(encoded.ok());
    EXPECT_EQ(to_hex(*encoded), "a1190993a0");
}

}  // namespace
}  // namespace estgw::brski
