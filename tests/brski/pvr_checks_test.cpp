// The registrar's checks of a pledge voucher-request on /rv (brski/pvr_checks, BRSKI.md §3.2 checks 5–10):
// the cBRSKI Appendix C.3 PVR, then PVRs signed here, each wrong in one way and refused with its status and
// a message that begins with the check's name; and the order of the checks where two fail at once.
#include "brski/pvr_checks.hpp"

#include <gtest/gtest.h>

#include "brski/registrar_test_pki.hpp"
#include "common/cose.hpp"
#include "common/keys.hpp"
#include "support/test_data.hpp"
#include "support/test_pki.hpp"

namespace estgw::brski {
namespace {

using test::to_der;

::testing::AssertionResult refused_by(const Result<AcceptedPvr>& result, Status status,
                                      const std::string& check) {
    if (result.ok()) return ::testing::AssertionFailure() << "accepted";
    if (result.status() != status || result.error().message.rfind(check + ": ", 0) != 0) {
        return ::testing::AssertionFailure() << status_name(result.status()) << " " << result.error().message;
    }
    return ::testing::AssertionSuccess();
}

// cBRSKI App. C.3: signed by the C.1 IDevID key, proximity-registrar-pubk of the C.2 registrar.
TEST(AppendixCPvr, IsAcceptedFromItsIdevidForItsRegistrar) {
    const auto idevid = test::read_certificate_hex("brski/appC2-pledge-idevid-cert.hex");
    const auto registrar = test::read_certificate_hex("brski/appC2-registrar-cert.hex");
    auto accepted =
        check_pledge_voucher_request(test::read_hex("brski/appC3-pvr.hex"), idevid.get(), registrar.get());
    ASSERT_TRUE(accepted.ok()) << accepted.error().message;
    EXPECT_EQ(accepted->nonce, test::hex("23bfbbc9c2bcf213"));
    EXPECT_EQ(accepted->serial_number, "JADA123456789");
    EXPECT_EQ(accepted->proximity, std::vector<std::string>{"pubk"});
    EXPECT_EQ(accepted->request.assertion, Assertion::Proximity);
}

// Trap 1 of the vectors' README: the other generation of the registrar certificate has the same key, and
// -pubk names a key, not a certificate.
TEST(AppendixCPvr, IsAcceptedForTheOtherGenerationOfTheRegistrarCertificate) {
    const auto idevid = test::read_certificate_hex("brski/appC2-pledge-idevid-cert.hex");
    const auto registrar = test::read_certificate_hex("brski/derived/rvr-x5bag-0-registrar-cert.hex");
    EXPECT_TRUE(
        check_pledge_voucher_request(test::read_hex("brski/appC3-pvr.hex"), idevid.get(), registrar.get())
            .ok());
}

TEST(AppendixCPvr, IsRefusedAsAManInTheMiddleByAnotherRegistrar) {
    const auto idevid = test::read_certificate_hex("brski/appC2-pledge-idevid-cert.hex");
    const auto pki = RegistrarTestPki::make();
    auto refused = check_pledge_voucher_request(test::read_hex("brski/appC3-pvr.hex"), idevid.get(),
                                                pki.registrar.get());
    EXPECT_TRUE(refused_by(refused, Status::Unauthorized, "proximity"));
    EXPECT_TRUE(closes_session(refused.error()));
}

TEST(AppendixCPvr, IsRefusedFromAnotherPledge) {
    const auto pki = RegistrarTestPki::make();
    const auto registrar = test::read_certificate_hex("brski/appC2-registrar-cert.hex");
    EXPECT_TRUE(refused_by(check_pledge_voucher_request(test::read_hex("brski/appC3-pvr.hex"),
                                                        pki.idevid.get(), registrar.get()),
                           Status::Forbidden, "signature"));
}

class PvrChecks : public ::testing::Test {
  protected:
    PvrLeaves good() const {
        PvrLeaves l;
        l.proximity_cert = cbor::Value(to_der(pki.registrar.get()));
        return l;
    }
    Result<AcceptedPvr> check(const PvrLeaves& leaves) const {
        return check_signed(signed_pvr(leaves, pki.idevid_key.get()));
    }
    Result<AcceptedPvr> check_signed(const Bytes& pvr) const {
        return check_pledge_voucher_request(pvr, pki.idevid.get(), pki.registrar.get());
    }

    RegistrarTestPki pki = RegistrarTestPki::make();
};

TEST_F(PvrChecks, AcceptsAProximityRequestNamingThisRegistrarsCertificate) {
    auto accepted = check(good());
    ASSERT_TRUE(accepted.ok()) << accepted.error().message;
    EXPECT_EQ(accepted->nonce, Bytes(8, 0x5a));
    EXPECT_EQ(accepted->serial_number, kTestSerial);
    EXPECT_EQ(accepted->proximity, std::vector<std::string>{"cert"});
}

TEST_F(PvrChecks, AcceptsAllThreeProximityFieldsWhenEachMatches) {
    PvrLeaves l = good();
    l.proximity_pubk = cbor::Value(spki_der(pki.registrar.get()));
    l.proximity_pubk_sha256 = cbor::Value(sha256_of(spki_der(pki.registrar.get())));
    auto accepted = check(l);
    ASSERT_TRUE(accepted.ok()) << accepted.error().message;
    EXPECT_EQ(accepted->proximity, (std::vector<std::string>{"cert", "pubk", "pubk-sha256"}));
}

TEST_F(PvrChecks, AcceptsPubkSha256Alone) {
    PvrLeaves l = good();
    l.proximity_cert.reset();
    l.proximity_pubk_sha256 = cbor::Value(sha256_of(spki_der(pki.registrar.get())));
    auto accepted = check(l);
    ASSERT_TRUE(accepted.ok()) << accepted.error().message;
    EXPECT_EQ(accepted->proximity, std::vector<std::string>{"pubk-sha256"});
}

TEST_F(PvrChecks, AcceptsNoncesOf8And32Bytes) {
    for (std::size_t size : {8u, 32u}) {
        PvrLeaves l = good();
        l.nonce = cbor::Value(Bytes(size, 1));
        EXPECT_TRUE(check(l).ok()) << size;
    }
}

// Check 5.
TEST_F(PvrChecks, RefusesBytesThatAreNotCoseAsBadRequest) {
    EXPECT_TRUE(refused_by(check_signed(test::hex("a10102")), Status::BadRequest, "cose"));
    EXPECT_TRUE(refused_by(check_signed({}), Status::BadRequest, "cose"));
}

TEST_F(PvrChecks, RefusesAnUntaggedCoseSign1AsBadRequest) {
    Bytes pvr = signed_pvr(good(), pki.idevid_key.get());
    ASSERT_EQ(pvr.front(), 0xd2);
    pvr.erase(pvr.begin());
    EXPECT_TRUE(refused_by(check_signed(pvr), Status::BadRequest, "cose"));
}

TEST_F(PvrChecks, RefusesAVoucherPayloadAsBadRequest) {
    const Bytes payload = cbor::encode(cbor::Value(
        cbor::Map{{cbor::Value(2451u), cbor::Value(cbor::Map{{cbor::Value(1u), cbor::Value(2u)}})}}));
    EXPECT_TRUE(refused_by(check_signed(cose::sign1(payload, {}, pki.idevid_key.get()).value()),
                           Status::BadRequest, "cose"));
}

TEST_F(PvrChecks, RefusesANonceThatIsNotAByteStringAsBadRequest) {
    PvrLeaves l = good();
    l.nonce = cbor::Value("0123456789");
    EXPECT_TRUE(refused_by(check(l), Status::BadRequest, "cose"));
}

// Check 6.
TEST_F(PvrChecks, RefusesARequestSignedByAnotherKeyAsForbidden) {
    const auto other = test::make_key();
    EXPECT_TRUE(refused_by(check_signed(signed_pvr(good(), other.get())), Status::Forbidden, "signature"));
}

// cBRSKI §9.2.2: the PVR's own x5bag is ignored; only the DTLS client certificate counts.
TEST_F(PvrChecks, IgnoresACertificateOfTheSignerInThePvrsOwnBag) {
    const auto other_key = test::make_key();
    const auto other = test::make_certificate(std::string("CN=other,serialNumber=") + kTestSerial,
                                              other_key.get(), pki.pledge_ca.get(), pki.pledge_ca_key.get());
    const cbor::Map bag{{cbor::Value(cose::kHeaderX5Bag), cbor::Value(to_der(other.get()))}};
    EXPECT_TRUE(
        refused_by(check_signed(signed_pvr(good(), other_key.get(), bag)), Status::Forbidden, "signature"));
}

TEST_F(PvrChecks, RefusesAnEd25519SignatureForAP256IdevidAsForbidden) {
    const auto ed = test::make_key(test::KeyKind::Ed25519);
    EXPECT_TRUE(refused_by(check_signed(signed_pvr(good(), ed.get())), Status::Forbidden, "signature"));
}

// Check 7.
TEST_F(PvrChecks, RefusesAnAssertionOtherThanProximityAsUnauthorized) {
    PvrLeaves l = good();
    l.assertion = cbor::Value(0u);
    auto refused = check(l);
    EXPECT_TRUE(refused_by(refused, Status::Unauthorized, "assertion"));
    EXPECT_TRUE(closes_session(refused.error()));
    l.assertion.reset();
    EXPECT_TRUE(refused_by(check(l), Status::Unauthorized, "assertion"));
}

// Check 8.
TEST_F(PvrChecks, RefusesARequestNamingNoRegistrarAsUnauthorized) {
    PvrLeaves l = good();
    l.proximity_cert.reset();
    EXPECT_TRUE(refused_by(check(l), Status::Unauthorized, "proximity"));
}

TEST_F(PvrChecks, RefusesTheCertificateOfAnotherRegistrarAsUnauthorized) {
    const auto other_key = test::make_key();
    const auto other = test::make_certificate("CN=registrar,O=Example Site", other_key.get(),
                                              pki.domain_ca.get(), pki.domain_ca_key.get());
    PvrLeaves l = good();
    l.proximity_cert = cbor::Value(to_der(other.get()));
    auto refused = check(l);
    EXPECT_TRUE(refused_by(refused, Status::Unauthorized, "proximity"));
    EXPECT_NE(refused.error().message.find("proximity-registrar-cert"), std::string::npos);
}

// A certificate of the same key is still another certificate: -cert compares bytes.
TEST_F(PvrChecks, RefusesAnotherCertificateForTheSameKeyAsUnauthorized) {
    const auto again = test::make_certificate("CN=registrar,O=Example Site", pki.registrar_key.get(),
                                              pki.domain_ca.get(), pki.domain_ca_key.get());
    PvrLeaves l = good();
    l.proximity_cert = cbor::Value(to_der(again.get()));
    EXPECT_TRUE(refused_by(check(l), Status::Unauthorized, "proximity"));
}

TEST_F(PvrChecks, RefusesAPubkOfAnotherKeyAsUnauthorized) {
    const auto other = test::make_key();
    PvrLeaves l = good();
    l.proximity_cert.reset();
    l.proximity_pubk = cbor::Value(public_key_to_der(other.get()).value());
    EXPECT_TRUE(refused_by(check(l), Status::Unauthorized, "proximity"));
}

// BRSKI.md D6: every field present must match, not just one.
TEST_F(PvrChecks, RefusesAMatchingCertBesideAWrongPubkSha256AsUnauthorized) {
    PvrLeaves l = good();
    l.proximity_pubk_sha256 =
        cbor::Value(sha256_of(to_der(pki.registrar.get())));  // hash of the cert, not the SPKI
    auto refused = check(l);
    EXPECT_TRUE(refused_by(refused, Status::Unauthorized, "proximity"));
    EXPECT_NE(refused.error().message.find("pubk-sha256"), std::string::npos);
}

// Check 9.
TEST_F(PvrChecks, RefusesARequestWithoutNonceAsBadRequest) {
    PvrLeaves l = good();
    l.nonce.reset();
    EXPECT_TRUE(refused_by(check(l), Status::BadRequest, "nonce"));
}

TEST_F(PvrChecks, RefusesA7ByteNonceAsBadRequestNamingTheNonce) {
    PvrLeaves l = good();
    l.nonce = cbor::Value(Bytes(7, 1));
    auto refused = check(l);
    EXPECT_TRUE(refused_by(refused, Status::BadRequest, "nonce"));
    EXPECT_NE(refused.error().message.find("7 bytes"), std::string::npos) << refused.error().message;
}

TEST_F(PvrChecks, RefusesA33ByteNonceAsBadRequest) {
    PvrLeaves l = good();
    l.nonce = cbor::Value(Bytes(33, 1));
    EXPECT_TRUE(refused_by(check(l), Status::BadRequest, "nonce"));
}

// Check 10.
TEST_F(PvrChecks, RefusesASerialNumberOtherThanTheIdevidsAsForbidden) {
    PvrLeaves l = good();
    l.serial_number = cbor::Value("SN-0043");
    auto refused = check(l);
    EXPECT_TRUE(refused_by(refused, Status::Forbidden, "serial-number"));
    EXPECT_FALSE(closes_session(refused.error()));
}

TEST_F(PvrChecks, RefusesARequestWithoutSerialNumberAsForbidden) {
    PvrLeaves l = good();
    l.serial_number.reset();
    EXPECT_TRUE(refused_by(check(l), Status::Forbidden, "serial-number"));
}

TEST_F(PvrChecks, RefusesAnIdevidWithoutSerialNumberAsForbidden) {
    const auto key = test::make_key();
    const auto unnamed =
        test::make_certificate("CN=pledge", key.get(), pki.pledge_ca.get(), pki.pledge_ca_key.get());
    auto refused =
        check_pledge_voucher_request(signed_pvr(good(), key.get()), unnamed.get(), pki.registrar.get());
    EXPECT_TRUE(refused_by(refused, Status::Forbidden, "serial-number"));
}

// The order of BRSKI.md §3.2: when two checks fail, the earlier one answers.
TEST_F(PvrChecks, ChecksTheSignatureBeforeTheNonce) {
    PvrLeaves l = good();
    l.nonce = cbor::Value(Bytes(7, 1));
    const auto other = test::make_key();
    EXPECT_TRUE(refused_by(check_signed(signed_pvr(l, other.get())), Status::Forbidden, "signature"));
}

TEST_F(PvrChecks, ChecksTheAssertionBeforeProximity) {
    PvrLeaves l = good();
    l.assertion = cbor::Value(1u);
    l.proximity_cert.reset();
    EXPECT_TRUE(refused_by(check(l), Status::Unauthorized, "assertion"));
}

TEST_F(PvrChecks, ChecksProximityBeforeTheNonce) {
    PvrLeaves l = good();
    l.nonce = cbor::Value(Bytes(7, 1));
    l.proximity_cert.reset();
    EXPECT_TRUE(refused_by(check(l), Status::Unauthorized, "proximity"));
}

TEST_F(PvrChecks, ChecksTheNonceBeforeTheSerialNumber) {
    PvrLeaves l = good();
    l.nonce.reset();
    l.serial_number = cbor::Value("SN-0043");
    EXPECT_TRUE(refused_by(check(l), Status::BadRequest, "nonce"));
}

// brski::decode leaves the nonce's length to the PVR checks when asked, and only its length.
TEST(DecodeNonceLength, UncheckedKeepsA7ByteNonceAndStillRefusesANonByteString) {
    PvrLeaves l;
    l.nonce = cbor::Value(Bytes(7, 1));
    EXPECT_EQ(decode(Kind::VoucherRequest, pvr_payload(l)).status(), Status::BadRequest);
    auto kept = decode(Kind::VoucherRequest, pvr_payload(l), NonceLength::Unchecked);
    ASSERT_TRUE(kept.ok()) << kept.error().message;
    EXPECT_EQ(kept->nonce, Bytes(7, 1));
    l.nonce = cbor::Value("0123456789");
    EXPECT_EQ(decode(Kind::VoucherRequest, pvr_payload(l), NonceLength::Unchecked).status(),
              Status::BadRequest);
}

TEST(ClosesSession, OnlyForUnauthorized) {
    EXPECT_TRUE(closes_session(make_error(Status::Unauthorized, "proximity: x")));
    for (Status s : {Status::BadRequest, Status::Forbidden, Status::NotFound, Status::Internal}) {
        EXPECT_FALSE(closes_session(make_error(s, "x"))) << status_name(s);
    }
}

// RFC 8995 §2.3.1: the App. C.2 IDevID has a PrintableString serialNumber.
TEST(IdevidSerialNumber, ReadsThePrintableStringOfTheAppendixIdevid) {
    const auto idevid = test::read_certificate_hex("brski/appC2-pledge-idevid-cert.hex");
    EXPECT_EQ(idevid_serial_number(idevid.get()), "JADA123456789");
}

TEST(IdevidSerialNumber, IsAbsentForASubjectWithoutOne) {
    const auto key = test::make_key();
    const auto cert = test::make_certificate("CN=no serial", key.get(), nullptr, key.get());
    EXPECT_EQ(idevid_serial_number(cert.get()), std::nullopt);
}

}  // namespace
}  // namespace estgw::brski
