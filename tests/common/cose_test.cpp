// COSE_Sign1 against the cBRSKI worked examples (cBRSKI App. C.3-C.5), signing, and the ES256 signature
// conversion. Malformed and forged input: cose_malformed_test.cpp.
#include "common/cose.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/cose_fixtures.hpp"

namespace estgw::cose {
namespace {

using namespace test_support;
using test::hex;

struct VectorCase {
    const char* message;
    const char* signer_certificate;
    const char* derived_prefix;  // derived/<prefix>-sig-structure.hex and -signature-r-s.hex
};

// README "What signed what"; the C.5 voucher as the registrar forwards it and as the MASA sent it share
// their Sig_structure (the x5bag is unprotected).
const VectorCase kVectors[] = {
    {"appC3-pvr.hex", "appC2-pledge-idevid-cert.hex", "pvr"},
    {"appC4-rvr.hex", "derived/rvr-x5bag-0-registrar-cert.hex", "rvr"},
    {"appC4-rvr.hex", "appC2-registrar-cert.hex", "rvr"},
    {"appC5-voucher.hex", "appC2-masa-ca-cert.hex", "voucher"},
    {"repo-voucher-from-masa-with-x5bag.hex", "appC2-masa-ca-cert.hex", "voucher"},
};

// ---------------------------------------------------------------------------------------------------------
// The vectors.

TEST(CoseVectors, EveryVectorSignatureVerifiesWithItsSignersCertificate) {
    for (const auto& v : kVectors) {
        SCOPED_TRACE(v.message);
        const Sign1 message = decoded(vector(v.message));
        const X509Ptr cert = certificate(v.signer_certificate);
        ASSERT_NE(cert, nullptr);
        const auto verified = verify_sign1(message, X509_get0_pubkey(cert.get()));
        EXPECT_TRUE(verified.ok()) << (verified.ok() ? "" : verified.error().message);
    }
}

TEST(CoseVectors, SigStructureOfEveryVectorEqualsTheDerivedBytes) {
    for (const auto& v : kVectors) {
        SCOPED_TRACE(v.message);
        EXPECT_EQ(to_hex(sig_structure(decoded(vector(v.message)))),
                  to_hex(vector(std::string("derived/") + v.derived_prefix + "-sig-structure.hex")));
    }
}

TEST(CoseVectors, SignatureOfEveryVectorIsTheDerivedRawRs) {
    for (const auto& v : kVectors) {
        SCOPED_TRACE(v.message);
        EXPECT_EQ(to_hex(decoded(vector(v.message)).signature),
                  to_hex(vector(std::string("derived/") + v.derived_prefix + "-signature-r-s.hex")));
    }
}

TEST(CoseVectors, PayloadOfEveryDraftVectorIsTheDraftPayload) {
    EXPECT_EQ(decoded(vector("appC3-pvr.hex")).payload, vector("appC3-pvr-payload.hex"));
    EXPECT_EQ(decoded(vector("appC4-rvr.hex")).payload, vector("appC4-rvr-payload.hex"));
    EXPECT_EQ(decoded(vector("appC5-voucher.hex")).payload, vector("appC5-voucher-payload.hex"));
}

TEST(CoseVectors, PvrProtectedHeaderIsKeptAsReceivedAndNamesEs256) {
    const Sign1 pvr = decoded(vector("appC3-pvr.hex"));
    EXPECT_EQ(to_hex(pvr.protected_bytes), "a10126");
    EXPECT_EQ(pvr.alg(), -7);
    EXPECT_TRUE(pvr.unprotected.empty());
    EXPECT_TRUE(pvr.certificates().empty());
}

TEST(CoseVectors, StrippingX5bagFromTheMasaVoucherGivesTheForwardedVoucherByteForByte) {
    // cBRSKI §6.8: the registrar removes x5bag/x5chain before it forwards the voucher to the pledge.
    const Sign1 from_masa = decoded(vector("repo-voucher-from-masa-with-x5bag.hex"));
    EXPECT_EQ(to_hex(encode_without_unprotected(from_masa, {kHeaderX5Bag, kHeaderX5Chain})),
              to_hex(vector("appC5-voucher.hex")));
}

TEST(CoseVectors, CertificatesOfTheRvrAreItsX5bagInOrder) {
    const std::vector<Bytes> expected = {vector("derived/rvr-x5bag-0-registrar-cert.hex"),
                                         vector("derived/rvr-x5bag-1-domain-ca-cert.hex")};
    EXPECT_EQ(decoded(vector("appC4-rvr.hex")).certificates(), expected);
}

TEST(CoseVectors, MasaVoucherX5bagArrayOfOneIsAccepted) {
    // README trap 9: RFC 9360 wants a bare bstr for one certificate; the draft's MASA sends an array of one.
    const Sign1 from_masa = decoded(vector("repo-voucher-from-masa-with-x5bag.hex"));
    const cbor::Value unprotected(from_masa.unprotected);  // find() points into it: it must outlive `bag`
    const cbor::Value* bag = unprotected.find(kHeaderX5Bag);
    ASSERT_NE(bag, nullptr);
    ASSERT_TRUE(bag->is_array());
    EXPECT_EQ(bag->as_array().size(), 1u);
    EXPECT_EQ(from_masa.certificates(),
              std::vector<Bytes>{vector("derived/voucher-masa-x5bag-0-masa-ca-cert.hex")});
}

TEST(CoseVectors, PvrDoesNotVerifyWithTheRegistrarKey) {
    const X509Ptr registrar = certificate("appC2-registrar-cert.hex");
    const auto verified = verify_sign1(decoded(vector("appC3-pvr.hex")), X509_get0_pubkey(registrar.get()));
    EXPECT_EQ(verified.status(), Status::Forbidden);
}

TEST(CoseVectors, ResigningThePvrPayloadWithTheIdevidKeyVerifiesWithTheIdevidCertificate) {
    const EvpPkeyPtr key = private_key("appC1-pledge-idevid-key.pem");
    const auto signed_pvr = sign1(vector("appC3-pvr-payload.hex"), {}, key.get());
    ASSERT_TRUE(signed_pvr.ok()) << signed_pvr.error().message;
    // ECDSA signatures are randomised: all but the last 64 bytes are the draft's.
    const Bytes draft = vector("appC3-pvr.hex");
    ASSERT_EQ(signed_pvr->size(), draft.size());
    EXPECT_TRUE(std::equal(draft.begin(), draft.end() - 64, signed_pvr->begin()));
    const X509Ptr cert = certificate("appC2-pledge-idevid-cert.hex");
    EXPECT_TRUE(verify_sign1(decoded(*signed_pvr), X509_get0_pubkey(cert.get())).ok());
}

// ---------------------------------------------------------------------------------------------------------
// Signing.

TEST(CoseSign, Es256SignatureRoundTripsWithProtectedA10126) {
    const EvpPkeyPtr key = ec_key("P-256");
    const auto encoded = sign1(as_bytes("payload"), {}, key.get());
    ASSERT_TRUE(encoded.ok()) << encoded.error().message;
    const Sign1 message = decoded(*encoded);
    EXPECT_EQ(to_hex(message.protected_bytes), "a10126");
    EXPECT_EQ(message.signature.size(), 64u);
    EXPECT_EQ(to_string(message.payload), "payload");
    const auto verified = verify_sign1(message, key.get());
    EXPECT_TRUE(verified.ok()) << verified.error().message;
}

TEST(CoseSign, Ed25519SignatureRoundTripsWithProtectedA10127) {
    const EvpPkeyPtr key = ed25519_key();
    const auto encoded = sign1(as_bytes("payload"), {}, key.get());
    ASSERT_TRUE(encoded.ok()) << encoded.error().message;
    const Sign1 message = decoded(*encoded);
    EXPECT_EQ(to_hex(message.protected_bytes), "a10127");
    EXPECT_EQ(message.signature.size(), 64u);
    const auto verified = verify_sign1(message, key.get());
    EXPECT_TRUE(verified.ok()) << verified.error().message;
}

TEST(CoseSign, EnvelopeIsTag18WithDefiniteShortestLengths) {
    const EvpPkeyPtr key = ed25519_key();
    const auto encoded = sign1(Bytes{0x01}, {}, key.get());
    ASSERT_TRUE(encoded.ok());
    // d2 84 | 43 a10127 | a0 | 41 01 | 58 40 <64 bytes>
    EXPECT_EQ(to_hex(ByteView(*encoded).first(10)), "d28443a10127a0410158");
    EXPECT_EQ(encoded->size(), 11u + 64u);
}

TEST(CoseSign, UnprotectedX5bagOfOneCertificateIsABareBstr) {
    const EvpPkeyPtr key = ec_key("P-256");
    const Bytes cert = vector("appC2-masa-ca-cert.hex");
    const auto encoded = sign1(as_bytes("x"), {{kHeaderX5Bag, certificate_bag({cert})}}, key.get());
    ASSERT_TRUE(encoded.ok()) << encoded.error().message;
    const Sign1 message = decoded(*encoded);
    ASSERT_EQ(message.unprotected.size(), 1u);
    EXPECT_TRUE(message.unprotected.front().second.is_bytes());
    EXPECT_EQ(message.certificates(), std::vector<Bytes>{cert});
    EXPECT_TRUE(verify_sign1(message, key.get()).ok());
}

TEST(CoseSign, CertificateBagOfTwoIsAnArrayInOrder) {
    const cbor::Value bag = certificate_bag({Bytes{1}, Bytes{2}});
    ASSERT_TRUE(bag.is_array());
    EXPECT_EQ(bag, cbor::Value(cbor::Array{Bytes{1}, Bytes{2}}));
}

TEST(CoseSign, P384KeyIsRefusedForSigning) {
    const EvpPkeyPtr key = ec_key("P-384");
    const auto encoded = sign1(as_bytes("x"), {}, key.get());
    ASSERT_FALSE(encoded.ok());
    EXPECT_EQ(encoded.status(), Status::BadRequest);
    EXPECT_NE(encoded.error().message.find("P-256"), std::string::npos) << encoded.error().message;
}

TEST(CoseSign, UnprotectedAlgIsRefusedBecauseItWouldSitInBothMaps) {
    const EvpPkeyPtr key = ec_key("P-256");
    const auto encoded = sign1(as_bytes("x"), {{kHeaderAlg, -7}}, key.get());
    EXPECT_EQ(encoded.status(), Status::BadRequest);
}

TEST(CoseSign, EncodeWithoutUnprotectedKeepsOtherLabelsAndStillVerifies) {
    const EvpPkeyPtr key = ec_key("P-256");
    const auto encoded =
        sign1(as_bytes("x"), {{kHeaderKid, Bytes{7}}, {kHeaderX5Bag, certificate_bag({Bytes{1}, Bytes{2}})}},
              key.get());
    ASSERT_TRUE(encoded.ok());
    const Sign1 stripped =
        decoded(encode_without_unprotected(decoded(*encoded), {kHeaderX5Bag, kHeaderX5Chain}));
    ASSERT_EQ(stripped.unprotected.size(), 1u);
    EXPECT_EQ(stripped.unprotected.front().first, cbor::Value(kHeaderKid));
    EXPECT_TRUE(stripped.certificates().empty());
    EXPECT_TRUE(verify_sign1(stripped, key.get()).ok());
}

// ---------------------------------------------------------------------------------------------------------
// ES256 signature conversion (RFC 9053 §2.1: r and s each left-padded to 32 bytes).

Bytes raw_signature(const std::string& r_hex, const std::string& s_hex) {
    return test::joined({hex(r_hex), hex(s_hex)});
}

void expect_raw_round_trip(const Bytes& raw) {
    const auto der = ecdsa_raw_to_der(raw);
    ASSERT_TRUE(der.ok()) << der.error().message;
    const auto back = ecdsa_der_to_raw(*der);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(to_hex(*back), to_hex(raw));
}

TEST(CoseEcdsa, VectorSignaturesRoundTripThroughDer) {
    for (const char* name : {"pvr", "rvr", "voucher"}) {
        SCOPED_TRACE(name);
        expect_raw_round_trip(vector(std::string("derived/") + name + "-signature-r-s.hex"));
    }
}

TEST(CoseEcdsa, HalvesWithLeadingZeroBytesRoundTrip) {
    const std::string ones(60, '1');
    expect_raw_round_trip(raw_signature("0000" + ones, "00" + std::string(62, '7')));
    expect_raw_round_trip(raw_signature(std::string(62, '0') + "01", std::string(62, '0') + "02"));
}

TEST(CoseEcdsa, HalvesWithTheHighBitSetRoundTrip) {
    // DER prefixes a 00 octet to keep such an INTEGER positive; raw must not carry it.
    const auto der = ecdsa_raw_to_der(raw_signature(std::string(64, 'f'), "80" + std::string(62, '0')));
    ASSERT_TRUE(der.ok());
    EXPECT_EQ(der->size(), 2u + 2 * (2 + 33));
    expect_raw_round_trip(raw_signature(std::string(64, 'f'), "80" + std::string(62, '0')));
}

TEST(CoseEcdsa, ShortDerIntegersArePaddedTo32Bytes) {
    // SEQUENCE { INTEGER 1, INTEGER 0x0203 }
    const auto raw = ecdsa_der_to_raw(hex("3007020101020202 03"));
    ASSERT_TRUE(raw.ok()) << raw.error().message;
    EXPECT_EQ(to_hex(*raw), std::string(62, '0') + "01" + std::string(60, '0') + "0203");
}

TEST(CoseEcdsa, RawOf63Or65BytesIsRefused) {
    EXPECT_EQ(ecdsa_raw_to_der(Bytes(63, 1)).status(), Status::BadRequest);
    EXPECT_EQ(ecdsa_raw_to_der(Bytes(65, 1)).status(), Status::BadRequest);
}

TEST(CoseEcdsa, DerIntegerWiderThan32BytesIsRefused) {
    const Bytes wide = test::der_tlv(0x02, Bytes(33, 0x7f));
    EXPECT_EQ(ecdsa_der_to_raw(test::der_tlv(0x30, test::joined({wide, hex("020101")}))).status(),
              Status::BadRequest);
}

TEST(CoseEcdsa, DerWithTrailingBytesIsRefused) {
    EXPECT_EQ(ecdsa_der_to_raw(hex("300602010102010100")).status(), Status::BadRequest);
}

}  // namespace
}  // namespace estgw::cose
