// The registrar voucher-request (brski/rvr, BRSKI.md §3.3): built for an accepted PVR, taken by the MASA
// side of this project (brski::decide_voucher_request) and shaped like cBRSKI App. C.4.
#include "brski/rvr.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "brski/masa.hpp"
#include "brski/registrar_test_pki.hpp"
#include "common/cbor.hpp"
#include "common/cose.hpp"
#include "support/test_data.hpp"
#include "support/test_pki.hpp"

namespace estgw::brski {
namespace {

using test::to_der;

// 2026-12-05T11:34:35Z
const std::chrono::system_clock::time_point kNow{std::chrono::seconds(1796470475)};

class Rvr : public ::testing::Test {
  protected:
    void SetUp() override {
        PvrLeaves l;
        l.proximity_cert = cbor::Value(to_der(pki.registrar.get()));
        pvr = signed_pvr(l, pki.idevid_key.get());
        auto checked = check_pledge_voucher_request(pvr, pki.idevid.get(), pki.registrar.get());
        ASSERT_TRUE(checked.ok()) << checked.error().message;
        accepted = std::move(*checked);
    }

    RvrInput input() const {
        RvrInput in;
        in.pvr = pvr;
        in.accepted = &accepted;
        in.idevid = pki.idevid.get();
        in.idevid_path = {to_der(pki.pledge_ca.get())};
        in.registrar_chain = {to_der(pki.registrar.get()), to_der(pki.domain_ca.get())};
        in.registrar_key = pki.registrar_key.get();
        in.now = kNow;
        return in;
    }

    MasaConfig masa() const {
        std::vector<X509Ptr> pledge_cas;
        pledge_cas.emplace_back(X509_dup(pki.pledge_ca.get()));
        std::vector<X509Ptr> signing;
        signing.emplace_back(X509_dup(pki.masa.get()));
        EVP_PKEY_up_ref(pki.masa_key.get());
        return MasaConfig::create(std::move(pledge_cas), std::move(signing), EvpPkeyPtr(pki.masa_key.get()))
            .value();
    }

    RegistrarTestPki pki = RegistrarTestPki::make();
    Bytes pvr;
    AcceptedPvr accepted;
};

const cbor::Map& inner_map(const cbor::Value& payload) {
    return payload.as_map().front().second.as_map();
}

TEST_F(Rvr, IsAcceptedByTheMasaWhichVouchesForTheDomainCa) {
    auto rvr = build_registrar_voucher_request(input());
    ASSERT_TRUE(rvr.ok()) << rvr.error().message;
    VoucherDecision decision = decide_voucher_request(*rvr, masa(), kNow);
    ASSERT_TRUE(decision.voucher.ok()) << decision.voucher.error().message;
    EXPECT_EQ(decision.voucher->serial_number, kTestSerial);
    EXPECT_EQ(decision.voucher->nonce, accepted.nonce);
    EXPECT_EQ(decision.voucher->pinned_domain_cert_sha256, sha256_of(to_der(pki.domain_ca.get())));
}

TEST_F(Rvr, SignedWithEd25519IsAcceptedByTheMasaToo) {
    auto ed_key = test::make_key(test::KeyKind::Ed25519);
    test::CertOptions ra;
    ra.extended_key_usage = "cmcRA";
    auto registrar = test::make_certificate("CN=registrar ed", ed_key.get(), pki.domain_ca.get(),
                                            pki.domain_ca_key.get(), ra);
    PvrLeaves l;
    l.proximity_pubk = cbor::Value(spki_der(registrar.get()));
    const Bytes ed_pvr = signed_pvr(l, pki.idevid_key.get());
    auto ed_accepted = check_pledge_voucher_request(ed_pvr, pki.idevid.get(), registrar.get());
    ASSERT_TRUE(ed_accepted.ok()) << ed_accepted.error().message;
    RvrInput in = input();
    in.pvr = ed_pvr;
    in.accepted = &*ed_accepted;
    in.registrar_chain = {to_der(registrar.get()), to_der(pki.domain_ca.get())};
    in.registrar_key = ed_key.get();
    auto rvr = build_registrar_voucher_request(in);
    ASSERT_TRUE(rvr.ok()) << rvr.error().message;
    EXPECT_EQ(cose::decode_sign1(*rvr)->alg(), static_cast<std::int64_t>(cose::Algorithm::EdDSA));
    VoucherDecision decision = decide_voucher_request(*rvr, masa(), kNow);
    EXPECT_TRUE(decision.voucher.ok()) << decision.voucher.error().message;
}

// cBRSKI App. C.4: the same leaves, keys and CBOR types; the values are ours.
TEST_F(Rvr, PayloadHasTheLeavesAndTypesOfTheAppendixRvr) {
    const cbor::Value appendix = cbor::decode(test::read_hex("brski/appC4-rvr-payload.hex")).value();
    auto rvr = build_registrar_voucher_request(input());
    ASSERT_TRUE(rvr.ok()) << rvr.error().message;
    const auto message = cose::decode_sign1(*rvr).value();
    const cbor::Value ours = cbor::decode(message.payload).value();
    ASSERT_EQ(ours.as_map().size(), 1u);
    EXPECT_EQ(ours.as_map().front().first, cbor::Value(2501u));
    const cbor::Map& expected = inner_map(appendix);
    const cbor::Map& got = inner_map(ours);
    ASSERT_EQ(got.size(), expected.size()) << cbor::diagnostic(ours);
    for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].first, expected[i].first) << i;  // same keys in the same (ascending) order
        EXPECT_EQ(got[i].second.v.index(), expected[i].second.v.index())
            << "type of key " << cbor::diagnostic(got[i].first);
    }
    // Preferred serialization: what we send re-encodes to itself.
    EXPECT_EQ(cbor::encode(ours), message.payload);
}

TEST_F(Rvr, PayloadCarriesThePvrBytesTheNonceTheCertificateSerialAndTheTime) {
    auto rvr = build_registrar_voucher_request(input());
    ASSERT_TRUE(rvr.ok()) << rvr.error().message;
    const Voucher v = decode(Kind::VoucherRequest, cose::decode_sign1(*rvr)->payload).value();
    EXPECT_EQ(v.assertion, Assertion::Proximity);
    EXPECT_EQ(v.created_on, "2026-12-05T11:34:35Z");
    EXPECT_EQ(v.nonce, accepted.nonce);
    EXPECT_EQ(v.serial_number, kTestSerial);
    EXPECT_EQ(v.prior_signed_voucher_request, pvr);
    EXPECT_FALSE(v.proximity_registrar_cert || v.proximity_registrar_pubk ||
                 v.proximity_registrar_pubk_sha256);
    EXPECT_FALSE(v.pinned_domain_cert || v.expires_on || v.last_renewal_date);
}

TEST_F(Rvr, IdevidIssuerIsTheWholeAuthorityKeyIdentifierOctetString) {
    auto rvr = build_registrar_voucher_request(input());
    ASSERT_TRUE(rvr.ok()) << rvr.error().message;
    const Voucher v = decode(Kind::VoucherRequest, cose::decode_sign1(*rvr)->payload).value();
    ASSERT_TRUE(v.idevid_issuer);
    ASSERT_EQ(v.idevid_issuer->size(), 26u);
    EXPECT_EQ(Bytes(v.idevid_issuer->begin(), v.idevid_issuer->begin() + 6), test::hex("041830168014"));
}

// README of the vectors, trap 4: the App. C.2 IDevID's AKI as App. C.4 sends it.
TEST(IdevidIssuer, OfTheAppendixIdevidIsTheAppendixRvrValue) {
    const auto idevid = test::read_certificate_hex("brski/appC2-pledge-idevid-cert.hex");
    EXPECT_EQ(idevid_issuer_of(idevid.get()).value(),
              test::hex("041830168014cb8d98ca74c51b58dde7acef869a9443a8d666a6"));
}

// BRSKI.md D9: without an AKI, the same structure around SHA-1 of the pledge's own key.
TEST(IdevidIssuer, WithoutAuthorityKeyIdentifierIsSha1OfThePledgeKey) {
    const auto key = test::make_key();
    auto cert = test::make_certificate("CN=pledge,serialNumber=1", key.get(), nullptr, key.get());
    X509_EXTENSION_free(
        X509_delete_ext(cert.get(), X509_get_ext_by_NID(cert.get(), NID_authority_key_identifier, -1)));
    ASSERT_LT(X509_get_ext_by_NID(cert.get(), NID_authority_key_identifier, -1), 0);
    unsigned char digest[20];
    unsigned int length = 0;
    ASSERT_EQ(X509_pubkey_digest(cert.get(), EVP_sha1(), digest, &length), 1);
    EXPECT_EQ(idevid_issuer_of(cert.get()).value(),
              test::joined({test::hex("041830168014"), Bytes(digest, digest + length)}));
}

TEST_F(Rvr, IsSignedByTheRegistrarWithAlgInTheProtectedMapAndNoKid) {
    auto rvr = build_registrar_voucher_request(input());
    ASSERT_TRUE(rvr.ok()) << rvr.error().message;
    EXPECT_EQ(rvr->front(), 0xd2);
    const auto message = cose::decode_sign1(*rvr).value();
    EXPECT_EQ(message.protected_bytes, test::hex("a10126"));
    EXPECT_TRUE(cose::verify_sign1(message, pki.registrar_key.get()).ok());
    EXPECT_EQ(message.unprotected.size(), 1u);
    EXPECT_EQ(message.unprotected.front().first, cbor::Value(32u));
}

// cBRSKI §9.2.1: our chain, then the IDevID and its path.
TEST_F(Rvr, BagHoldsOurChainThenTheIdevidAndItsPath) {
    auto rvr = build_registrar_voucher_request(input());
    ASSERT_TRUE(rvr.ok()) << rvr.error().message;
    EXPECT_EQ(cose::decode_sign1(*rvr)->certificates(),
              (std::vector<Bytes>{to_der(pki.registrar.get()), to_der(pki.domain_ca.get()),
                                  to_der(pki.idevid.get()), to_der(pki.pledge_ca.get())}));
}

TEST_F(Rvr, RefusesAKeyThatIsNotTheRegistrarCertificates) {
    const auto other = test::make_key();
    RvrInput in = input();
    in.registrar_key = other.get();
    EXPECT_EQ(build_registrar_voucher_request(in).status(), Status::BadRequest);
}

TEST_F(Rvr, RefusesAnEmptyRegistrarChain) {
    RvrInput in = input();
    in.registrar_chain.clear();
    EXPECT_EQ(build_registrar_voucher_request(in).status(), Status::BadRequest);
}

TEST_F(Rvr, RefusesAMissingAcceptedPvr) {
    RvrInput in = input();
    in.accepted = nullptr;
    EXPECT_FALSE(build_registrar_voucher_request(in).ok());
}

// An empty path (an IDevID issued by the trust anchor itself, which the pledge did not send) still gives
// the MASA the IDevID, which it chains to the manufacturer CA it holds.
TEST_F(Rvr, WithoutAnIdevidPathTheBagStillCarriesTheIdevid) {
    RvrInput in = input();
    in.idevid_path.clear();
    auto rvr = build_registrar_voucher_request(in);
    ASSERT_TRUE(rvr.ok()) << rvr.error().message;
    EXPECT_EQ(cose::decode_sign1(*rvr)->certificates().back(), to_der(pki.idevid.get()));
    EXPECT_TRUE(decide_voucher_request(*rvr, masa(), kNow).voucher.ok());
}

}  // namespace
}  // namespace estgw::brski
