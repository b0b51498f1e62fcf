// The MASA's decision on a registrar voucher-request (BRSKI.md §4; RFC 8995 §5.5–5.6): every check with the
// answer it gives, and the voucher it signs. Registrar, pledge and MASA come from a throw-away test PKI.
#include "brski/masa.hpp"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <algorithm>

#include "common/cose.hpp"
#include "common/keys.hpp"
#include "support/test_pki.hpp"
#include "support/voucher_requests.hpp"

namespace estgw::brski {
namespace {

using test::build_rvr;
using test::to_der;
using test::VoucherRequestParts;

const Bytes kNonce = {0x4c, 0x1b, 0x7a, 0x09, 0x33, 0x58, 0xe1, 0x02, 0xaa, 0x10, 0x07, 0x42};
const auto kNow = std::chrono::system_clock::from_time_t(1796472000);  // 2026-12-05T12:00:00Z

std::vector<X509Ptr> certificates(std::initializer_list<const X509*> list) {
    std::vector<X509Ptr> out;
    for (const X509* cert : list) {
        X509_up_ref(const_cast<X509*>(cert));
        out.emplace_back(const_cast<X509*>(cert));
    }
    return out;
}

EvpPkeyPtr shared_key(const EVP_PKEY* key) {
    EVP_PKEY_up_ref(const_cast<EVP_PKEY*>(key));
    return EvpPkeyPtr(const_cast<EVP_PKEY*>(key));
}

class MasaTest : public ::testing::Test {
  protected:
    MasaTest() {
        test::CertOptions registrar_options;
        registrar_options.extended_key_usage = "cmcRA,serverAuth,clientAuth";
        registrar_ = test::make_certificate("CN=registrar,O=domain", registrar_key_.get(), domain_ca_.get(),
                                            domain_key_.get(), registrar_options);
        test::CertOptions idevid_options;
        idevid_options.extended_key_usage = "clientAuth";
        idevid_ = test::make_certificate("CN=pledge,serialNumber=JADA123456789", pledge_key_.get(),
                                         mfg_ca_.get(), mfg_key_.get(), idevid_options);
        signing_ =
            test::make_certificate("CN=MASA signing", signing_key_.get(), mfg_ca_.get(), mfg_key_.get());
        config_ = make_config();
        parts_ = test::voucher_request_parts(registrar_.get(), registrar_key_.get(), domain_ca_.get(),
                                             idevid_.get(), pledge_key_.get(), mfg_ca_.get(), kNonce);
    }

    MasaConfig make_config(std::optional<std::set<std::string>> serials = std::nullopt) {
        auto config = MasaConfig::create(certificates({mfg_ca_.get()}), certificates({signing_.get()}),
                                         shared_key(signing_key_.get()), std::move(serials));
        EXPECT_TRUE(config.ok()) << config.error().message;
        return std::move(*config);
    }

    VoucherDecision decide(const VoucherRequestParts& parts) {
        return decide_voucher_request(build_rvr(parts), config_, kNow);
    }

    // The refusal's status, and its reason containing `reason`.
    void expect_refused(const VoucherRequestParts& parts, Status status, const std::string& reason) {
        const VoucherDecision decision = decide(parts);
        ASSERT_FALSE(decision.voucher.ok()) << "a voucher was issued; expected: " << reason;
        EXPECT_EQ(decision.voucher.status(), status) << decision.voucher.error().message;
        EXPECT_NE(decision.voucher.error().message.find(reason), std::string::npos)
            << decision.voucher.error().message;
    }

    // The voucher's payload after checking its signature with the signing certificate.
    Voucher voucher_of(const VoucherDecision& decision) {
        EXPECT_TRUE(decision.voucher.ok()) << decision.voucher.error().message;
        if (!decision.voucher.ok()) return {};
        auto message = cose::decode_sign1(decision.voucher->voucher);
        EXPECT_TRUE(message.ok());
        if (!message.ok()) return {};
        EXPECT_TRUE(cose::verify_sign1(*message, X509_get0_pubkey(signing_.get())).ok());
        auto payload = decode(Kind::Voucher, message->payload);
        EXPECT_TRUE(payload.ok()) << payload.error().message;
        return payload.ok() ? std::move(*payload) : Voucher{};
    }

    EvpPkeyPtr domain_key_ = test::make_key();
    X509Ptr domain_ca_ = test::make_self_signed_ca("CN=domain CA,O=domain", domain_key_.get());
    EvpPkeyPtr registrar_key_ = test::make_key();
    X509Ptr registrar_;
    EvpPkeyPtr mfg_key_ = test::make_key();
    X509Ptr mfg_ca_ = test::make_self_signed_ca("CN=manufacturer CA,O=vendor", mfg_key_.get());
    EvpPkeyPtr pledge_key_ = test::make_key();
    X509Ptr idevid_;
    EvpPkeyPtr signing_key_ = test::make_key();
    X509Ptr signing_;
    MasaConfig config_;
    VoucherRequestParts parts_;
};

// ---- the voucher (BRSKI.md §4 steps 7–8) ----

TEST_F(MasaTest, AConsistentRequestGetsAProximityVoucherForTheNonceAndSerial) {
    const VoucherDecision decision = decide(parts_);
    const Voucher voucher = voucher_of(decision);
    EXPECT_EQ(voucher.assertion, Assertion::Proximity);
    EXPECT_EQ(voucher.nonce, kNonce);
    EXPECT_EQ(voucher.serial_number, "JADA123456789");
    EXPECT_EQ(voucher.created_on, "2026-12-05T12:00:00Z");
    EXPECT_EQ(voucher.domain_cert_revocation_checks, false);
    EXPECT_FALSE(voucher.expires_on);
    EXPECT_FALSE(voucher.idevid_issuer);  // 8366bis §6.2: only when serial numbers are not unique
    EXPECT_EQ(decision.serial_number, "JADA123456789");
}

TEST_F(MasaTest, PinsTheLowestCaOfTheRegistrarChainInTheBag) {
    // RFC 8995 §5.5.2 / cBRSKI §8.2: for a nonced voucher, the registrar's issuing CA.
    EXPECT_EQ(voucher_of(decide(parts_)).pinned_domain_cert, to_der(domain_ca_.get()));
}

TEST_F(MasaTest, PinsTheRegistrarItselfWhenTheBagHoldsNoIssuerOfIt) {
    parts_.bag = {to_der(registrar_.get()), to_der(idevid_.get()), to_der(mfg_ca_.get())};
    EXPECT_EQ(voucher_of(decide(parts_)).pinned_domain_cert, to_der(registrar_.get()));
}

TEST_F(MasaTest, TheVoucherCarriesTheSigningCertificateAsABareX5bagAndNoKid) {
    // cBRSKI §9.2.3: x5bag MUST; RFC 9360 §2: one certificate is a bare bstr.
    const VoucherDecision decision = decide(parts_);
    ASSERT_TRUE(decision.voucher.ok()) << decision.voucher.error().message;
    auto message = cose::decode_sign1(decision.voucher->voucher);
    ASSERT_TRUE(message.ok());
    EXPECT_EQ(message->alg(), static_cast<std::int64_t>(cose::Algorithm::ES256));
    ASSERT_EQ(message->unprotected.size(), 1u);
    EXPECT_EQ(message->unprotected[0].first, cbor::Value(cose::kHeaderX5Bag));
    EXPECT_EQ(message->unprotected[0].second, cbor::Value(to_der(signing_.get())));
}

TEST_F(MasaTest, AnEd25519SigningKeySignsWithEdDsa) {
    // RFC 9053 §2.2, cBRSKI §9.2: EdDSA (-8) is emitted for Ed25519 keys.
    const EvpPkeyPtr ed_key = test::make_key(test::KeyKind::Ed25519);
    const X509Ptr ed_cert =
        test::make_certificate("CN=MASA signing Ed25519", ed_key.get(), mfg_ca_.get(), mfg_key_.get());
    auto config = MasaConfig::create(certificates({mfg_ca_.get()}), certificates({ed_cert.get()}),
                                     shared_key(ed_key.get()));
    ASSERT_TRUE(config.ok()) << config.error().message;
    const VoucherDecision decision = decide_voucher_request(build_rvr(parts_), *config, kNow);
    ASSERT_TRUE(decision.voucher.ok()) << decision.voucher.error().message;
    auto message = cose::decode_sign1(decision.voucher->voucher);
    ASSERT_TRUE(message.ok());
    EXPECT_EQ(message->alg(), static_cast<std::int64_t>(cose::Algorithm::EdDSA));
    EXPECT_TRUE(cose::verify_sign1(*message, ed_key.get()).ok());
}

TEST_F(MasaTest, TheSigningChainFollowsIssuersFoundInTheSigningFileInOrder) {
    const EvpPkeyPtr other_key = test::make_key();
    const X509Ptr unrelated = test::make_self_signed_ca("CN=unrelated", other_key.get());
    auto config = MasaConfig::create(certificates({mfg_ca_.get()}),
                                     certificates({signing_.get(), unrelated.get(), mfg_ca_.get()}),
                                     shared_key(signing_key_.get()));
    ASSERT_TRUE(config.ok()) << config.error().message;
    EXPECT_EQ(config->signing_chain, (std::vector<Bytes>{to_der(signing_.get()), to_der(mfg_ca_.get())}));
}

TEST_F(MasaTest, TheIssuedRecordNamesTheVoucherForTheAudit) {
    const VoucherDecision decision = decide(parts_);
    ASSERT_TRUE(decision.voucher.ok()) << decision.voucher.error().message;
    const IssuedVoucher& issued = *decision.voucher;
    EXPECT_EQ(issued.idevid_issuer, "O=vendor,CN=manufacturer CA");
    EXPECT_EQ(issued.registrar_subject, "O=domain,CN=registrar");
    EXPECT_EQ(issued.nonce, kNonce);
    EXPECT_EQ(
        audit_line(issued),
        "{\"time\":\"2026-12-05T12:00:00Z\",\"serial\":\"JADA123456789\",\"idevid_issuer\":\"O=vendor,CN="
        "manufacturer CA\",\"registrar_subject\":\"O=domain,CN=registrar\",\"nonce\":\"" +
            to_hex(kNonce) + "\",\"pinned_domain_cert_sha256\":\"" +
            to_hex(issued.pinned_domain_cert_sha256) + "\",\"assertion\":\"proximity\"}");
    EXPECT_EQ(issued.pinned_domain_cert_sha256.size(), 32u);
}

// ---- step 2: the bag, the registrar signer (RFC 8995 §5.5.3–5.5.4) ----

TEST_F(MasaTest, ABodyThatIsNotCoseIsBadRequest) {
    const VoucherDecision decision = decide_voucher_request(as_bytes("voucher please"), config_, kNow);
    EXPECT_EQ(decision.voucher.status(), Status::BadRequest);
    EXPECT_EQ(decision.serial_number, "");
}

TEST_F(MasaTest, NoX5bagIsBadRequest) {
    parts_.bag.clear();
    expect_refused(parts_, Status::BadRequest, "no x5bag");
}

TEST_F(MasaTest, AnRvrSignedByAKeyOutsideTheBagIsForbidden) {
    const EvpPkeyPtr stranger = test::make_key();
    parts_.rvr_key = stranger.get();
    expect_refused(parts_, Status::Forbidden, "does not verify with any certificate of its x5bag");
}

TEST_F(MasaTest, AnRvrWithABrokenSignatureIsForbidden) {
    Bytes rvr = build_rvr(parts_);
    rvr[rvr.size() - 5] ^= 0x01;  // inside the 64-byte signature, the last item
    const VoucherDecision decision = decide_voucher_request(rvr, config_, kNow);
    EXPECT_EQ(decision.voucher.status(), Status::Forbidden);
}

TEST_F(MasaTest, ASignerWithoutCmcRaIsForbidden) {
    test::CertOptions options;
    options.extended_key_usage = "serverAuth,clientAuth";
    const X509Ptr plain = test::make_certificate("CN=not an RA", registrar_key_.get(), domain_ca_.get(),
                                                 domain_key_.get(), options);
    parts_.bag[0] = to_der(plain.get());
    parts_.pvr.proximity_registrar_cert = to_der(plain.get());
    expect_refused(parts_, Status::Forbidden, "lacks the id-kp-cmcRA");
}

TEST_F(MasaTest, ARequestSignedByThePledgeItselfIsForbidden) {
    parts_.rvr_key = pledge_key_.get();
    expect_refused(parts_, Status::Forbidden, "lacks the id-kp-cmcRA");
}

TEST_F(MasaTest, APledgeOfAnotherManufacturerIsNotFound) {
    const EvpPkeyPtr other_key = test::make_key();
    const X509Ptr other_ca = test::make_self_signed_ca("CN=other manufacturer", other_key.get());
    const X509Ptr other_idevid = test::make_certificate("CN=pledge,serialNumber=JADA123456789",
                                                        pledge_key_.get(), other_ca.get(), other_key.get());
    parts_.bag = {to_der(registrar_.get()), to_der(domain_ca_.get()), to_der(other_idevid.get()),
                  to_der(other_ca.get())};
    expect_refused(parts_, Status::NotFound, "no pledge certificate in the x5bag chains to a --pledge-ca");
}

TEST_F(MasaTest, ThePledgeCaNeedNotBeInTheBag) {
    parts_.bag = {to_der(registrar_.get()), to_der(domain_ca_.get()), to_der(idevid_.get())};
    EXPECT_TRUE(decide(parts_).voucher.ok());
}

TEST_F(MasaTest, TheBagMayBeInAnyOrder) {
    std::reverse(parts_.bag.begin(), parts_.bag.end());
    EXPECT_EQ(voucher_of(decide(parts_)).pinned_domain_cert, to_der(domain_ca_.get()));
}

// ---- step 3: nonceless (BRSKI.md D13) ----

TEST_F(MasaTest, ANoncelessRequestIsForbidden) {
    parts_.rvr.nonce.reset();
    parts_.pvr.nonce.reset();
    expect_refused(parts_, Status::Forbidden, "no nonce");
}

// ---- step 4: the prior-signed-voucher-request (RFC 8995 §5.5.5) ----

TEST_F(MasaTest, ARequestWithoutPriorSignedVoucherRequestIsForbidden) {
    // build_rvr signs a PVR into the leaf when it is unset, so this RVR is built by hand.
    const Bytes payload = *encode(Kind::VoucherRequest, parts_.rvr);
    const cbor::Map unprotected{{cbor::Value(cose::kHeaderX5Bag), cose::certificate_bag(parts_.bag)}};
    const Bytes rvr = *cose::sign1(payload, unprotected, registrar_key_.get());
    const VoucherDecision decision = decide_voucher_request(rvr, config_, kNow);
    EXPECT_EQ(decision.voucher.status(), Status::Forbidden);
    EXPECT_NE(decision.voucher.error().message.find("no prior-signed-voucher-request"), std::string::npos)
        << decision.voucher.error().message;
}

TEST_F(MasaTest, AMalformedPriorSignedVoucherRequestIsBadRequest) {
    parts_.rvr.prior_signed_voucher_request = to_bytes("not COSE");
    expect_refused(parts_, Status::BadRequest, "prior-signed-voucher-request");
}

TEST_F(MasaTest, APvrSignedByAnotherKeyIsForbidden) {
    const EvpPkeyPtr other = test::make_key();
    parts_.pvr_key = other.get();
    expect_refused(parts_, Status::Forbidden, "prior-signed-voucher-request signature does not verify");
}

TEST_F(MasaTest, APvrAssertingLoggedIsForbidden) {
    parts_.pvr.assertion = Assertion::Logged;
    expect_refused(parts_, Status::Forbidden, "asserts logged, not proximity");
}

TEST_F(MasaTest, APvrNamingNoRegistrarIsForbidden) {
    parts_.pvr.proximity_registrar_cert.reset();
    expect_refused(parts_, Status::Forbidden, "names no registrar");
}

TEST_F(MasaTest, AProximityCertOfAnotherRegistrarIsForbidden) {
    const X509Ptr other = test::make_certificate("CN=other registrar", registrar_key_.get(), domain_ca_.get(),
                                                 domain_key_.get());
    parts_.pvr.proximity_registrar_cert = to_der(other.get());
    expect_refused(parts_, Status::Forbidden, "proximity-registrar-cert does not match");
}

TEST_F(MasaTest, AProximityPubkOfTheSignerIsAccepted) {
    parts_.pvr.proximity_registrar_cert.reset();
    parts_.pvr.proximity_registrar_pubk = test::spki_of(registrar_.get());
    EXPECT_TRUE(decide(parts_).voucher.ok());
}

TEST_F(MasaTest, AProximityPubkOfAnotherKeyIsForbidden) {
    const EvpPkeyPtr other = test::make_key();
    parts_.pvr.proximity_registrar_pubk = *public_key_to_der(other.get());
    expect_refused(parts_, Status::Forbidden, "proximity-registrar-pubk does not match");
}

TEST_F(MasaTest, AProximityPubkSha256IsTheHashOfTheSignersSpki) {
    // BRSKI.md D6: SHA-256 over the DER SubjectPublicKeyInfo.
    const Bytes spki = test::spki_of(registrar_.get());
    Bytes digest(32);
    SHA256(spki.data(), spki.size(), digest.data());
    parts_.pvr.proximity_registrar_cert.reset();
    parts_.pvr.proximity_registrar_pubk_sha256 = digest;
    EXPECT_TRUE(decide(parts_).voucher.ok());
    digest[0] ^= 0xff;
    parts_.pvr.proximity_registrar_pubk_sha256 = digest;
    expect_refused(parts_, Status::Forbidden, "proximity-registrar-pubk-sha256 does not match");
}

TEST_F(MasaTest, ARvrSerialOtherThanThePvrsIsForbidden) {
    parts_.rvr.serial_number = "JADA000000000";
    expect_refused(parts_, Status::Forbidden, "serial-number mismatch");
}

TEST_F(MasaTest, ASerialOtherThanTheIdevidsIsForbiddenEvenWhenRvrAndPvrAgree) {
    // RFC 8995 §5.5: the serial comes from the certificate, never from what the pledge claims.
    parts_.rvr.serial_number = "JADA000000000";
    parts_.pvr.serial_number = "JADA000000000";
    expect_refused(parts_, Status::Forbidden, "IDevID serialNumber 'JADA123456789'");
}

TEST_F(MasaTest, TheRefusalStillReportsTheSerialForTheLog) {
    parts_.rvr.serial_number = "JADA000000000";
    EXPECT_EQ(decide(parts_).serial_number, "JADA000000000");
}

TEST_F(MasaTest, AnIdevidIssuerOtherThanTheAkiIsForbidden) {
    (*parts_.rvr.idevid_issuer)[10] ^= 0x01;
    expect_refused(parts_, Status::Forbidden, "idevid-issuer");
}

TEST_F(MasaTest, IdevidIssuerIsAcceptedAsTlvSequenceOrBareKeyIdentifier) {
    // BRSKI.md D9: older peers send the SEQUENCE or the keyIdentifier alone.
    const Bytes tlv = test::authority_key_id_tlv(idevid_.get());
    for (const Bytes& form : {tlv, Bytes(tlv.begin() + 2, tlv.end()), Bytes(tlv.begin() + 6, tlv.end())}) {
        parts_.rvr.idevid_issuer = form;
        EXPECT_TRUE(decide(parts_).voucher.ok()) << to_hex(form);
    }
}

TEST_F(MasaTest, NoIdevidIssuerIsAccepted) {
    parts_.rvr.idevid_issuer.reset();
    EXPECT_TRUE(decide(parts_).voucher.ok());
}

// ---- step 5: the nonce (RFC 8995 §5.5.6) ----

TEST_F(MasaTest, AnRvrNonceOtherThanThePvrsIsForbidden) {
    (*parts_.rvr.nonce)[0] ^= 0x01;
    expect_refused(parts_, Status::Forbidden, "nonce mismatch");
}

// ---- step 6: policy ----

TEST_F(MasaTest, ASerialOutsideTheAllowlistIsNotFound) {
    config_ = make_config(std::set<std::string>{"JADA000000000"});
    expect_refused(parts_, Status::NotFound, "not in the --serials list");
}

TEST_F(MasaTest, ASerialInTheAllowlistGetsItsVoucher) {
    config_ = make_config(std::set<std::string>{"JADA000000000", "JADA123456789"});
    EXPECT_TRUE(decide(parts_).voucher.ok());
}

// ---- configuration ----

TEST_F(MasaTest, ConfigurationRefusesASigningKeyOfAnotherCertificate) {
    const EvpPkeyPtr other = test::make_key();
    auto config = MasaConfig::create(certificates({mfg_ca_.get()}), certificates({signing_.get()}),
                                     shared_key(other.get()));
    EXPECT_EQ(config.status(), Status::BadRequest);
}

TEST_F(MasaTest, ConfigurationRefusesAPledgeCaThatIsNoCa) {
    auto config = MasaConfig::create(certificates({idevid_.get()}), certificates({signing_.get()}),
                                     shared_key(signing_key_.get()));
    ASSERT_FALSE(config.ok());
    EXPECT_NE(config.error().message.find("not a CA certificate"), std::string::npos);
}

// ---- media types (BRSKI.md §4 step 1, D2) ----

TEST(MasaMediaTypes, TheCurrentNameInAndOutIsAnsweredWithIt) {
    EXPECT_EQ(*negotiate_voucher_media_type("application/voucher+cose", "application/voucher+cose"),
              "application/voucher+cose");
}

TEST(MasaMediaTypes, TheOldNameIsAnsweredWithTheOldName) {
    EXPECT_EQ(*negotiate_voucher_media_type("application/voucher-cose+cbor", "application/voucher-cose+cbor"),
              "application/voucher-cose+cbor");
}

TEST(MasaMediaTypes, CaseParametersAndWildcardsAreUnderstood) {
    EXPECT_EQ(*negotiate_voucher_media_type("Application/Voucher+COSE; charset=x", "*/*"),
              "application/voucher+cose");
    EXPECT_EQ(*negotiate_voucher_media_type("application/voucher+cose", "text/plain, application/*;q=0.5"),
              "application/voucher+cose");
    EXPECT_EQ(*negotiate_voucher_media_type("application/voucher+cose", "application/voucher-cose+cbor"),
              "application/voucher-cose+cbor");
}

TEST(MasaMediaTypes, AnotherContentTypeIsUnsupported) {
    for (const char* type : {"application/cbor", "application/cose", "", "application/voucher+cms"}) {
        EXPECT_EQ(negotiate_voucher_media_type(type, "application/voucher+cose").status(),
                  Status::UnsupportedFormat)
            << type;
    }
}

TEST(MasaMediaTypes, AMissingAcceptIsNotAcceptable) {
    EXPECT_EQ(negotiate_voucher_media_type("application/voucher+cose", std::nullopt).status(),
              Status::NotAcceptable);
}

TEST(MasaMediaTypes, AnAcceptWithoutTheVoucherTypeIsNotAcceptable) {
    for (const char* accept : {"application/cbor", "text/plain", "application/voucher+cose;q=0", ""}) {
        EXPECT_EQ(negotiate_voucher_media_type("application/voucher+cose", std::string(accept)).status(),
                  Status::NotAcceptable)
            << accept;
    }
}

TEST(MasaHttpStatus, EachRefusalHasItsCode) {
    EXPECT_EQ(masa_http_status(Status::BadRequest), 400);
    EXPECT_EQ(masa_http_status(Status::Forbidden), 403);
    EXPECT_EQ(masa_http_status(Status::NotFound), 404);
    EXPECT_EQ(masa_http_status(Status::NotAcceptable), 406);
    EXPECT_EQ(masa_http_status(Status::UnsupportedFormat), 415);
    EXPECT_EQ(masa_http_status(Status::Internal), 500);
}

// ---- the --serials file ----

TEST(MasaSerialList, OneSerialALineWithCommentsAndBlanks) {
    auto serials =
        parse_serial_list("# lab pledges\nJADA123456789\n\n  ESTGW-0A1B2C3D  # the demo pledge\r\n");
    ASSERT_TRUE(serials.ok()) << serials.error().message;
    EXPECT_EQ(*serials, (std::set<std::string>{"JADA123456789", "ESTGW-0A1B2C3D"}));
}

TEST(MasaSerialList, ASerialWithInnerSpaceNamesItsLine) {
    auto serials = parse_serial_list("A1\nA 2\n");
    ASSERT_FALSE(serials.ok());
    EXPECT_NE(serials.error().message.find("line 2"), std::string::npos) << serials.error().message;
}

TEST(MasaTime, Rfc3339UtcWithSeconds) {
    EXPECT_EQ(rfc3339_utc(kNow), "2026-12-05T12:00:00Z");
}

}  // namespace
}  // namespace estgw::brski
