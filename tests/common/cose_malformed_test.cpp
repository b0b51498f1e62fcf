// COSE_Sign1 against malformed and forged input: what decode_sign1 refuses (BadRequest, with a message
// naming the fault), what verify_sign1 refuses, and the lenient cases that must still be accepted.
#include <gtest/gtest.h>

#include <string>

#include "common/cose.hpp"
#include "common/cose_fixtures.hpp"

namespace estgw::cose {
namespace {

using namespace test_support;
using test::hex;

const Bytes kEs256Protected = {0xa1, 0x01, 0x26};

// decode_sign1 refuses `in` with BadRequest and a message containing `phrase`.
void expect_refused(const Bytes& in, const std::string& phrase) {
    const auto result = decode_sign1(in);
    ASSERT_FALSE(result.ok()) << to_hex(in) << " was accepted";
    EXPECT_EQ(result.status(), Status::BadRequest);
    EXPECT_NE(result.error().message.find(phrase), std::string::npos) << result.error().message;
}

// A structurally valid envelope around the PVR's parts with one part replaced.
Bytes pvr_with(cbor::Value protected_part, cbor::Value unprotected) {
    const Sign1 pvr = decoded(vector("appC3-pvr.hex"));
    return envelope(std::move(protected_part), std::move(unprotected), pvr.payload, pvr.signature);
}

EVP_PKEY* idevid_public_key() {
    static const X509Ptr cert = certificate("appC2-pledge-idevid-cert.hex");
    return X509_get0_pubkey(cert.get());
}

// ---------------------------------------------------------------------------------------------------------
// Forgeries and key mismatches (verify_sign1).

TEST(CoseForgery, FlippedSignatureBitDoesNotVerify) {
    Sign1 pvr = decoded(vector("appC3-pvr.hex"));
    pvr.signature[10] ^= 0x01;
    const auto verified = verify_sign1(pvr, idevid_public_key());
    EXPECT_EQ(verified.status(), Status::Forbidden);
    EXPECT_EQ(verified.error().message, "COSE_Sign1: signature does not verify");
}

TEST(CoseForgery, FlippedPayloadBitDoesNotVerify) {
    Bytes pvr = vector("appC3-pvr.hex");
    pvr[20] ^= 0x01;  // inside the nonce
    EXPECT_EQ(verify_sign1(decoded(pvr), idevid_public_key()).status(), Status::Forbidden);
}

TEST(CoseForgery, FlippedEd25519SignatureBitDoesNotVerify) {
    const EvpPkeyPtr key = ed25519_key();
    Sign1 message = decoded(*sign1(as_bytes("x"), {}, key.get()));
    message.signature[63] ^= 0x80;
    EXPECT_EQ(verify_sign1(message, key.get()).status(), Status::Forbidden);
}

TEST(CoseForgery, ProtectedHeaderReencodedDifferentlyDoesNotVerify) {
    // {1: -7} with a non-shortest alg (38 06 = -7): the same map, other bytes, so another Sig_structure.
    const Sign1 pvr = decoded(vector("appC3-pvr.hex"));
    const Sign1 reencoded = decoded(pvr_with(hex("a1013806"), cbor::Map{}));
    EXPECT_EQ(reencoded.alg(), -7);
    EXPECT_EQ(verify_sign1(reencoded, idevid_public_key()).status(), Status::Forbidden);
}

TEST(CoseForgery, Es256HeaderWithAnEd25519KeyIsRefused) {
    const EvpPkeyPtr key = ed25519_key();
    const auto verified = verify_sign1(decoded(vector("appC3-pvr.hex")), key.get());
    EXPECT_EQ(verified.status(), Status::BadRequest);
    EXPECT_NE(verified.error().message.find("P-256"), std::string::npos) << verified.error().message;
}

TEST(CoseForgery, EdDsaHeaderWithAP256KeyIsRefused) {
    const EvpPkeyPtr ed = ed25519_key();
    const Sign1 message = decoded(*sign1(as_bytes("x"), {}, ed.get()));
    const EvpPkeyPtr ec = ec_key("P-256");
    const auto verified = verify_sign1(message, ec.get());
    EXPECT_EQ(verified.status(), Status::BadRequest);
    EXPECT_NE(verified.error().message.find("Ed25519"), std::string::npos) << verified.error().message;
}

TEST(CoseForgery, Es256HeaderWithAP384KeyIsRefused) {
    const EvpPkeyPtr key = ec_key("P-384");
    EXPECT_EQ(verify_sign1(decoded(vector("appC3-pvr.hex")), key.get()).status(), Status::BadRequest);
}

TEST(CoseForgery, Es256SignaturesOf63And65BytesAreRefused) {
    for (const std::size_t size : {63u, 65u}) {
        Sign1 pvr = decoded(vector("appC3-pvr.hex"));
        pvr.signature.resize(size);
        const auto refused = verify_sign1(pvr, idevid_public_key());
        EXPECT_EQ(refused.status(), Status::BadRequest) << size;
        EXPECT_NE(refused.error().message.find("not 64"), std::string::npos) << refused.error().message;
    }
}

TEST(CoseForgery, AlgOnlyInTheUnprotectedMapIsRefused) {
    const Sign1 message = decoded(pvr_with(Bytes{}, cbor::Map{{kHeaderAlg, -7}}));
    EXPECT_FALSE(message.alg().has_value());
    const auto verified = verify_sign1(message, idevid_public_key());
    EXPECT_EQ(verified.status(), Status::BadRequest);
    EXPECT_NE(verified.error().message.find("no integer alg"), std::string::npos) << verified.error().message;
}

TEST(CoseForgery, UnsupportedAlgIsRefused) {
    // ES384 (-35) is a fine COSE algorithm, but not one cBRSKI uses.
    const auto verified = verify_sign1(decoded(pvr_with(hex("a1013822"), cbor::Map{})), idevid_public_key());
    EXPECT_EQ(verified.status(), Status::BadRequest);
}

TEST(CoseForgery, Ed25519AlgMinus19VerifiesWithAnEd25519Key) {
    // RFC 9864: the fully specified Ed25519 (-19) is accepted on input.
    const EvpPkeyPtr key = ed25519_key();
    Sign1 message;
    message.protected_map = cbor::Map{{kHeaderAlg, -19}};
    message.protected_bytes = cbor::encode(message.protected_map);
    message.payload = to_bytes("payload");
    const Bytes tbs = sig_structure(message);
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    std::size_t length = 64;
    message.signature.resize(length);
    ASSERT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()), 1);
    ASSERT_EQ(EVP_DigestSign(ctx.get(), message.signature.data(), &length, tbs.data(), tbs.size()), 1);
    const Sign1 received = decoded(encode_without_unprotected(message, {}));
    EXPECT_EQ(received.alg(), -19);
    EXPECT_TRUE(verify_sign1(received, key.get()).ok());
}

// ---------------------------------------------------------------------------------------------------------
// Structure (decode_sign1).

TEST(CoseMalformed, TrailingBytesAreRefused) {
    Bytes pvr = vector("appC3-pvr.hex");
    pvr.push_back(0x00);
    expect_refused(pvr, "trailing");
}

TEST(CoseMalformed, UntaggedArrayIsRefusedNamingTag18) {
    // BRSKI.md D3: decided to refuse; the tag is what the voucher+cose media type carries.
    const Bytes pvr = vector("appC3-pvr.hex");
    expect_refused(Bytes(pvr.begin() + 1, pvr.end()), "tag 18");
}

TEST(CoseMalformed, OtherTagIsRefused) {
    Bytes pvr = vector("appC3-pvr.hex");
    pvr[0] = 0xd1;  // tag 17, COSE_Mac0
    expect_refused(pvr, "tag 17");
}

TEST(CoseMalformed, Tag18AroundAMapIsRefused) {
    expect_refused(hex("d2a0"), "not an array");
}

TEST(CoseMalformed, ThreeOrFiveElementsAreRefused) {
    expect_refused(hex("d28343a10126a040"), "3 elements");
    Bytes five = vector("appC3-pvr.hex");
    five[1] = 0x85;
    five.push_back(0x40);
    expect_refused(five, "5 elements");
}

TEST(CoseMalformed, ProtectedThatIsNotABstrIsRefused) {
    expect_refused(pvr_with(cbor::Map{{kHeaderAlg, -7}}, cbor::Map{}),
                   "protected header is a map, not a bstr");
}

TEST(CoseMalformed, ProtectedBstrThatIsNotAMapIsRefused) {
    expect_refused(pvr_with(hex("83010203"), cbor::Map{}), "protected header is an array, not a map");
    expect_refused(pvr_with(hex("a101"), cbor::Map{}), "protected header:");
    expect_refused(pvr_with(hex("a1012600"), cbor::Map{}), "trailing");
}

TEST(CoseMalformed, UnprotectedThatIsNotAMapIsRefused) {
    expect_refused(pvr_with(kEs256Protected, cbor::Array{}), "unprotected header is an array, not a map");
}

TEST(CoseMalformed, DetachedPayloadIsRefused) {
    expect_refused(envelope(kEs256Protected, cbor::Map{}, nullptr, Bytes(64)), "detached");
    expect_refused(envelope(kEs256Protected, cbor::Map{}, "text", Bytes(64)), "payload is a text string");
    expect_refused(envelope(kEs256Protected, cbor::Map{}, Bytes{}, nullptr), "signature is null");
}

TEST(CoseMalformed, DuplicateLabelInTheUnprotectedMapIsRefused) {
    // {4: h'01', 4: h'02'}, written by hand: the CBOR encoder would not produce it from a Map either way.
    const Sign1 pvr = decoded(vector("appC3-pvr.hex"));
    const Bytes in = test::joined(
        {hex("d28443a10126a2044101044102"), cbor::encode(pvr.payload), cbor::encode(pvr.signature)});
    expect_refused(in, "duplicate");
}

TEST(CoseMalformed, DuplicateLabelInTheProtectedMapIsRefused) {
    expect_refused(pvr_with(hex("a201260126"), cbor::Map{}), "duplicate");
}

TEST(CoseMalformed, LabelInBothMapsIsRefused) {
    // RFC 9052 §3: an unprotected copy could otherwise shadow the signed value for a careless reader.
    expect_refused(pvr_with(kEs256Protected, cbor::Map{{kHeaderAlg, -7}}), "in both");
    expect_refused(pvr_with(hex("a2012618204101"), cbor::Map{{kHeaderX5Bag, Bytes{2}}}), "in both");
}

TEST(CoseMalformed, UnknownCriticalLabelIsRefused) {
    // {1: -7, 2: [99]}: the signer says label 99 must be understood; we do not (RFC 9052 §3.1).
    expect_refused(pvr_with(hex("a20126028118 63"), cbor::Map{}), "critical header 99 is not understood");
    expect_refused(pvr_with(hex("a2012602816178"), cbor::Map{}), "critical header \"x\"");
}

TEST(CoseMalformed, CriticalLabelThatIsUnderstoodIsAccepted) {
    // {1: -7, 2: [32], 32: h'01'}
    const Sign1 message = decoded(pvr_with(hex("a301260281182018204101"), cbor::Map{}));
    EXPECT_EQ(message.certificates(), std::vector<Bytes>{Bytes{1}});
}

TEST(CoseMalformed, CritOutsideTheProtectedMapOrEmptyIsRefused) {
    expect_refused(pvr_with(kEs256Protected, cbor::Map{{kHeaderCrit, cbor::Array{1}}}), "protected");
    expect_refused(pvr_with(hex("a201260280"), cbor::Map{}), "non-empty array");
}

TEST(CoseMalformed, X5bagThatIsNoCertificateBagIsRefused) {
    expect_refused(pvr_with(kEs256Protected, cbor::Map{{kHeaderX5Bag, cbor::Array{}}}), "empty array");
    expect_refused(pvr_with(kEs256Protected, cbor::Map{{kHeaderX5Bag, 5}}), "not a bstr or array");
    expect_refused(pvr_with(kEs256Protected, cbor::Map{{kHeaderX5Chain, cbor::Array{Bytes{1}, "pem"}}}),
                   "a text string");
}

TEST(CoseMalformed, LabelThatIsNeitherIntNorTextIsRefused) {
    expect_refused(pvr_with(kEs256Protected, cbor::Map{{Bytes{1}, 1}}), "neither an int nor a tstr");
}

TEST(CoseMalformed, DepthBombInTheUnprotectedMapIsRefused) {
    Bytes in = hex("d28443a10126a104");
    in.insert(in.end(), 1000, 0x81);  // [[[[...]]]] a thousand deep under kid
    in.push_back(0x00);
    const Sign1 pvr = decoded(vector("appC3-pvr.hex"));
    in = test::joined({in, cbor::encode(pvr.payload), cbor::encode(pvr.signature)});
    expect_refused(in, "nesting");
}

TEST(CoseMalformed, EmptyProtectedBstrIsAnEmptyMapWithoutAlg) {
    const Sign1 message = decoded(pvr_with(Bytes{}, cbor::Map{}));
    EXPECT_TRUE(message.protected_map.empty());
    EXPECT_FALSE(message.alg().has_value());
    // The Sig_structure carries the zero-length bstr (40), never h'a0'.
    EXPECT_EQ(to_hex(ByteView(sig_structure(message)).first(13)), "846a5369676e61747572653140");
}

TEST(CoseMalformed, IndefiniteLengthEnvelopeIsAcceptedAndVerifies) {
    // BRSKI.md §1.2: YANG-CBOR carriers take indefinite lengths; only the Sig_structure must be definite.
    const Sign1 pvr = decoded(vector("appC3-pvr.hex"));
    const ByteView payload(pvr.payload);
    const Bytes in = test::joined({
        hex("d29f"),            // tag 18, indefinite array
        hex("5f41a1420126ff"),  // protected a10126 in two chunks
        hex("bfff"),            // unprotected: indefinite empty map
        hex("5f5840"),
        Bytes(payload.begin(), payload.begin() + 64),  // payload in two chunks
        hex("583e"),
        Bytes(payload.begin() + 64, payload.end()),
        hex("ff"),
        cbor::encode(pvr.signature),  // signature, definite
        hex("ff"),
    });
    ASSERT_EQ(pvr.payload.size(), 64u + 62u);
    const Sign1 message = decoded(in);
    EXPECT_EQ(to_hex(message.protected_bytes), "a10126");
    EXPECT_EQ(message.payload, pvr.payload);
    EXPECT_EQ(to_hex(sig_structure(message)), to_hex(vector("derived/pvr-sig-structure.hex")));
    EXPECT_TRUE(verify_sign1(message, idevid_public_key()).ok());
    // Re-encoding gives the definite form, which is the draft's PVR.
    EXPECT_EQ(to_hex(encode_without_unprotected(message, {})), to_hex(vector("appC3-pvr.hex")));
}

}  // namespace
}  // namespace estgw::cose
