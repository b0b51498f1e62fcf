#include "common/cbor.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "support/test_data.hpp"

namespace estgw::cbor {

// Failure messages show values in diagnostic notation.
[[maybe_unused]] static void PrintTo(const Value& value, std::ostream* out) {
    *out << diagnostic(value);
}

namespace {

using test::hex;

constexpr std::uint64_t kUint64Max = std::numeric_limits<std::uint64_t>::max();
constexpr std::int64_t kInt64Min = std::numeric_limits<std::int64_t>::min();

Value decoded(const Bytes& input, const DecodeLimits& limits = {}) {
    auto result = decode(input, limits);
    EXPECT_TRUE(result.ok()) << to_hex(input) << ": " << (result.ok() ? "" : result.error().message);
    return result.ok() ? *result : Value();
}

Value decoded(const std::string& hex_text, const DecodeLimits& limits = {}) {
    return decoded(hex(hex_text), limits);
}

// The decoder's error for an input it must refuse; fails the test when the input is accepted.
Error rejected(const std::string& hex_text, const DecodeLimits& limits = {}) {
    auto result = decode(hex(hex_text), limits);
    EXPECT_FALSE(result.ok()) << hex_text << " decoded to " << (result.ok() ? diagnostic(*result) : "");
    if (result.ok()) return Error{};
    EXPECT_EQ(result.status(), Status::BadRequest) << hex_text;
    return result.error();
}

void expect_rejected_with(const std::string& hex_text, const std::string& phrase,
                          const DecodeLimits& limits = {}) {
    const Error error = rejected(hex_text, limits);
    EXPECT_NE(error.message.find(phrase), std::string::npos) << hex_text << ": " << error.message;
}

// Encodes to exactly `hex_text`, and decoding that gives the value back.
void expect_round_trip(const Value& value, const std::string& hex_text) {
    EXPECT_EQ(to_hex(encode(value)), to_hex(hex(hex_text))) << diagnostic(value);
    EXPECT_EQ(decoded(hex_text), value) << hex_text;
}

Value nested_arrays(std::size_t levels) {
    Value v = 0;
    for (std::size_t k = 0; k < levels; ++k) {
        v = Array{v};
    }
    return v;
}

// ---------------------------------------------------------------------------------------------------------
// Value construction and comparison.

TEST(CborValue, IntConstructorMakesNonNegativeValuesUnsigned) {
    EXPECT_TRUE(Value(0).is_uint());
    EXPECT_TRUE(Value(std::int64_t{7}).is_uint());
    EXPECT_TRUE(Value(7u).is_uint());
    EXPECT_EQ(Value(7).as_uint(), 7u);
}

TEST(CborValue, IntConstructorKeepsNegativeValuesAsInt64) {
    EXPECT_TRUE(Value(-7).is_negative());
    EXPECT_TRUE(std::holds_alternative<std::int64_t>(Value(-7).v));
    EXPECT_TRUE(Value(kInt64Min).is_negative());
}

TEST(CborValue, IntegersCompareByValueWhicheverAlternativeHoldsThem) {
    Value hand_built;
    hand_built.v = std::int64_t{5};  // not normalised by a constructor
    EXPECT_EQ(hand_built, Value(5));
    EXPECT_EQ(encode(hand_built), hex("05"));

    Value small_big;
    small_big.v = Value::NegativeBig{0};  // -1, in the "big" alternative
    EXPECT_EQ(small_big, Value(-1));
    EXPECT_NE(Value(1), Value(-1));
    EXPECT_NE(Value(1), Value("1"));
    EXPECT_NE(Value("1"), Value(1));
}

TEST(CborValue, ValuesOfDifferentTypesAreNotEqual) {
    EXPECT_NE(Value(Bytes{0x61}), Value("a"));
    EXPECT_NE(Value(Array{}), Value(Map{}));
    EXPECT_NE(Value(false), Value(nullptr));
}

TEST(CborValue, TagsCompareByNumberAndContentNotByPointer) {
    EXPECT_EQ(Value::tagged(18, Array{1}), Value::tagged(18, Array{1}));
    EXPECT_NE(Value::tagged(18, Array{1}), Value::tagged(98, Array{1}));
    EXPECT_NE(Value::tagged(18, Array{1}), Value::tagged(18, Array{2}));
    EXPECT_EQ(Value::tagged(1, 2).as_tag().tag, 1u);
    EXPECT_EQ(Value::tagged(1, 2).as_tag().value, Value(2));
}

TEST(CborValue, EmptyTagPointerEqualsOnlyAnotherEmptyPointer) {
    Value empty;
    empty.v = std::shared_ptr<Tagged>();
    Value also_empty;
    also_empty.v = std::shared_ptr<Tagged>();
    EXPECT_EQ(empty, also_empty);
    EXPECT_NE(empty, Value::tagged(1, 2));
}

TEST(CborValue, EmptyTagPointerEncodesAsNull) {
    Value empty;
    empty.v = std::shared_ptr<Tagged>();
    EXPECT_EQ(encode(empty), hex("f6"));
    EXPECT_EQ(diagnostic(empty), "null");
}

TEST(CborValue, ToInt64CoversTheInt64RangeOnly) {
    EXPECT_EQ(Value(-7).to_int64(), -7);
    EXPECT_EQ(Value(7).to_int64(), 7);
    EXPECT_EQ(Value(kInt64Min).to_int64(), kInt64Min);
    EXPECT_EQ(Value(std::uint64_t{std::numeric_limits<std::int64_t>::max()}).to_int64(),
              std::numeric_limits<std::int64_t>::max());
    EXPECT_EQ(Value(std::uint64_t{1} << 63).to_int64(), std::nullopt);
    EXPECT_EQ(Value(Value::NegativeBig{std::uint64_t{1} << 63}).to_int64(), std::nullopt);
    EXPECT_EQ(Value("7").to_int64(), std::nullopt);
}

TEST(CborValue, FindLooksUpAMapKey) {
    const Value map = Map{{1, "one"}, {-7, "es256"}, {"text", true}};
    ASSERT_NE(map.find(-7), nullptr);
    EXPECT_EQ(*map.find(-7), Value("es256"));
    EXPECT_EQ(*map.find("text"), Value(true));
    EXPECT_EQ(map.find(2), nullptr);
    EXPECT_EQ(Value(Array{1, 2}).find(1), nullptr);
}

// ---------------------------------------------------------------------------------------------------------
// Every major type round trips (RFC 8949 §3.1).

TEST(CborRoundTrip, UnsignedInteger) {
    expect_round_trip(Value(std::uint64_t{500}), "1901f4");
}

TEST(CborRoundTrip, NegativeInteger) {
    expect_round_trip(Value(-500), "3901f3");
}

TEST(CborRoundTrip, ByteString) {
    expect_round_trip(Value(Bytes{0xde, 0xad}), "42dead");
}

TEST(CborRoundTrip, TextString) {
    expect_round_trip(Value("est"), "63657374");
}

TEST(CborRoundTrip, Array) {
    expect_round_trip(Value(Array{1, "a", Array{}}),
                      "83016161"
                      "80");
}

TEST(CborRoundTrip, MapKeepsKeyOrder) {
    expect_round_trip(Value(Map{{3, 4}, {1, 2}}), "a203040102");
}

TEST(CborRoundTrip, Tag) {
    expect_round_trip(Value::tagged(18, Array{}), "d280");
}

TEST(CborRoundTrip, SimpleValues) {
    expect_round_trip(Value(false), "f4");
    expect_round_trip(Value(true), "f5");
    expect_round_trip(Value(nullptr), "f6");
    expect_round_trip(Value(), "f6");
}

TEST(CborRoundTrip, DecodedBoolAndNullHaveTheirTypes) {
    EXPECT_TRUE(decoded("f5").as_bool());
    EXPECT_FALSE(decoded("f4").as_bool());
    EXPECT_TRUE(decoded("f6").is_null());
}

// ---------------------------------------------------------------------------------------------------------
// Preferred serialization: the shortest argument form at every boundary (RFC 8949 §4.1, §3).

TEST(CborShortestForm, UnsignedBoundaries) {
    expect_round_trip(Value(0), "00");
    expect_round_trip(Value(23), "17");
    expect_round_trip(Value(24), "1818");
    expect_round_trip(Value(255), "18ff");
    expect_round_trip(Value(256), "190100");
    expect_round_trip(Value(65535), "19ffff");
    expect_round_trip(Value(65536), "1a00010000");
    expect_round_trip(Value(std::uint64_t{0xffffffff}), "1affffffff");
    expect_round_trip(Value(std::uint64_t{0x100000000}), "1b0000000100000000");
    expect_round_trip(Value(kUint64Max), "1bffffffffffffffff");
}

TEST(CborShortestForm, NegativeBoundaries) {
    expect_round_trip(Value(-1), "20");
    expect_round_trip(Value(-24), "37");
    expect_round_trip(Value(-25), "3818");
    expect_round_trip(Value(-256), "38ff");
    expect_round_trip(Value(-257), "390100");
    expect_round_trip(Value(-65536), "39ffff");
    expect_round_trip(Value(-65537), "3a00010000");
    expect_round_trip(Value(std::int64_t{-0x100000000}), "3affffffff");
    expect_round_trip(Value(std::int64_t{-0x100000001}), "3b0000000100000000");
}

TEST(CborShortestForm, Int64MinIsTheLastNegativeHeldAsInt64) {
    expect_round_trip(Value(kInt64Min), "3b7fffffffffffffff");
    EXPECT_TRUE(std::holds_alternative<std::int64_t>(decoded("3b7fffffffffffffff").v));
}

TEST(CborShortestForm, NegativesBelowInt64MinAreKeptExactAsNegativeBig) {
    // -2^63 - 1 and -2^64, the most negative CBOR integer (RFC 8949 §3.1, major type 1).
    expect_round_trip(Value(Value::NegativeBig{std::uint64_t{1} << 63}), "3b8000000000000000");
    expect_round_trip(Value(Value::NegativeBig{kUint64Max}), "3bffffffffffffffff");
    EXPECT_TRUE(std::holds_alternative<Value::NegativeBig>(decoded("3bffffffffffffffff").v));
    EXPECT_TRUE(decoded("3bffffffffffffffff").is_negative());
}

TEST(CborShortestForm, StringLengthBoundaries) {
    struct Boundary {
        std::size_t length;
        const char* bytes_head;
        const char* text_head;
    };
    for (const Boundary& b :
         {Boundary{23, "57", "77"}, Boundary{24, "5818", "7818"}, Boundary{255, "58ff", "78ff"},
          Boundary{256, "590100", "790100"}, Boundary{65535, "59ffff", "79ffff"},
          Boundary{65536, "5a00010000", "7a00010000"}}) {
        const Bytes content(b.length, 'A');
        const Bytes bytes_encoded = encode(Value(content));
        const Bytes text_encoded = encode(Value(std::string(b.length, 'A')));
        EXPECT_EQ(bytes_encoded, hex(b.bytes_head + to_hex(content))) << b.length;
        EXPECT_EQ(text_encoded, hex(b.text_head + to_hex(content))) << b.length;
        EXPECT_EQ(decoded(bytes_encoded).as_bytes(), content);
        EXPECT_EQ(decoded(text_encoded).as_text(), std::string(b.length, 'A'));
    }
}

TEST(CborShortestForm, ArrayAndMapCountBoundaries) {
    Array items(24, Value(0));
    EXPECT_EQ(to_hex(ByteView(encode(Value(items))).first(2)), "9818");
    items.resize(23);
    EXPECT_EQ(encode(Value(items))[0], 0x97);
    Map pairs;
    for (int k = 0; k < 24; ++k) {
        pairs.emplace_back(k, k);
    }
    EXPECT_EQ(to_hex(ByteView(encode(Value(pairs))).first(2)), "b818");
    EXPECT_EQ(decoded(encode(Value(pairs))), Value(pairs));
}

TEST(CborShortestForm, LargeTagNumbersUseTheShortestArgument) {
    expect_round_trip(Value::tagged(23, 0), "d700");
    expect_round_trip(Value::tagged(24, 0), "d81800");
    expect_round_trip(Value::tagged(65536, 0), "da0001000000");
}

// RFC 8949 §4.1: preferred serialization binds encoders; a decoder accepts the longer forms.
TEST(CborDecode, AcceptsNonShortestIntegerForms) {
    EXPECT_EQ(decoded("1800"), Value(0));
    EXPECT_EQ(decoded("190017"), Value(23));
    EXPECT_EQ(decoded("1a00000001"), Value(1));
    EXPECT_EQ(decoded("1b0000000000000001"), Value(1));
    EXPECT_EQ(decoded("3800"), Value(-1));
    EXPECT_EQ(decoded("d9001200"), Value::tagged(18, 0));
}

TEST(CborDecode, AcceptsNonShortestLengthFormsAndReencodesThemShortest) {
    EXPECT_EQ(encode(decoded("5800")), hex("40"));
    EXPECT_EQ(encode(decoded("7900026869")), hex("626869"));
    EXPECT_EQ(encode(decoded("9a0000000101")), hex("8101"));
    EXPECT_EQ(encode(decoded("b8010102")), hex("a10102"));
}

TEST(CborDecode, AcceptsAllUnicodePlanesInText) {
    EXPECT_EQ(decoded("6a"
                      "41"
                      "c3bc"
                      "e6b0b4"
                      "f0908591")
                  .as_text(),
              "A\u00fc\u6c34\U00010151");
    EXPECT_EQ(decoded("64f48fbfbf").as_text(), "\U0010ffff");
    EXPECT_EQ(decoded("63ee8080").as_text(), "\ue000");  // first code point after the surrogates
}

TEST(CborDecode, AcceptsNestingUpToTheDepthLimit) {
    const DecodeLimits limits{.max_depth = 3, .max_items = 100};
    EXPECT_EQ(decoded("818181"
                      "00",
                      limits),
              nested_arrays(3));
    EXPECT_EQ(decoded("a1"
                      "00"
                      "d8"
                      "18"
                      "80",
                      limits),
              Value(Map{{0, Value::tagged(24, Array{})}}));
}

TEST(CborDecode, AcceptsExactlyTheItemLimit) {
    const DecodeLimits limits{.max_depth = 16, .max_items = 3};
    EXPECT_EQ(decoded("820102", limits), Value(Array{1, 2}));
    EXPECT_EQ(decoded("a10102", limits), Value(Map{{1, 2}}));
}

TEST(CborDecode, KeysThatLookAlikeButDifferInTypeAreDistinct) {
    // 1, "1", h'31' and -2 are four different keys (RFC 8949 §5.6: equivalence needs the same type).
    const Value map = decoded(
        "a4"
        "01f5"
        "6131f5"
        "4131f5"
        "21f5");
    EXPECT_EQ(map.as_map().size(), 4u);
}

// ---------------------------------------------------------------------------------------------------------
// Rejections: each class of malformed or unsupported input on its own. RFC 8949 §5.3.1 / App. F.

TEST(CborReject, EmptyInput) {
    expect_rejected_with("", "truncated input: data item expected at offset 0");
}

TEST(CborReject, TruncatedArgument) {
    expect_rejected_with("18", "argument needs 1 byte(s), 0 remain at offset 0");
    expect_rejected_with("19 01", "argument needs 2 byte(s), 1 remain at offset 0");
    expect_rejected_with("1a 000000", "argument needs 4 byte(s)");
    expect_rejected_with("1b 00000000000000", "argument needs 8 byte(s)");
    expect_rejected_with("d9 00", "argument needs 2 byte(s)");
}

TEST(CborReject, TruncatedStringLength) {
    expect_rejected_with("59 01", "argument needs 2 byte(s), 1 remain at offset 0");
    expect_rejected_with("82 00 7a 0000", "argument needs 4 byte(s), 2 remain at offset 2");
}

TEST(CborReject, MissingArrayElement) {
    expect_rejected_with("82 18 01", "truncated input: data item expected at offset 3");
}

TEST(CborReject, MissingTagContent) {
    expect_rejected_with("c1", "truncated input: data item expected at offset 1");
}

TEST(CborReject, ByteStringLongerThanInput) {
    expect_rejected_with("44 010203", "byte string declares 4 byte(s) but only 3 remain at offset 0");
    expect_rejected_with("5b ffffffffffffffff 00", "byte string declares 18446744073709551615");
}

TEST(CborReject, TextStringLongerThanInput) {
    expect_rejected_with("63 6161", "text string declares 3 byte(s) but only 2 remain at offset 0");
    expect_rejected_with("7b 7fffffffffffffff", "text string declares");
}

TEST(CborReject, ArrayCountBeyondInput) {
    // Each element takes at least one byte, so three elements cannot fit in two.
    expect_rejected_with("83 01 02", "array declares 3 item(s) but only 2 byte(s) remain at offset 0");
    expect_rejected_with("9b ffffffffffffffff 00", "array declares 18446744073709551615 item(s)");
}

// The input that made libcbor 0.8 allocate for 2.2 billion items: must fail on the count check, before any
// allocation (under ASan an allocation of that size would abort the test).
TEST(CborReject, LibcborKillerFailsFastWithoutAllocating) {
    expect_rejected_with("9a 84 19 01 1c",
                         "array declares 2216231196 item(s) but only 0 byte(s) remain at offset 0");
}

TEST(CborReject, MapCountBeyondInput) {
    // A pair takes at least two bytes: two pairs need four.
    expect_rejected_with("a2 01 02 03", "map declares 2 pair(s) but only 3 byte(s) remain at offset 0");
    expect_rejected_with("bb ffffffffffffffff 0000", "map declares 18446744073709551615 pair(s)");
    expect_rejected_with("ba 84 19 01 1c", "map declares 2216231196 pair(s)");
}

TEST(CborReject, NestedCountsBeyondInputFailAtTheInnerContainer) {
    expect_rejected_with("81 81 81 9a 84 19 01 1c",
                         "array declares 2216231196 item(s) but only 0 byte(s) remain at offset 3");
}

TEST(CborReject, IndefiniteLengths) {
    // RFC 8949 §3.2.2/3.2.3: additional information 31 on major types 2-5.
    expect_rejected_with("5f 41 00 ff", "indefinite-length item (not supported) at offset 0");
    expect_rejected_with("7f 61 61 ff", "indefinite-length item");
    expect_rejected_with("9f ff", "indefinite-length item");
    expect_rejected_with("bf ff", "indefinite-length item");
    expect_rejected_with("82 00 9f ff", "indefinite-length item (not supported) at offset 2");
}

// RFC 9254 §3: YANG-CBOR decoders (vouchers, voucher requests, telemetry) must take indefinite lengths.
DecodeLimits indefinite_allowed() {
    DecodeLimits limits;
    limits.allow_indefinite = true;
    return limits;
}

TEST(CborIndefinite, StringsJoinTheirChunks) {
    EXPECT_EQ(decoded("5f 42 0102 41 03 40 ff", indefinite_allowed()), Value(Bytes{1, 2, 3}));
    EXPECT_EQ(decoded("7f 62 6162 61 63 ff", indefinite_allowed()), Value("abc"));
    EXPECT_EQ(decoded("5f ff", indefinite_allowed()), Value(Bytes{}));
}

TEST(CborIndefinite, ArraysAndMapsNestAndMixWithDefiniteOnes) {
    EXPECT_EQ(decoded("9f 01 82 02 03 9f ff ff", indefinite_allowed()),
              Value(Array{1, Array{2, 3}, Array{}}));
    EXPECT_EQ(decoded("bf 01 bf 02 03 ff 61 61 9f ff ff", indefinite_allowed()),
              Value(Map{{1, Map{{2, 3}}}, {"a", Array{}}}));
    // Encoding goes back to definite lengths.
    EXPECT_EQ(encode(decoded("bf 01 5f 41 02 ff ff", indefinite_allowed())), hex("a1 01 41 02"));
}

TEST(CborIndefinite, MalformedOnesAreRefused) {
    const DecodeLimits limits = indefinite_allowed();
    auto refused = [&](const std::string& input, const std::string& message) {
        Error error = rejected(input, limits);
        EXPECT_NE(error.message.find(message), std::string::npos) << input << ": " << error.message;
    };
    refused("5f 61 61 ff", "same type");        // a text chunk in a byte string
    refused("5f 5f 41 00 ff ff", "same type");  // nested indefinite chunk
    refused("5f 01 ff", "same type");           // an integer chunk
    refused("7f 61 ff ff", "invalid UTF-8");    // each chunk is valid UTF-8 on its own
    refused("9f 01", "indefinite-length array has no break");
    refused("bf 01 ff", "map key without a value");
    refused("bf 01 02 01 03 ff", "duplicate map key 1");
    refused("9f ff 00", "trailing byte");
    refused("1f", "additional information 31 is invalid for major type 0");
}

TEST(CborIndefinite, NestingAndItemLimitsStillHold) {
    DecodeLimits limits = indefinite_allowed();
    limits.max_depth = 3;
    EXPECT_TRUE(decode(hex("9f 9f 9f ff ff ff"), limits).ok());
    EXPECT_FALSE(decode(hex("9f 9f 9f 9f ff ff ff ff"), limits).ok());
    limits = indefinite_allowed();
    limits.max_items = 4;
    EXPECT_TRUE(decode(hex("9f 01 02 03 ff"), limits).ok());
    EXPECT_FALSE(decode(hex("9f 01 02 03 04 ff"), limits).ok());
    EXPECT_FALSE(decode(hex("5f 41 00 41 00 41 00 41 00 ff"), limits).ok());
}

TEST(CborReject, AdditionalInformation31OnIntegersAndTags) {
    // RFC 8949 §3.2.4: not well-formed on major types 0, 1 and 6.
    expect_rejected_with("1f", "additional information 31 is invalid for major type 0 at offset 0");
    expect_rejected_with("3f", "additional information 31 is invalid for major type 1");
    expect_rejected_with("df 00", "additional information 31 is invalid for major type 6");
}

TEST(CborReject, BreakOutsideIndefiniteItem) {
    expect_rejected_with("ff", "break stop code outside an indefinite-length item at offset 0");
    expect_rejected_with("81 ff", "break stop code outside an indefinite-length item at offset 1");
}

TEST(CborReject, ReservedAdditionalInformation28To30) {
    // RFC 8949 §3: reserved on every major type.
    for (int major = 0; major < 8; ++major) {
        for (int ai = 28; ai <= 30; ++ai) {
            const std::uint8_t initial = static_cast<std::uint8_t>(major << 5 | ai);
            const Error error = rejected(to_hex(Bytes{initial, 0, 0, 0, 0, 0, 0, 0, 0}));
            EXPECT_NE(
                error.message.find("reserved additional information " + std::to_string(ai) + " at offset 0"),
                std::string::npos)
                << error.message;
        }
    }
}

TEST(CborReject, FloatingPointNumbers) {
    expect_rejected_with("f9 3c00", "floating-point number (not supported) at offset 0");
    expect_rejected_with("fa 47c35000", "floating-point number");
    expect_rejected_with("fb 3ff199999999999a", "floating-point number");
    expect_rejected_with("81 f9", "floating-point number (not supported) at offset 1");
}

TEST(CborReject, UndefinedAndOtherSimpleValues) {
    expect_rejected_with("f7", "undefined (not supported) at offset 0");
    expect_rejected_with("e0", "simple value 0 (not supported)");
    expect_rejected_with("f0", "simple value 16 (not supported)");
    expect_rejected_with("f3", "simple value 19 (not supported)");
    expect_rejected_with("f8 ff", "simple value in one extra byte (not supported)");
    expect_rejected_with("f8 14",
                         "simple value in one extra byte");  // a non-shortest false is not well-formed
}

TEST(CborReject, InvalidUtf8InText) {
    // RFC 8949 §3.1 major type 3 and §5.3.1: text must be valid UTF-8 (RFC 3629).
    expect_rejected_with("62 61 ff", "invalid UTF-8 in text string at offset 2");  // never valid
    expect_rejected_with("61 80", "invalid UTF-8 in text string at offset 1");     // lone continuation
    expect_rejected_with("62 c3 28", "invalid UTF-8");                             // bad continuation
    expect_rejected_with("61 c3", "invalid UTF-8");                                // cut short
    expect_rejected_with("62 c0 80", "invalid UTF-8");                             // overlong NUL
    expect_rejected_with("63 e0 80 80", "invalid UTF-8");                          // overlong, 3 bytes
    expect_rejected_with("64 f0 80 80 80", "invalid UTF-8");                       // overlong, 4 bytes
    expect_rejected_with("63 ed a0 80", "invalid UTF-8");                          // surrogate U+D800
    expect_rejected_with("63 ed bf bf", "invalid UTF-8");                          // surrogate U+DFFF
    expect_rejected_with("64 f4 90 80 80", "invalid UTF-8");                       // U+110000
    expect_rejected_with("65 f8 88 80 80 80", "invalid UTF-8");                    // 5-byte form
}

TEST(CborReject, InvalidUtf8InMapKey) {
    expect_rejected_with("a1 61 fe 00", "invalid UTF-8 in text string at offset 2");
}

TEST(CborReject, DuplicateMapKeys) {
    // RFC 8949 §5.6: a map with duplicate keys is not valid.
    expect_rejected_with("a2 01 00 01 00", "duplicate map key 1 at offset 3");
    expect_rejected_with("a2 61 61 00 61 61 01", "duplicate map key \"a\" at offset 4");
    expect_rejected_with("a2 81 01 00 81 01 00", "duplicate map key [1]");
}

TEST(CborReject, DuplicateMapKeysInDifferentEncodings) {
    // 0x01 and 0x1801 are the same integer; accepting the long form must not let a key repeat.
    expect_rejected_with("a2 01 00 18 01 00", "duplicate map key 1 at offset 3");
    expect_rejected_with("a2 40 00 58 00 00", "duplicate map key h''");
}

TEST(CborReject, DuplicateKeyMessageIsShortForHugeKeys) {
    const std::string key = "58 c8" + std::string(400, '0');  // h'00...' of 200 bytes
    const Error error = rejected("a2" + key + "00" + key + "00");
    EXPECT_LT(error.message.size(), 200u) << error.message;
    EXPECT_NE(error.message.find("... at offset 204"), std::string::npos) << error.message;
}

TEST(CborReject, NestingDeeperThanTheLimit) {
    const DecodeLimits limits{.max_depth = 3, .max_items = 100};
    expect_rejected_with(
        "81818181"
        "00",
        "nesting deeper than 3 at offset 3", limits);
    expect_rejected_with(
        "818181"
        "a0",
        "nesting deeper than 3 at offset 3", limits);
    expect_rejected_with(
        "818181"
        "c1"
        "00",
        "nesting deeper than 3 at offset 3", limits);
}

TEST(CborReject, DefaultDepthLimitIsSixteen) {
    EXPECT_EQ(decoded(encode(nested_arrays(16))), nested_arrays(16));
    expect_rejected_with(to_hex(encode(nested_arrays(17))), "nesting deeper than 16 at offset 16");
}

TEST(CborReject, DeepNestingStopsAtTheLimitWithoutDeepRecursion) {
    // A million nested arrays would overflow the stack of a decoder that recursed without a limit.
    Bytes input(1000000, 0x81);
    input.push_back(0x00);
    auto result = decode(input);
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error().message.find("nesting deeper than 16"), std::string::npos);
}

TEST(CborReject, DepthLimitZeroAdmitsOnlyScalars) {
    const DecodeLimits limits{.max_depth = 0, .max_items = 100};
    EXPECT_EQ(decoded("01", limits), Value(1));
    expect_rejected_with("80", "nesting deeper than 0 at offset 0", limits);
}

TEST(CborReject, MoreItemsThanTheLimit) {
    const DecodeLimits limits{.max_depth = 16, .max_items = 3};
    expect_rejected_with("83 01 02 03", "more than 3 data items at offset 0", limits);
    expect_rejected_with("a1 01 81 00", "more than 3 data items at offset 2", limits);
    expect_rejected_with("81 c1 c1 00", "more than 3 data items at offset 2", limits);
}

TEST(CborReject, ItemLimitCountsDeclaredItemsBeforeReadingThem) {
    // 200 000 one-byte items fit the input but not the default budget of 100 000.
    Bytes input = hex("9a 00030d40");
    input.resize(input.size() + 200000, 0x00);
    expect_rejected_with(to_hex(input), "more than 100000 data items at offset 0");
}

TEST(CborReject, ItemLimitZeroAdmitsNothing) {
    expect_rejected_with("00", "item limit 0", DecodeLimits{.max_depth = 16, .max_items = 0});
}

TEST(CborReject, TrailingBytes) {
    expect_rejected_with("00 00", "1 trailing byte(s) after the data item at offset 1");
    expect_rejected_with("82 01 02 ff ff", "2 trailing byte(s) after the data item at offset 3");
}

// ---------------------------------------------------------------------------------------------------------
// Diagnostic notation (RFC 8949 §8).

TEST(CborDiagnostic, Integers) {
    EXPECT_EQ(diagnostic(Value(0)), "0");
    EXPECT_EQ(diagnostic(Value(kUint64Max)), "18446744073709551615");
    EXPECT_EQ(diagnostic(Value(-7)), "-7");
    EXPECT_EQ(diagnostic(Value(kInt64Min)), "-9223372036854775808");
    EXPECT_EQ(diagnostic(Value(Value::NegativeBig{std::uint64_t{1} << 63})), "-9223372036854775809");
    EXPECT_EQ(diagnostic(Value(Value::NegativeBig{kUint64Max})), "-18446744073709551616");
}

TEST(CborDiagnostic, ByteStringsAreLowercaseHex) {
    EXPECT_EQ(diagnostic(Value(Bytes{0x01, 0xAB})), "h'01ab'");
    EXPECT_EQ(diagnostic(Value(Bytes{})), "h''");
}

TEST(CborDiagnostic, TextIsQuotedWithJsonEscapes) {
    EXPECT_EQ(diagnostic(Value("est")), "\"est\"");
    EXPECT_EQ(diagnostic(Value("a\"b\\c")), "\"a\\\"b\\\\c\"");
    EXPECT_EQ(diagnostic(Value(std::string("\n\x01\x7f", 3))), "\"\\u000a\\u0001\\u007f\"");
    EXPECT_EQ(diagnostic(Value("\u00fc")), "\"\u00fc\"");
}

TEST(CborDiagnostic, ContainersTagsAndSimpleValues) {
    EXPECT_EQ(diagnostic(Value(Array{})), "[]");
    EXPECT_EQ(diagnostic(Value(Map{})), "{}");
    EXPECT_EQ(diagnostic(Value(Array{1, Array{2, 3}})), "[1, [2, 3]]");
    EXPECT_EQ(diagnostic(Value(Map{{"a", 1}, {2, Bytes{}}})), "{\"a\": 1, 2: h''}");
    EXPECT_EQ(diagnostic(Value::tagged(18, Array{Bytes{0xa1}, Map{}})), "18([h'a1', {}])");
    EXPECT_EQ(diagnostic(Value(true)), "true");
    EXPECT_EQ(diagnostic(Value(false)), "false");
    EXPECT_EQ(diagnostic(Value(nullptr)), "null");
}

// ---------------------------------------------------------------------------------------------------------
// RFC 8949 Appendix A.

struct AppendixAExample {
    const char* diagnostic;
    const char* hex;
};

// Every Appendix A example inside the subset: decoding gives the RFC's diagnostic notation and re-encoding
// gives the RFC's bytes. Bignums (tags 2 and 3) are plain tags over byte strings here.
constexpr AppendixAExample kAppendixA[] = {
    {"0", "00"},
    {"1", "01"},
    {"10", "0a"},
    {"23", "17"},
    {"24", "1818"},
    {"25", "1819"},
    {"100", "1864"},
    {"1000", "1903e8"},
    {"1000000", "1a000f4240"},
    {"1000000000000", "1b000000e8d4a51000"},
    {"18446744073709551615", "1bffffffffffffffff"},
    {"2(h'010000000000000000')", "c249010000000000000000"},
    {"-18446744073709551616", "3bffffffffffffffff"},
    {"3(h'010000000000000000')", "c349010000000000000000"},
    {"-1", "20"},
    {"-10", "29"},
    {"-100", "3863"},
    {"-1000", "3903e7"},
    {"false", "f4"},
    {"true", "f5"},
    {"null", "f6"},
    {"0(\"2013-03-21T20:04:00Z\")", "c074323031332d30332d32315432303a30343a30305a"},
    {"1(1363896240)", "c11a514b67b0"},
    {"23(h'01020304')", "d74401020304"},
    {"24(h'6449455446')", "d818456449455446"},
    {"32(\"http://www.example.com\")", "d82076687474703a2f2f7777772e6578616d706c652e636f6d"},
    {"h''", "40"},
    {"h'01020304'", "4401020304"},
    {"\"\"", "60"},
    {"\"a\"", "6161"},
    {"\"IETF\"", "6449455446"},
    {"\"\\\"\\\\\"", "62225c"},
    {"\"\u00fc\"", "62c3bc"},
    {"\"\u6c34\"", "63e6b0b4"},
    {"\"\U00010151\"", "64f0908591"},
    {"[]", "80"},
    {"[1, 2, 3]", "83010203"},
    {"[1, [2, 3], [4, 5]]", "8301820203820405"},
    {"[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25]",
     "98190102030405060708090a0b0c0d0e0f101112131415161718181819"},
    {"{}", "a0"},
    {"{1: 2, 3: 4}", "a201020304"},
    {"{\"a\": 1, \"b\": [2, 3]}", "a26161016162820203"},
    {"[\"a\", {\"b\": \"c\"}]", "826161a161626163"},
    {"{\"a\": \"A\", \"b\": \"B\", \"c\": \"C\", \"d\": \"D\", \"e\": \"E\"}",
     "a56161614161626142616361436164614461656145"},
};

TEST(CborAppendixA, ExamplesInTheSubsetDecodeToTheirDiagnosticAndReencodeIdentically) {
    for (const auto& example : kAppendixA) {
        const Value value = decoded(example.hex);
        EXPECT_EQ(diagnostic(value), example.diagnostic) << example.hex;
        EXPECT_EQ(to_hex(encode(value)), example.hex) << example.diagnostic;
    }
}

TEST(CborAppendixA, ExamplesOutsideTheSubsetAreRejected) {
    for (const char* input : {
             "f90000",
             "f98000",
             "f93c00",
             "fb3ff199999999999a",
             "f93e00",
             "f97bff",
             "fa47c35000",
             "fa7f7fffff",
             "fb7e37e43c8800759c",
             "f90001",
             "f90400",
             "f9c400",
             "fbc010666666666666",
             "f97c00",
             "f97e00",
             "f9fc00",
             "fa7f800000",
             "fa7fc00000",
             "faff800000",
             "fb7ff0000000000000",
             "fb7ff8000000000000",
             "fbfff0000000000000",
             "f7",
             "f0",
             "f8ff",
             "5f42010243030405ff",
             "7f657374726561646d696e67ff",
             "9fff",
             "9f018202039f0405ffff",
             "9f01820203820405ff",
             "83018202039f0405ff",
             "83019f0203ff820405",
             "9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff",
             "bf61610161629f0203ffff",
             "826161bf61626163ff",
             "bf6346756ef563416d7421ff",
         }) {
        rejected(input);
    }
}

// ---------------------------------------------------------------------------------------------------------
// Real objects: the cBRSKI CBOR and COSE vectors (tests/data/brski/README.md) and the RFC 9148 multipart
// examples, all in preferred serialization.

TEST(CborVectors, BrskiObjectsDecodeAndReencodeByteForByte) {
    for (const char* file : {
             "brski/appB1-enrollstatus-success.hex",
             "brski/appB1-enrollstatus-failure.hex",
             "brski/appB2-voucher-status.hex",
             "brski/appC3-pvr.hex",
             "brski/appC3-pvr-payload.hex",
             "brski/appC4-rvr.hex",
             "brski/appC4-rvr-payload.hex",
             "brski/appC5-voucher.hex",
             "brski/appC5-voucher-payload.hex",
             "brski/repo-voucher-from-masa-with-x5bag.hex",
             "brski/derived/pvr-sig-structure.hex",
             "brski/derived/rvr-sig-structure.hex",
             "brski/derived/voucher-sig-structure.hex",
             "brski/derived/jpy-clienthello.hex",
             "brski/derived/jpy-helloverifyrequest.hex",
             "rfc9148/a3-skg-response.hex",
             "rfc9148/sec4.3-multipart-example.hex",
         }) {
        const Bytes input = test::read_hex(file);
        auto value = decode(input);
        ASSERT_TRUE(value.ok()) << file << ": " << value.error().message;
        EXPECT_EQ(encode(*value), input) << file;
    }
}

TEST(CborVectors, EnrollStatusIsTheMapFromCbrskiAppendixB1) {
    EXPECT_EQ(decoded(test::read_hex("brski/appB1-enrollstatus-success.hex")),
              Value(Map{{"version", 1}, {"status", true}}));
}

TEST(CborVectors, PvrIsATag18CoseSign1WhosePayloadIsThePvrPayload) {
    // RFC 9052 §4.2: COSE_Sign1 = 18([protected bstr, unprotected map, payload bstr, signature bstr]).
    const Value pvr = decoded(test::read_hex("brski/appC3-pvr.hex"));
    ASSERT_TRUE(pvr.is_tag());
    EXPECT_EQ(pvr.as_tag().tag, 18u);
    const Array& sign1 = pvr.as_tag().value.as_array();
    ASSERT_EQ(sign1.size(), 4u);
    EXPECT_EQ(sign1[0].as_bytes(), hex("a10126"));  // {1: -7}, ES256
    EXPECT_EQ(*decoded("a10126").find(1), Value(-7));
    EXPECT_EQ(sign1[1], Value(Map{}));
    EXPECT_EQ(sign1[2].as_bytes(), test::read_hex("brski/appC3-pvr-payload.hex"));
    EXPECT_EQ(sign1[3].as_bytes(), test::read_hex("brski/derived/pvr-signature-r-s.hex"));
}

TEST(CborVectors, CertificatesAreNotCbor) {
    // A DER SEQUENCE starts with 0x30: the CBOR integer -17 followed by trailing bytes.
    expect_rejected_with(to_hex(test::read_hex("brski/appC2-masa-ca-cert.hex")), "trailing byte(s)");
}

// item_length: where the first item ends, bytes after it allowed (brski/voucher_answer copies items by it).
TEST(CborItemLength, IsTheLengthOfTheFirstItemWithBytesAfterIt) {
    EXPECT_EQ(item_length(hex("4201020304")).value(), 3u);
    EXPECT_EQ(item_length(hex("1818ff")).value(), 2u);
    EXPECT_EQ(item_length(hex("d8128100")).value(), 4u);
}

TEST(CborItemLength, CountsNonPreferredHeadsAndIndefiniteItems) {
    DecodeLimits limits;
    limits.allow_indefinite = true;
    EXPECT_EQ(item_length(hex("590002aabb00"), limits).value(), 5u);
    EXPECT_EQ(item_length(hex("5f41aa41bbff00"), limits).value(), 6u);
    EXPECT_EQ(item_length(hex("bf0102ff"), limits).value(), 4u);
}

TEST(CborItemLength, RefusesWhatDecodeRefuses) {
    EXPECT_EQ(item_length(hex("43aabb")).status(), Status::BadRequest);    // truncated
    EXPECT_EQ(item_length(hex("5f41aaff")).status(), Status::BadRequest);  // indefinite not allowed
    EXPECT_EQ(item_length({}).status(), Status::BadRequest);
}

}  // namespace
}  // namespace estgw::cbor
