// 281 ⇄ 287 conversions and the choice of the issuing CA (RFC 9148 §4.3, RFC 7030 §4.2.3, cBRSKI §6.7.5 and
// §6.8; digest §6).
#include "mapping/cert_formats.hpp"

#include <gtest/gtest.h>

#include "ca_fixtures.hpp"
#include "support/test_data.hpp"

namespace estgw::mapping {
namespace {

using namespace estgw::test;

// root → mid → issuing → client leaf, and an unrelated second root.
class CaHierarchy : public ::testing::Test {
  protected:
    TestCa root = make_root_ca("CN=Root CA,O=Test");
    TestCa mid = make_sub_ca("CN=Mid CA,O=Test", root);
    TestCa issuing = make_sub_ca("CN=Issuing CA,O=Test", mid);
    TestCa other_root = make_root_ca("CN=Other Root,O=Test");
    Bytes client = make_leaf_der("CN=client,O=Test", issuing);
};

// ---- issued_certificate_from_certs_only ----

// RFC 9148 App. A.2: the enroll answer holds exactly the issued certificate, which becomes the 287 body.
TEST(IssuedCertificate, SingleCertificateIsReturned) {
    Bytes certs_only = read_hex("rfc9148/a2-sen-response.hex");
    auto expected = certs_only_certificates_der(certs_only);
    ASSERT_TRUE(expected);
    ASSERT_EQ(expected->size(), 1u);
    auto r = issued_certificate_from_certs_only(certs_only);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, expected->front());
}

// Some EST servers append their chain: the issued certificate is the one that issued nothing.
TEST_F(CaHierarchy, IssuedCertificateIsFoundBelowAnAppendedChain) {
    auto r = issued_certificate_from_certs_only(certs_only_of({root.der, issuing.der, client, mid.der}));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, client);
}

// Two unrelated end-entity certificates: no single issued certificate, the upstream answer is unusable.
TEST_F(CaHierarchy, TwoUnrelatedCertificatesAreUpstreamFailure) {
    Bytes other = make_leaf_der("CN=other,O=Test", other_root);
    auto r = issued_certificate_from_certs_only(certs_only_of({client, other}));
    EXPECT_EQ(r.status(), Status::UpstreamFailed);
}

// RFC 7030 §4.2.3 needs a certificate: an empty certs-only is unusable.
TEST(IssuedCertificate, EmptyCertsOnlyIsUpstreamFailure) {
    auto r = issued_certificate_from_certs_only(certs_only_of({}));
    EXPECT_EQ(r.status(), Status::UpstreamFailed);
}

// A body that is not PKCS#7 is unusable.
TEST(IssuedCertificate, GarbageIsUpstreamFailure) {
    EXPECT_EQ(issued_certificate_from_certs_only(to_bytes("not der")).status(), Status::UpstreamFailed);
}

// ---- certs_only_from_certificate ----

// 287 → 281: the certs-only holds that one certificate.
TEST_F(CaHierarchy, CertificateIsWrappedAsCertsOnly) {
    auto r = certs_only_from_certificate(client);
    ASSERT_TRUE(r) << r.error().message;
    auto certs = certs_only_certificates_der(*r);
    ASSERT_TRUE(certs);
    EXPECT_EQ(*certs, std::vector<Bytes>{client});
}

// A body that is not one certificate cannot be wrapped.
TEST(CertsOnlyFromCertificate, GarbageIsUpstreamFailure) {
    EXPECT_EQ(certs_only_from_certificate(Bytes{0x30, 0x00}).status(), Status::UpstreamFailed);
}

// ---- select_issuing_ca ----

X509Ptr parsed(const Bytes& der) {
    return parse_certificate_der(der).value();
}

// RFC 9148 App. A.1: a bundle of one root answers with that root.
TEST(SelectIssuingCa, SingleCertificateBundleIsThatCertificate) {
    auto bundle = certs_only_certificates_der(read_hex("rfc9148/a1-crts-response.hex"));
    ASSERT_TRUE(bundle);
    auto r = select_issuing_ca(*bundle, nullptr);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, bundle->front());
}

// cBRSKI §6.8: the CA that issued this client's certificate, even with several trust anchors in the bundle.
TEST_F(CaHierarchy, PeersIssuerIsChosen) {
    auto r = select_issuing_ca({other_root.der, root.der, issuing.der, mid.der}, parsed(client).get());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, issuing.der);
}

// A client whose certificate comes from elsewhere (an IDevID) gets the bottom CA of the bundle.
TEST_F(CaHierarchy, BottomCaIsChosenWhenThePeersIssuerIsNotInTheBundle) {
    Bytes idevid = make_leaf_der("CN=pledge,O=Vendor", other_root);
    auto r = select_issuing_ca({root.der, mid.der, issuing.der}, parsed(idevid).get());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, issuing.der);
}

// cBRSKI §6.8: several trust anchors and no way to choose: 4.06.
TEST_F(CaHierarchy, SeveralCandidatesAreNotAcceptable) {
    auto r = select_issuing_ca({root.der, other_root.der}, nullptr);
    EXPECT_EQ(r.status(), Status::NotAcceptable);
    EXPECT_NE(r.error().message.find("281"), std::string::npos);
}

// The same certificate twice is one candidate, not two.
TEST_F(CaHierarchy, RepeatedCertificateCountsOnce) {
    auto r = select_issuing_ca({root.der, root.der}, nullptr);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, root.der);
}

// Without a client certificate there is no hint; the bottom-CA rule still applies.
TEST_F(CaHierarchy, WithoutPeerCertificateTheBottomCaIsChosen) {
    auto r = select_issuing_ca({root.der, mid.der}, nullptr);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, mid.der);
}

// A bundle of one is answered as it is: checked by its outline, never parsed (the CoAP I/O thread runs this).
TEST(SelectIssuingCa, ASingleCertificateIsReturnedWithoutParsing) {
    const Bytes outline_only =
        der_tlv(0x30, joined({der_tlv(0x30, {}), der_tlv(0x30, {}), der_tlv(0x03, {0x00})}));
    auto r = select_issuing_ca({outline_only}, nullptr);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, outline_only);
    auto chain = issuing_ca_chain({outline_only}, nullptr);
    ASSERT_TRUE(chain) << chain.error().message;
    EXPECT_EQ(*chain, std::vector<Bytes>{outline_only});
}

// An empty bundle, or a malformed certificate in it, is an unusable upstream answer.
TEST(SelectIssuingCa, EmptyOrMalformedBundleIsUpstreamFailure) {
    EXPECT_EQ(select_issuing_ca({}, nullptr).status(), Status::UpstreamFailed);
    EXPECT_EQ(select_issuing_ca({Bytes{0x30, 0x00}}, nullptr).status(), Status::UpstreamFailed);
}

// ---- issuing_ca_chain ----

// cBRSKI §6.7.5: from the issuing CA up to the root, whatever the order in the bundle; certificates off the
// path are left out.
TEST_F(CaHierarchy, ChainRunsFromTheIssuingCaUpToTheRoot) {
    auto r = issuing_ca_chain({root.der, other_root.der, issuing.der, mid.der}, parsed(client).get());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, (std::vector<Bytes>{issuing.der, mid.der, root.der}));
}

// The chain stops where the bundle stops.
TEST_F(CaHierarchy, ChainStopsWhenTheIssuerIsNotInTheBundle) {
    auto r = issuing_ca_chain({issuing.der, mid.der}, nullptr);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, (std::vector<Bytes>{issuing.der, mid.der}));
}

// Errors are those of select_issuing_ca.
TEST_F(CaHierarchy, ChainOfAmbiguousBundleIsNotAcceptable) {
    EXPECT_EQ(issuing_ca_chain({root.der, other_root.der}, nullptr).status(), Status::NotAcceptable);
    EXPECT_EQ(issuing_ca_chain({}, nullptr).status(), Status::UpstreamFailed);
}

}  // namespace
}  // namespace estgw::mapping
