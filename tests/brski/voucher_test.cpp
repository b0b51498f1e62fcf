// The voucher and voucher-request model against the cBRSKI Appendix C payloads and BRSKI.md §1 (SID table
// 1.1, encoding rules 1.2): byte-exact round trips, every leaf of both trees, and the other key forms.
#include "brski/voucher.hpp"

#include <gtest/gtest.h>
#include <openssl/x509.h>

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "brski/voucher_test_support.hpp"
#include "common/cbor.hpp"
#include "common/keys.hpp"
#include "common/x509.hpp"
#include "support/test_data.hpp"

namespace estgw::brski {
namespace {

using test::hex;
using test::read_hex;
using Map = cbor::Map;
using Value = cbor::Value;

const std::string kPvrNonce = "23bfbbc9c2bcf213";
const std::string kIdevidIssuer = "041830168014cb8d98ca74c51b58dde7acef869a9443a8d666a6";

Value sid(std::uint64_t absolute) {
    return Value::tagged(47, absolute);
}

// cBRSKI Appendix C.3: the pledge's voucher request, proximity by the registrar's public key.
TEST(VoucherVectors, PledgeVoucherRequestPayloadDecodes) {
    const Voucher pvr = decoded(Kind::VoucherRequest, read_hex("brski/appC3-pvr-payload.hex"));
    EXPECT_EQ(pvr.assertion, Assertion::Proximity);
    EXPECT_EQ(pvr.nonce, hex(kPvrNonce));
    EXPECT_EQ(pvr.serial_number, "JADA123456789");
    // Trap 7 of the vectors' README: the DER SPKI of the registrar's key.
    auto registrar = parse_certificate_der(read_hex("brski/appC2-registrar-cert.hex"));
    ASSERT_TRUE(registrar.ok());
    auto spki = public_key_to_der(X509_get0_pubkey(registrar->get()));
    ASSERT_TRUE(spki.ok());
    EXPECT_EQ(pvr.proximity_registrar_pubk, *spki);
    EXPECT_FALSE(pvr.proximity_registrar_cert);
    EXPECT_FALSE(pvr.created_on);
    EXPECT_TRUE(pvr.unknown.empty());
}

// cBRSKI Appendix C.4: the registrar's voucher request to the MASA.
TEST(VoucherVectors, RegistrarVoucherRequestPayloadDecodes) {
    const Voucher rvr = decoded(Kind::VoucherRequest, read_hex("brski/appC4-rvr-payload.hex"));
    EXPECT_EQ(rvr.assertion, Assertion::Proximity);
    EXPECT_EQ(rvr.created_on, "2022-12-06T20:04:15.754Z");
    EXPECT_EQ(rvr.idevid_issuer, hex(kIdevidIssuer));
    EXPECT_EQ(rvr.nonce, hex(kPvrNonce));
    EXPECT_EQ(rvr.prior_signed_voucher_request, read_hex("brski/appC3-pvr.hex"));
    EXPECT_EQ(rvr.serial_number, "JADA123456789");
    EXPECT_TRUE(rvr.unknown.empty());
}

// cBRSKI Appendix C.5: the MASA's voucher.
TEST(VoucherVectors, VoucherPayloadDecodes) {
    const Voucher voucher = decoded(Kind::Voucher, read_hex("brski/appC5-voucher-payload.hex"));
    EXPECT_EQ(voucher.assertion, Assertion::Proximity);
    EXPECT_EQ(voucher.created_on, "2022-12-06T20:23:30.708Z");
    EXPECT_EQ(voucher.domain_cert_revocation_checks, false);
    EXPECT_EQ(voucher.nonce, hex("57eed786ad404907"));
    // Trap 1: the 583-byte domain CA of the RVR's x5bag, not the Appendix C.2 one.
    EXPECT_EQ(voucher.pinned_domain_cert, read_hex("brski/derived/rvr-x5bag-1-domain-ca-cert.hex"));
    EXPECT_EQ(voucher.serial_number, "JADA123456789");
    EXPECT_FALSE(voucher.prior_signed_voucher_request);
    EXPECT_TRUE(voucher.unknown.empty());
}

TEST(VoucherVectors, EachPayloadReEncodesByteForByte) {
    const struct {
        const char* file;
        Kind kind;
    } payloads[] = {
        {"brski/appC3-pvr-payload.hex", Kind::VoucherRequest},
        {"brski/appC4-rvr-payload.hex", Kind::VoucherRequest},
        {"brski/appC5-voucher-payload.hex", Kind::Voucher},
    };
    for (const auto& p : payloads) {
        const Bytes original = read_hex(p.file);
        auto encoded = encode(p.kind, decoded(p.kind, original));
        ASSERT_TRUE(encoded.ok()) << p.file << ": " << encoded.error().message;
        EXPECT_EQ(to_hex(*encoded), to_hex(original)) << p.file;
    }
}

// ---------------------------------------------------------------------------------------------------------
// Every leaf, written down here again from BRSKI.md §1.1 rather than taken from the implementation's table.

struct LeafCase {
    const char* name;
    std::optional<std::uint64_t> voucher_delta;  // nullopt: voucher request only
    std::uint64_t request_delta;
    std::function<void(Voucher&)> set;
};

const std::vector<LeafCase>& leaf_cases() {
    static const std::vector<LeafCase> cases = {
        {"assertion", 1, 1, [](Voucher& v) { v.assertion = Assertion::Logged; }},
        {"created-on", 2, 2, [](Voucher& v) { v.created_on = "2025-01-02T03:04:05Z"; }},
        {"domain-cert-revocation-checks", 3, 3, [](Voucher& v) { v.domain_cert_revocation_checks = true; }},
        {"expires-on", 4, 4, [](Voucher& v) { v.expires_on = "2026-01-02T03:04:05.5Z"; }},
        {"idevid-issuer", 5, 5, [](Voucher& v) { v.idevid_issuer = hex(kIdevidIssuer); }},
        {"last-renewal-date", 6, 6, [](Voucher& v) { v.last_renewal_date = "2027-01-01T00:00:00Z"; }},
        {"nonce", 7, 7, [](Voucher& v) { v.nonce = Bytes(16, 0xa5); }},
        {"pinned-domain-cert", 8, 8, [](Voucher& v) { v.pinned_domain_cert = Bytes(300, 0x30); }},
        {"pinned-domain-pubk", 9, 17, [](Voucher& v) { v.pinned_domain_pubk = Bytes(91, 0x31); }},
        {"pinned-domain-pubk-sha256", 10, 18, [](Voucher& v) { v.pinned_domain_pubk_sha256 = Bytes(32, 2); }},
        {"serial-number", 11, 13, [](Voucher& v) { v.serial_number = "JADA123456789"; }},
        {"additional-configuration-url", 12, 19,
         [](Voucher& v) { v.additional_configuration_url = "https://config.example/pledge"; }},
        {"est-domain", 13, 20, [](Voucher& v) { v.est_domain = "coaps://registrar.example"; }},
        {"manufacturer-proprietary", 14, 22, [](Voucher& v) { v.manufacturer_proprietary = hex("a10102"); }},
        {"extensions", 15, 21,
         [](Voucher& v) {
             v.extensions = cbor::encode(cbor::Array{2700u, "example-ext:feature"});
         }},
        {"prior-signed-voucher-request", std::nullopt, 9,
         [](Voucher& v) { v.prior_signed_voucher_request = read_hex("brski/appC3-pvr.hex"); }},
        {"proximity-registrar-cert", std::nullopt, 10,
         [](Voucher& v) { v.proximity_registrar_cert = Bytes(400, 3); }},
        {"proximity-registrar-pubk-sha256", std::nullopt, 11,
         [](Voucher& v) { v.proximity_registrar_pubk_sha256 = Bytes(32, 4); }},
        {"proximity-registrar-pubk", std::nullopt, 12,
         [](Voucher& v) { v.proximity_registrar_pubk = Bytes(91, 5); }},
    };
    return cases;
}

struct TreeCase {
    Kind kind;
    std::uint64_t sid;
    const char* name;
};
constexpr TreeCase kTreeCases[] = {
    {Kind::Voucher, 2451, "ietf-voucher:voucher"},
    {Kind::VoucherRequest, 2501, "ietf-voucher-request:voucher"},
};

std::optional<std::uint64_t> delta_in(const LeafCase& leaf, Kind kind) {
    return kind == Kind::Voucher ? leaf.voucher_delta : std::optional<std::uint64_t>(leaf.request_delta);
}

TEST(VoucherLeaves, EachLeafEncodesUnderItsDeltaAndRoundTrips) {
    for (const TreeCase& tree : kTreeCases) {
        for (const LeafCase& leaf : leaf_cases()) {
            const auto delta = delta_in(leaf, tree.kind);
            if (!delta) continue;
            SCOPED_TRACE(std::string(tree.name) + " / " + leaf.name);
            Voucher v;
            leaf.set(v);
            auto encoded = encode(tree.kind, v);
            ASSERT_TRUE(encoded.ok()) << encoded.error().message;
            auto wire = cbor::decode(*encoded);
            ASSERT_TRUE(wire.ok());
            const Value* inner = wire->find(Value(tree.sid));
            ASSERT_NE(inner, nullptr) << cbor::diagnostic(*wire);
            ASSERT_EQ(inner->as_map().size(), 1u);
            EXPECT_EQ(inner->as_map().front().first, Value(*delta)) << cbor::diagnostic(*wire);
            EXPECT_EQ(decoded(tree.kind, *encoded), v);

            // The same leaf by its name, in the name form of the tree.
            const Bytes by_name =
                cbor::encode(Map{{tree.name, Map{{leaf.name, inner->as_map().front().second}}}});
            EXPECT_EQ(decoded(tree.kind, by_name), v) << cbor::diagnostic(*cbor::decode(by_name));
        }
    }
}

TEST(VoucherLeaves, AllLeavesOfATreeTogetherEncodeWithAscendingKeysAndRoundTrip) {
    for (const TreeCase& tree : kTreeCases) {
        SCOPED_TRACE(tree.name);
        Voucher v;
        for (const LeafCase& leaf : leaf_cases()) {
            if (delta_in(leaf, tree.kind)) leaf.set(v);
        }
        auto encoded = encode(tree.kind, v);
        ASSERT_TRUE(encoded.ok()) << encoded.error().message;
        auto wire = cbor::decode(*encoded);
        ASSERT_TRUE(wire.ok());
        const Map& inner = wire->find(Value(tree.sid))->as_map();
        ASSERT_EQ(inner.size(), tree.kind == Kind::Voucher ? 15u : 19u);
        for (std::size_t k = 1; k < inner.size(); ++k) {
            EXPECT_LT(inner[k - 1].first.as_uint(), inner[k].first.as_uint()) << cbor::diagnostic(*wire);
        }
        // Preferred serialization: what the generic encoder makes of the same value is the same bytes.
        EXPECT_EQ(cbor::encode(*wire), *encoded);
        EXPECT_EQ(decoded(tree.kind, *encoded), v);
    }
}

TEST(VoucherLeaves, AssertionNamesFollowTheEnumeration) {
    EXPECT_EQ(assertion_name(Assertion::Verified), "verified");
    EXPECT_EQ(assertion_name(Assertion::Logged), "logged");
    EXPECT_EQ(assertion_name(Assertion::Proximity), "proximity");
    EXPECT_EQ(assertion_name(Assertion::AgentProximity), "agent-proximity");
}

// ---------------------------------------------------------------------------------------------------------
// Key forms (RFC 9254 §3.2–3.3, BRSKI.md §1.2): each decodes to the model of the Appendix C.4 payload.

Map rvr_leaves_by_name() {
    return Map{
        {"assertion", 2},
        {"created-on", "2022-12-06T20:04:15.754Z"},
        {"idevid-issuer", hex(kIdevidIssuer)},
        {"nonce", hex(kPvrNonce)},
        {"prior-signed-voucher-request", read_hex("brski/appC3-pvr.hex")},
        {"serial-number", "JADA123456789"},
    };
}

// Like the cBRSKI §9.1.2 example: the container by its qualified name, the leaves by simple names.
TEST(VoucherForms, NameFormRegistrarRequestDecodesLikeTheSidForm) {
    const Voucher expected = decoded(Kind::VoucherRequest, read_hex("brski/appC4-rvr-payload.hex"));
    const Bytes payload = cbor::encode(Map{{"ietf-voucher-request:voucher", rvr_leaves_by_name()}});
    EXPECT_EQ(decoded(Kind::VoucherRequest, payload), expected);
}

TEST(VoucherForms, NameFormVoucherDecodesLikeTheSidForm) {
    const Voucher expected = decoded(Kind::Voucher, read_hex("brski/appC5-voucher-payload.hex"));
    const Bytes payload = cbor::encode(
        Map{{"ietf-voucher:voucher",
             Map{
                 {"serial-number", "JADA123456789"},
                 {"nonce", hex("57eed786ad404907")},
                 {"assertion", 2},
                 {"domain-cert-revocation-checks", false},
                 {"created-on", "2022-12-06T20:23:30.708Z"},
                 {"pinned-domain-cert", read_hex("brski/derived/rvr-x5bag-1-domain-ca-cert.hex")},
             }}});
    EXPECT_EQ(decoded(Kind::Voucher, payload), expected);
}

// RFC 9254 §3.3: the map under a name key has reference SID 0, so an integer key there is absolute.
TEST(VoucherForms, IntegerKeysUnderTheContainerNameAreAbsoluteSids) {
    const Voucher expected = decoded(Kind::VoucherRequest, read_hex("brski/appC4-rvr-payload.hex"));
    const Bytes payload =
        cbor::encode(Map{{"ietf-voucher-request:voucher", Map{
                                                              {2502, 2},
                                                              {2503, "2022-12-06T20:04:15.754Z"},
                                                              {"idevid-issuer", hex(kIdevidIssuer)},
                                                              {sid(2508), hex(kPvrNonce)},
                                                              {2510, read_hex("brski/appC3-pvr.hex")},
                                                              {2514, "JADA123456789"},
                                                          }}});
    EXPECT_EQ(decoded(Kind::VoucherRequest, payload), expected);
}

TEST(VoucherForms, Tag47AbsoluteSidsDecodeLikeDeltas) {
    const Voucher expected = decoded(Kind::VoucherRequest, read_hex("brski/appC4-rvr-payload.hex"));
    const Map leaves{
        {sid(2502), 2},
        {sid(2503), "2022-12-06T20:04:15.754Z"},
        {sid(2506), hex(kIdevidIssuer)},
        {sid(2508), hex(kPvrNonce)},
        {sid(2510), read_hex("brski/appC3-pvr.hex")},
        {sid(2514), "JADA123456789"},
    };
    EXPECT_EQ(decoded(Kind::VoucherRequest, cbor::encode(Map{{2501, leaves}})), expected);
    EXPECT_EQ(decoded(Kind::VoucherRequest, cbor::encode(Map{{sid(2501), leaves}})), expected);
}

TEST(VoucherForms, MixedDeltasTag47SidsAndNamesDecodeLikeTheSidForm) {
    const Voucher expected = decoded(Kind::VoucherRequest, read_hex("brski/appC4-rvr-payload.hex"));
    const Bytes payload =
        cbor::encode(Map{{2501, Map{
                                    {13, "JADA123456789"},
                                    {"prior-signed-voucher-request", read_hex("brski/appC3-pvr.hex")},
                                    {sid(2506), hex(kIdevidIssuer)},
                                    {1, 2},
                                    {"created-on", "2022-12-06T20:04:15.754Z"},
                                    {7, hex(kPvrNonce)},
                                }}});
    EXPECT_EQ(decoded(Kind::VoucherRequest, payload), expected);
}

// RFC 9254 §3: YANG-CBOR decoders support indefinite-length strings, arrays and maps.
TEST(VoucherForms, IndefiniteLengthFormsDecodeLikeDefiniteOnes) {
    const struct {
        const char* file;
        Kind kind;
    } payloads[] = {
        {"brski/appC3-pvr-payload.hex", Kind::VoucherRequest},
        {"brski/appC4-rvr-payload.hex", Kind::VoucherRequest},
        {"brski/appC5-voucher-payload.hex", Kind::Voucher},
    };
    for (const auto& p : payloads) {
        const Bytes original = read_hex(p.file);
        const Bytes chunked = indefinite(*cbor::decode(original));
        ASSERT_NE(chunked, original);
        EXPECT_EQ(decoded(p.kind, chunked), decoded(p.kind, original)) << p.file;
    }
}

TEST(VoucherForms, IndefiniteExtensionsListEqualsTheDefiniteOne) {
    const Value list = cbor::Array{2700u, "example-ext:feature"};
    const Voucher definite = decoded(Kind::Voucher, cbor::encode(Map{{2451, Map{{15, list}}}}));
    const Voucher chunked = decoded(Kind::Voucher, indefinite(Map{{2451, Map{{15, list}}}}));
    EXPECT_EQ(chunked, definite);
    EXPECT_EQ(definite.extensions, cbor::encode(list));
}

// ---------------------------------------------------------------------------------------------------------
// Unknown leaves: ignored (RFC 8995 §5.6.1) but kept for the log.

TEST(VoucherUnknownLeaves, UnknownSidsAndNamesAreKeptAsDiagnosticText) {
    const Bytes payload = cbor::encode(Map{{2501, Map{
                                                      {1, 2},
                                                      {99, hex("00")},
                                                      {"agent-sign-cert", hex("0102")},
                                                      {sid(2517), "x"},
                                                      {7, hex(kPvrNonce)},
                                                  }}});
    const Voucher v = decoded(Kind::VoucherRequest, payload);
    EXPECT_EQ(v.assertion, Assertion::Proximity);
    EXPECT_EQ(v.nonce, hex(kPvrNonce));
    EXPECT_EQ(v.unknown,
              (std::vector<std::string>{"2600: h'00'", "\"agent-sign-cert\": h'0102'", "2517: \"x\""}));
}

// Decision (voucher.hpp): the voucher tree has no such leaf, so a pledge ignores it like any unknown one.
TEST(VoucherUnknownLeaves, VoucherRequestOnlyLeavesInAVoucherAreUnknown) {
    const Bytes payload =
        cbor::encode(Map{{2451, Map{
                                    {11, "JADA123456789"},
                                    {"proximity-registrar-cert", hex("3003")},
                                    {sid(2510), hex("d2")},
                                    {9, hex("3059")},  // 2460: pinned-domain-pubk in a voucher
                                }}});
    const Voucher v = decoded(Kind::Voucher, payload);
    EXPECT_EQ(v.serial_number, "JADA123456789");
    EXPECT_EQ(v.pinned_domain_pubk, hex("3059"));
    EXPECT_FALSE(v.proximity_registrar_cert);
    EXPECT_FALSE(v.prior_signed_voucher_request);
    EXPECT_EQ(v.unknown, (std::vector<std::string>{"\"proximity-registrar-cert\": h'3003'", "2510: h'd2'"}));
}

TEST(VoucherUnknownLeaves, LongUnknownValuesAreCutForTheLog) {
    const Voucher v =
        decoded(Kind::VoucherRequest, cbor::encode(Map{{2501, Map{{15, Bytes(600, 0xab)}, {13, "S1"}}}}));
    ASSERT_EQ(v.unknown.size(), 1u);
    EXPECT_LT(v.unknown[0].size(), 100u);
    EXPECT_EQ(v.unknown[0].rfind("2516: h'abab", 0), 0u) << v.unknown[0];
}

TEST(VoucherUnknownLeaves, EncodingLeavesUnknownLeavesOut) {
    const Voucher v = decoded(Kind::VoucherRequest, cbor::encode(Map{{2501, Map{{99, 1}, {13, "S1"}}}}));
    ASSERT_EQ(v.unknown.size(), 1u);
    auto encoded = encode(Kind::VoucherRequest, v);
    ASSERT_TRUE(encoded.ok());
    EXPECT_EQ(*encoded, cbor::encode(Map{{2501, Map{{13, "S1"}}}}));
}

}  // namespace
}  // namespace estgw::brski
