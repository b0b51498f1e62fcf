// The voucher as the registrar relays it (brski/voucher_answer, BRSKI.md §3.6 and D5): x5bag and x5chain
// removed, every other byte as the MASA sent it.
#include "brski/voucher_answer.hpp"

#include <gtest/gtest.h>

#include "common/cbor.hpp"
#include "common/cose.hpp"
#include "support/test_data.hpp"
#include "support/test_pki.hpp"

namespace estgw::brski {
namespace {

// The parts of the repository's voucher: d2 84, protected, unprotected {32: [masa ca]}, payload, signature.
struct Parts {
    Bytes protected_item;
    Bytes unprotected_item;
    Bytes payload_item;
    Bytes signature_item;
};

Parts split(const Bytes& voucher) {
    cbor::DecodeLimits limits;
    limits.allow_indefinite = true;
    Parts p;
    std::size_t at = 2;  // d2 84
    for (Bytes* part : {&p.protected_item, &p.unprotected_item, &p.payload_item, &p.signature_item}) {
        const std::size_t length = cbor::item_length(ByteView(voucher).subspan(at), limits).value();
        part->assign(voucher.begin() + static_cast<std::ptrdiff_t>(at),
                     voucher.begin() + static_cast<std::ptrdiff_t>(at + length));
        at += length;
    }
    return p;
}

// A byte string as an indefinite-length string of two chunks (RFC 8949 §3.2.3).
Bytes chunked(const Bytes& item) {
    const Bytes content = cbor::decode(item).value().as_bytes();
    const std::size_t half = content.size() / 2;
    return test::joined(
        {test::hex("5f"),
         cbor::encode(
             cbor::Value(Bytes(content.begin(), content.begin() + static_cast<std::ptrdiff_t>(half)))),
         cbor::encode(cbor::Value(Bytes(content.begin() + static_cast<std::ptrdiff_t>(half), content.end()))),
         test::hex("ff")});
}

// cBRSKI App. C.5 and the README of the vectors: the repository's MASA voucher without label 32 is the
// voucher of the appendix, byte for byte.
TEST(StripVoucherCertificates, TurnsTheMasaVoucherIntoTheAppendixVoucher) {
    auto stripped = strip_voucher_certificates(test::read_hex("brski/repo-voucher-from-masa-with-x5bag.hex"));
    ASSERT_TRUE(stripped.ok()) << stripped.error().message;
    EXPECT_EQ(*stripped, test::read_hex("brski/appC5-voucher.hex"));
}

TEST(StripVoucherCertificates, LeavesAVoucherWithoutCertificatesAsItIs) {
    const Bytes voucher = test::read_hex("brski/appC5-voucher.hex");
    EXPECT_EQ(strip_voucher_certificates(voucher).value(), voucher);
}

// BRSKI.md D5: only 32 and 33 go; kid and unknown labels stay, in their order.
TEST(StripVoucherCertificates, RemovesX5chainTooAndKeepsOtherUnprotectedHeaders) {
    const auto key = test::make_key();
    const auto cert = test::make_certificate("CN=MASA", key.get(), nullptr, key.get());
    const cbor::Map unprotected{
        {cbor::Value(cose::kHeaderKid), cbor::Value(test::hex("0102"))},
        {cbor::Value(cose::kHeaderX5Chain), cbor::Value(test::to_der(cert.get()))},
        {cbor::Value(cose::kHeaderX5Bag), cbor::Value(cbor::Array{cbor::Value(test::to_der(cert.get()))})},
        {cbor::Value(-65537), cbor::Value("x")}};
    const Bytes voucher = cose::sign1(test::hex("a0"), unprotected, key.get()).value();
    auto stripped = strip_voucher_certificates(voucher);
    ASSERT_TRUE(stripped.ok()) << stripped.error().message;
    const auto message = cose::decode_sign1(*stripped).value();
    EXPECT_EQ(message.unprotected, (cbor::Map{{cbor::Value(cose::kHeaderKid), cbor::Value(test::hex("0102"))},
                                              {cbor::Value(-65537), cbor::Value("x")}}));
    EXPECT_TRUE(cose::verify_sign1(message, key.get()).ok());
}

// The signature covers the payload's content, not its encoding: a voucher sent with indefinite lengths and
// a non-preferred tag head is relayed with those very bytes, and only the unprotected map changes.
TEST(StripVoucherCertificates, CopiesIndefiniteAndNonPreferredItemsByteForByte) {
    const Parts p = split(test::read_hex("brski/repo-voucher-from-masa-with-x5bag.hex"));
    const Bytes head = test::hex("d8129f");  // tag 18 in two bytes, an indefinite array
    const Bytes unprotected_indefinite =
        test::joined({test::hex("bf1820"), Bytes(p.unprotected_item.begin() + 3, p.unprotected_item.end()),
                      test::hex("ff")});
    const Bytes odd = test::joined({head, p.protected_item, unprotected_indefinite, chunked(p.payload_item),
                                    p.signature_item, test::hex("ff")});
    ASSERT_TRUE(cose::decode_sign1(odd).ok()) << cose::decode_sign1(odd).error().message;
    auto stripped = strip_voucher_certificates(odd);
    ASSERT_TRUE(stripped.ok()) << stripped.error().message;
    EXPECT_EQ(*stripped, test::joined({head, p.protected_item, test::hex("a0"), chunked(p.payload_item),
                                       p.signature_item, test::hex("ff")}));
    const auto masa = test::read_certificate_hex("brski/appC2-masa-ca-cert.hex");
    EXPECT_TRUE(cose::verify_sign1(cose::decode_sign1(*stripped).value(), X509_get0_pubkey(masa.get())).ok());
}

class StripVoucherCertificatesRefuses : public ::testing::TestWithParam<const char*> {};

TEST_P(StripVoucherCertificatesRefuses, WhatIsNotATaggedCoseSign1AsUpstreamFailed) {
    Bytes input = test::hex(GetParam());
    auto stripped = strip_voucher_certificates(input);
    ASSERT_FALSE(stripped.ok());
    EXPECT_EQ(stripped.status(), Status::UpstreamFailed);
    EXPECT_EQ(stripped.error().message.rfind("the MASA's voucher is not a COSE_Sign1", 0), 0u)
        << stripped.error().message;
}

// clang-format off
INSTANTIATE_TEST_SUITE_P(Inputs, StripVoucherCertificatesRefuses, ::testing::Values(
    "",                        // nothing
    "3c68746d6c3e",            // "<html>"
    "8443a10126a0414140",      // untagged
    "d18443a10126a0414140",    // tag 17 (COSE_Mac0)
    "d28343a10126a04141",      // three elements
    "d284a10126a0414140",      // protected header not in a bstr
    "d28443a1012640414140",    // unprotected header not a map
    "d28443a10126a0f64140",    // payload null (detached)
    "d28443a10126a0414140ff"   // a byte after the array
));
// clang-format on

TEST(StripVoucherCertificates, RefusesTheAppendixVoucherWithATrailingByte) {
    Bytes voucher = test::read_hex("brski/appC5-voucher.hex");
    voucher.push_back(0);
    EXPECT_EQ(strip_voucher_certificates(voucher).status(), Status::UpstreamFailed);
}

}  // namespace
}  // namespace estgw::brski
