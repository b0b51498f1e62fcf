// The pledge's voucher checks (brski/pledge_voucher_check): the cBRSKI Appendix C voucher, then vouchers
// signed here, each forged in one way and refused with a message naming the check (BRSKI.md §5.3–5.4).
#include "brski/pledge_voucher_check.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <functional>

#include "common/cose.hpp"
#include "common/keys.hpp"
#include "common/x509.hpp"
#include "support/test_data.hpp"
#include "support/test_pki.hpp"

namespace estgw::brski {
namespace {

using test::to_der;

std::optional<Bytes> aki_tlv(const X509* cert) {
    const int index = X509_get_ext_by_NID(cert, NID_authority_key_identifier, -1);
    if (index < 0) return std::nullopt;
    return i2d_bytes(X509_EXTENSION_get_data(X509_get_ext(cert, index)), i2d_ASN1_OCTET_STRING).value();
}

Bytes spki(const X509* cert) {
    return public_key_to_der(X509_get0_pubkey(cert)).value();
}

Bytes sha256(const Bytes& data) {
    Bytes digest(32);
    unsigned int length = 0;
    EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr);
    return digest;
}

test::CertOptions ca_options() {
    test::CertOptions o;
    o.ca = true;
    return o;
}

// cBRSKI Appendix C: the C.5 voucher, signed by the MASA CA, pins the domain CA that issued the registrar
// certificate of the C.4 x5bag (README of tests/data/brski, trap 1); its nonce is not the C.3 PVR's (trap 2).
class AppendixCVoucher : public ::testing::Test {
  protected:
    PledgeExpectations expected() const {
        PledgeExpectations e;
        e.nonce = test::hex("57eed786ad404907");
        e.serial_number = "JADA123456789";
        auto idevid = test::read_certificate_hex("brski/appC2-pledge-idevid-cert.hex");
        e.idevid_issuer = aki_tlv(idevid.get());
        e.masa_anchors = {test::read_hex("brski/appC2-masa-ca-cert.hex")};
        e.server_chain = {test::read_hex("brski/derived/rvr-x5bag-0-registrar-cert.hex")};
        return e;
    }
    Bytes voucher = test::read_hex("brski/appC5-voucher.hex");
};

TEST_F(AppendixCVoucher, IsAcceptedForItsNonceSerialAndRegistrar) {
    auto accepted = check_voucher(voucher, kVoucherCoseFormat, expected());
    ASSERT_TRUE(accepted.ok()) << accepted.error().message;
    EXPECT_EQ(accepted->pinned_domain_cert, test::read_hex("brski/derived/rvr-x5bag-1-domain-ca-cert.hex"));
    EXPECT_EQ(accepted->voucher.assertion, Assertion::Proximity);
    EXPECT_NE(accepted->pin.find("pinned-domain-cert"), std::string::npos);
}

// The nonce of the C.3 PVR: a pledge fed C.3 and C.5 must refuse the voucher.
TEST_F(AppendixCVoucher, IsRefusedForTheNonceOfTheAppendixVoucherRequest) {
    PledgeExpectations e = expected();
    e.nonce = test::hex("23bfbbc9c2bcf213");
    auto refused = check_voucher(voucher, kVoucherCoseFormat, e);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().message.rfind("nonce: ", 0), 0u) << refused.error().message;
}

// Both generations of the Appendix C certificates share their keys and names (trap 1): the C.2 registrar
// certificate verifies under the pinned domain CA of the other generation too.
TEST_F(AppendixCVoucher, ThePinHoldsForTheOtherGenerationOfTheRegistrarCertificate) {
    PledgeExpectations e = expected();
    e.server_chain = {test::read_hex("brski/appC2-registrar-cert.hex")};
    auto accepted = check_voucher(voucher, kVoucherCoseFormat, e);
    EXPECT_TRUE(accepted.ok()) << accepted.error().message;
}

// A manufacturer CA issuing IDevIDs and the MASA signing certificate; a domain root, a registrar CA under
// it and the registrar's certificate; and an unrelated CA.
struct Pki {
    EvpPkeyPtr mfg_key = test::make_key(), masa_key = test::make_key(), idevid_key = test::make_key();
    EvpPkeyPtr root_key = test::make_key(), sub_key = test::make_key(), registrar_key = test::make_key();
    EvpPkeyPtr other_key = test::make_key();
    X509Ptr mfg = test::make_self_signed_ca("CN=Manufacturer CA", mfg_key.get());
    X509Ptr masa = test::make_certificate("CN=MASA", masa_key.get(), mfg.get(), mfg_key.get());
    X509Ptr idevid =
        test::make_certificate("CN=pledge,serialNumber=SN-1", idevid_key.get(), mfg.get(), mfg_key.get());
    X509Ptr root = test::make_self_signed_ca("CN=Domain Root", root_key.get());
    X509Ptr sub =
        test::make_certificate("CN=Registrar CA", sub_key.get(), root.get(), root_key.get(), ca_options());
    X509Ptr registrar = test::make_certificate("CN=Registrar", registrar_key.get(), sub.get(), sub_key.get());
    X509Ptr other = test::make_self_signed_ca("CN=Other CA", other_key.get());
};

const Bytes kNonce = test::hex("000102030405060708090a0b0c0d0e0f");

class PledgeVoucherCheck : public ::testing::Test {
  protected:
    PledgeExpectations expected() const {
        PledgeExpectations e;
        e.nonce = kNonce;
        e.serial_number = "SN-1";
        e.idevid_issuer = aki_tlv(pki_.idevid.get());
        e.masa_anchors = {to_der(pki_.masa.get())};
        e.server_chain = {to_der(pki_.registrar.get()), to_der(pki_.sub.get())};
        return e;
    }

    // The voucher the MASA would give this pledge for this registrar, changed by `edit`.
    Voucher voucher(const std::function<void(Voucher&)>& edit = {}) const {
        Voucher v;
        v.assertion = Assertion::Proximity;
        v.nonce = kNonce;
        v.serial_number = "SN-1";
        v.pinned_domain_cert = to_der(pki_.sub.get());
        if (edit) edit(v);
        return v;
    }

    Bytes sign(const Voucher& v, EVP_PKEY* key = nullptr, const cbor::Map& unprotected = {}) const {
        Bytes payload = encode(Kind::Voucher, v).value();
        return cose::sign1(payload, unprotected, key ? key : pki_.masa_key.get()).value();
    }

    // The message of the refusal; fails the test when the voucher is accepted.
    std::string refusal(const Bytes& answer, std::optional<unsigned> format = kVoucherCoseFormat,
                        const std::optional<PledgeExpectations>& e = std::nullopt) const {
        auto r = check_voucher(answer, format, e.value_or(expected()));
        if (r.ok()) {
            ADD_FAILURE() << "accepted";
            return "";
        }
        return r.error().message;
    }

    Pki pki_;
};

bool names(const std::string& message, const std::string& check) {
    return message.rfind(check + ": ", 0) == 0;
}

TEST_F(PledgeVoucherCheck, AcceptsTheVoucherForThisPledgeAndRegistrar) {
    auto accepted = check_voucher(sign(voucher()), kVoucherCoseFormat, expected());
    ASSERT_TRUE(accepted.ok()) << accepted.error().message;
    EXPECT_EQ(accepted->signer, "CN=MASA");
    EXPECT_EQ(accepted->pinned_domain_cert, to_der(pki_.sub.get()));
}

TEST_F(PledgeVoucherCheck, AcceptsAPinnedRootReachedThroughTheChainTheServerSent) {
    auto accepted =
        check_voucher(sign(voucher([&](Voucher& v) { v.pinned_domain_cert = to_der(pki_.root.get()); })),
                      kVoucherCoseFormat, expected());
    EXPECT_TRUE(accepted.ok()) << accepted.error().message;
}

TEST_F(PledgeVoucherCheck, RefusesAPinnedRootWhenTheServerSentNoChainToIt) {
    PledgeExpectations e = expected();
    e.server_chain.pop_back();
    std::string m =
        refusal(sign(voucher([&](Voucher& v) { v.pinned_domain_cert = to_der(pki_.root.get()); })),
                kVoucherCoseFormat, e);
    EXPECT_TRUE(names(m, "pin")) << m;
}

TEST_F(PledgeVoucherCheck, AcceptsTheRegistrarCertificateItselfAsPin) {
    auto accepted =
        check_voucher(sign(voucher([&](Voucher& v) { v.pinned_domain_cert = to_der(pki_.registrar.get()); })),
                      kVoucherCoseFormat, expected());
    EXPECT_TRUE(accepted.ok()) << accepted.error().message;
}

TEST_F(PledgeVoucherCheck, AcceptsPinnedPublicKeyAndItsHash) {
    auto accepted = check_voucher(sign(voucher([&](Voucher& v) {
                                      v.pinned_domain_cert.reset();
                                      v.pinned_domain_pubk = spki(pki_.registrar.get());
                                      v.pinned_domain_pubk_sha256 = sha256(spki(pki_.registrar.get()));
                                  })),
                                  kVoucherCoseFormat, expected());
    ASSERT_TRUE(accepted.ok()) << accepted.error().message;
    EXPECT_TRUE(accepted->pinned_domain_cert.empty());
}

TEST_F(PledgeVoucherCheck, RefusesAPinnedPublicKeyOfAnotherServer) {
    std::string m = refusal(sign(voucher([&](Voucher& v) {
        v.pinned_domain_cert.reset();
        v.pinned_domain_pubk = spki(pki_.other.get());
    })));
    EXPECT_TRUE(names(m, "pin")) << m;
}

TEST_F(PledgeVoucherCheck, RefusesAPinnedHashOfAnotherKey) {
    std::string m = refusal(sign(voucher([&](Voucher& v) {
        v.pinned_domain_cert.reset();
        v.pinned_domain_pubk_sha256 = sha256(spki(pki_.other.get()));
    })));
    EXPECT_TRUE(names(m, "pin")) << m;
}

TEST_F(PledgeVoucherCheck, RefusesAVoucherSignedByAnotherKey) {
    std::string m = refusal(sign(voucher(), pki_.other_key.get()));
    EXPECT_TRUE(names(m, "signature")) << m;
}

TEST_F(PledgeVoucherCheck, AcceptsASignerFromTheBagIssuedByTheAnchorCa) {
    PledgeExpectations e = expected();
    e.masa_anchors = {to_der(pki_.mfg.get())};
    cbor::Map bag{{cbor::Value(cose::kHeaderX5Bag), cose::certificate_bag({to_der(pki_.masa.get())})}};
    auto accepted = check_voucher(sign(voucher(), nullptr, bag), kVoucherCoseFormat, e);
    ASSERT_TRUE(accepted.ok()) << accepted.error().message;
    EXPECT_EQ(accepted->signer, "CN=MASA");
}

TEST_F(PledgeVoucherCheck, RefusesASignerFromTheBagThatTheAnchorDidNotIssue) {
    PledgeExpectations e = expected();
    e.masa_anchors = {to_der(pki_.mfg.get())};
    X509Ptr self_made = test::make_self_signed_ca("CN=MASA", pki_.other_key.get());
    cbor::Map bag{{cbor::Value(cose::kHeaderX5Bag), cose::certificate_bag({to_der(self_made.get())})}};
    std::string m = refusal(sign(voucher(), pki_.other_key.get(), bag), kVoucherCoseFormat, e);
    EXPECT_TRUE(names(m, "signature")) << m;
    EXPECT_NE(m.find("does not chain"), std::string::npos) << m;
}

TEST_F(PledgeVoucherCheck, RefusesTheAnchorCaWhenTheVoucherCarriesNoSigningCertificate) {
    PledgeExpectations e = expected();
    e.masa_anchors = {to_der(pki_.mfg.get())};
    std::string m = refusal(sign(voucher()), kVoucherCoseFormat, e);
    EXPECT_TRUE(names(m, "signature")) << m;
}

TEST_F(PledgeVoucherCheck, RefusesAnotherNonce) {
    std::string m = refusal(sign(voucher([](Voucher& v) { v.nonce = Bytes(16, 0xee); })));
    EXPECT_TRUE(names(m, "nonce")) << m;
}

// BRSKI.md D13: nonceless vouchers are out of scope.
TEST_F(PledgeVoucherCheck, RefusesANoncelessVoucher) {
    std::string m = refusal(sign(voucher([](Voucher& v) {
        v.nonce.reset();
        v.expires_on = "2099-01-01T00:00:00Z";
    })));
    EXPECT_TRUE(names(m, "nonce")) << m;
}

TEST_F(PledgeVoucherCheck, RefusesAnotherSerialNumber) {
    std::string m = refusal(sign(voucher([](Voucher& v) { v.serial_number = "SN-2"; })));
    EXPECT_TRUE(names(m, "serial-number")) << m;
}

TEST_F(PledgeVoucherCheck, RefusesAVoucherWithoutPin) {
    std::string m = refusal(sign(voucher([](Voucher& v) { v.pinned_domain_cert.reset(); })));
    EXPECT_TRUE(names(m, "pin")) << m;
}

TEST_F(PledgeVoucherCheck, RefusesThePinOfAnotherCa) {
    std::string m =
        refusal(sign(voucher([&](Voucher& v) { v.pinned_domain_cert = to_der(pki_.other.get()); })));
    EXPECT_TRUE(names(m, "pin")) << m;
}

TEST_F(PledgeVoucherCheck, AcceptsItsOwnIdevidIssuer) {
    auto accepted =
        check_voucher(sign(voucher([&](Voucher& v) { v.idevid_issuer = aki_tlv(pki_.idevid.get()); })),
                      kVoucherCoseFormat, expected());
    EXPECT_TRUE(accepted.ok()) << accepted.error().message;
}

TEST_F(PledgeVoucherCheck, RefusesTheIdevidIssuerOfAnotherManufacturer) {
    std::string m =
        refusal(sign(voucher([&](Voucher& v) { v.idevid_issuer = aki_tlv(pki_.registrar.get()); })));
    EXPECT_TRUE(names(m, "idevid-issuer")) << m;
}

TEST_F(PledgeVoucherCheck, RefusesAnAgentProximityOrMissingAssertion) {
    std::string agent = refusal(sign(voucher([](Voucher& v) { v.assertion = Assertion::AgentProximity; })));
    EXPECT_TRUE(names(agent, "assertion")) << agent;
    std::string none = refusal(sign(voucher([](Voucher& v) { v.assertion.reset(); })));
    EXPECT_TRUE(names(none, "assertion")) << none;
}

TEST_F(PledgeVoucherCheck, AcceptsVerifiedAndLoggedAssertions) {
    for (Assertion a : {Assertion::Verified, Assertion::Logged}) {
        auto accepted = check_voucher(sign(voucher([a](Voucher& v) { v.assertion = a; })), kVoucherCoseFormat,
                                      expected());
        EXPECT_TRUE(accepted.ok()) << assertion_name(a) << ": " << accepted.error().message;
    }
}

// BRSKI.md D3: tag 18 is required.
TEST_F(PledgeVoucherCheck, RefusesAnUntaggedCoseSign1) {
    Bytes untagged = sign(voucher());
    ASSERT_EQ(untagged.front(), 0xd2);
    untagged.erase(untagged.begin());
    std::string m = refusal(untagged);
    EXPECT_TRUE(names(m, "cose")) << m;
}

TEST_F(PledgeVoucherCheck, RefusesAnotherOrNoContentFormat) {
    EXPECT_TRUE(names(refusal(sign(voucher()), 60), "content-format"));
    EXPECT_TRUE(names(refusal(sign(voucher()), std::nullopt), "content-format"));
}

TEST_F(PledgeVoucherCheck, RefusesAVoucherRequestInPlaceOfAVoucher) {
    Bytes payload = encode(Kind::VoucherRequest, voucher()).value();
    std::string m = refusal(cose::sign1(payload, {}, pki_.masa_key.get()).value());
    EXPECT_TRUE(names(m, "payload")) << m;
}

TEST(ChainsTo, AnIntermediateMayEndThePath) {
    Pki pki;
    EXPECT_TRUE(chains_to(pki.registrar.get(), {}, {to_der(pki.sub.get())}));
    EXPECT_TRUE(chains_to(pki.registrar.get(), {to_der(pki.sub.get())}, {to_der(pki.root.get())}));
    EXPECT_FALSE(chains_to(pki.registrar.get(), {}, {to_der(pki.root.get())}));
    EXPECT_FALSE(chains_to(pki.registrar.get(), {to_der(pki.sub.get())}, {to_der(pki.other.get())}));
}

}  // namespace
}  // namespace estgw::brski
