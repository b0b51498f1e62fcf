#include "certs/csr_policy.hpp"

#include <gtest/gtest.h>

#include "common/base64.hpp"
#include "common/x509.hpp"
#include "support/test_pki.hpp"

namespace estgw::certs {
namespace {

using test::KeyKind;

struct Pki {
    EvpPkeyPtr ca_key = test::make_key();
    X509Ptr ca = test::make_self_signed_ca("CN=Policy CA", ca_key.get());
    EvpPkeyPtr client_key = test::make_key();
    X509Ptr client =
        test::make_certificate("CN=client-1,O=estgw", client_key.get(), ca.get(), ca_key.get(), [] {
            test::CertOptions o;
            o.sans = {"DNS:client-1.example"};
            return o;
        }());
    Bytes tls_unique = Bytes(12, 0x5a);
};

EstRequest request(Operation op, const X509_REQ* csr, const Pki& pki) {
    EstRequest r;
    r.op = op;
    r.body = test::to_der(csr);
    r.peer.chain = {test::to_der(pki.client.get())};
    X509_up_ref(pki.client.get());
    r.peer.certificate = share_certificate(X509Ptr(pki.client.get()));
    r.peer.tls_unique = pki.tls_unique;
    return r;
}

X509ReqPtr csr_for(const Pki& pki, const std::string& subject, const std::vector<std::string>& sans,
                   const std::optional<std::string>& password = std::nullopt) {
    return test::make_csr(subject, sans, pki.client_key.get(), password);
}

// RFC 7030 §4.2.1: the CSR signature is the proof of possession.
TEST(CsrPolicy, AcceptsAWellSignedCsrForSimpleEnroll) {
    Pki pki;
    auto csr = csr_for(pki, "CN=anything", {});
    EXPECT_TRUE(check_enrollment_request(request(Operation::SimpleEnroll, csr.get(), pki), {}).ok());
}

TEST(CsrPolicy, RejectsMalformedDerAsBadRequest) {
    Pki pki;
    EstRequest r;
    r.op = Operation::SimpleEnroll;
    r.body = {0x30, 0x03, 0x02, 0x01, 0x01};
    EXPECT_EQ(check_enrollment_request(r, {}).status(), Status::BadRequest);
}

TEST(CsrPolicy, RejectsABadSignatureForSimpleEnroll) {
    Pki pki;
    auto csr = csr_for(pki, "CN=anything", {});
    EstRequest r = request(Operation::SimpleEnroll, csr.get(), pki);
    r.body[r.body.size() - 5] ^= 0x01;
    EXPECT_EQ(check_enrollment_request(r, {}).status(), Status::BadRequest);
}

// RFC 7030 §4.4.1: for server-side key generation the CSR's key and signature are ignored.
TEST(CsrPolicy, IgnoresTheSignatureForServerKeyGeneration) {
    Pki pki;
    auto csr = csr_for(pki, "CN=anything", {});
    for (Operation op : {Operation::ServerKeyGen, Operation::ServerKeyGenCert}) {
        EstRequest r = request(op, csr.get(), pki);
        r.body[r.body.size() - 5] ^= 0x01;
        EXPECT_TRUE(check_enrollment_request(r, {}).ok());
    }
}

// RFC 7030 §3.5: challengePassword carries base64(tls-unique) of this session.
TEST(CsrPolicy, AcceptsAChallengePasswordEqualToTheSessionsTlsUnique) {
    Pki pki;
    auto csr = csr_for(pki, "CN=linked", {}, base64_encode(pki.tls_unique));
    EXPECT_TRUE(check_enrollment_request(request(Operation::SimpleEnroll, csr.get(), pki), {}).ok());
}

TEST(CsrPolicy, RejectsAChallengePasswordFromAnotherSessionAsForbidden) {
    Pki pki;
    auto csr = csr_for(pki, "CN=linked", {}, base64_encode(Bytes(12, 0x11)));
    EXPECT_EQ(check_enrollment_request(request(Operation::SimpleEnroll, csr.get(), pki), {}).status(),
              Status::Forbidden);
}

TEST(CsrPolicy, RejectsAChallengePasswordWhenTheSessionHasNoTlsUnique) {
    Pki pki;
    auto csr = csr_for(pki, "CN=linked", {}, base64_encode(pki.tls_unique));
    EstRequest r = request(Operation::SimpleEnroll, csr.get(), pki);
    r.peer.tls_unique.clear();
    EXPECT_EQ(check_enrollment_request(r, {}).status(), Status::Forbidden);
}

TEST(CsrPolicy, RequireTlsUniqueRejectsCsrsWithoutIt) {
    Pki pki;
    auto csr = csr_for(pki, "CN=unlinked", {});
    CsrPolicy policy{.require_tls_unique = true};
    EXPECT_EQ(check_enrollment_request(request(Operation::SimpleEnroll, csr.get(), pki), policy).status(),
              Status::Forbidden);
}

// RFC 7030 §3.7: a certificate an RA forwarded comes without the client's tls-unique (its session was with
// the RA, which checked the link); the challengePassword is taken as the RA passed it on.
TEST(CsrPolicy, AcceptsAChallengePasswordForAClientAnRaForwarded) {
    Pki pki;
    auto csr = csr_for(pki, "CN=linked", {}, base64_encode(Bytes(12, 0x11)));
    EstRequest r = request(Operation::SimpleEnroll, csr.get(), pki);
    r.peer.tls_unique.clear();
    r.peer.forwarded_by = "CN=estgw RA";
    EXPECT_TRUE(check_enrollment_request(r, {}).ok());
}

TEST(CsrPolicy, RequireTlsUniqueStillRejectsAForwardedClientsCsrWithoutIt) {
    Pki pki;
    auto csr = csr_for(pki, "CN=unlinked", {});
    EstRequest r = request(Operation::SimpleEnroll, csr.get(), pki);
    r.peer.tls_unique.clear();
    r.peer.forwarded_by = "CN=estgw RA";
    EXPECT_EQ(check_enrollment_request(r, CsrPolicy{.require_tls_unique = true}).status(), Status::Forbidden);
}

// RFC 7030 §4.2.2: re-enrollment keeps subject and subjectAltName.
TEST(CsrPolicy, ReenrollWithTheClientCertificatesIdentityPasses) {
    Pki pki;
    auto csr = csr_for(pki, "CN=client-1,O=estgw", {"DNS:client-1.example"});
    EXPECT_TRUE(check_enrollment_request(request(Operation::SimpleReenroll, csr.get(), pki), {}).ok());
}

TEST(CsrPolicy, ReenrollWithAnotherSubjectIsForbidden) {
    Pki pki;
    auto csr = csr_for(pki, "CN=client-2,O=estgw", {"DNS:client-1.example"});
    EXPECT_EQ(check_enrollment_request(request(Operation::SimpleReenroll, csr.get(), pki), {}).status(),
              Status::Forbidden);
}

TEST(CsrPolicy, ReenrollWithAnotherSubjectAltNameIsForbidden) {
    Pki pki;
    auto csr = csr_for(pki, "CN=client-1,O=estgw", {"DNS:other.example"});
    EXPECT_EQ(check_enrollment_request(request(Operation::SimpleReenroll, csr.get(), pki), {}).status(),
              Status::Forbidden);
}

TEST(CsrPolicy, ReenrollWithoutAClientCertificateIsForbidden) {
    Pki pki;
    auto csr = csr_for(pki, "CN=client-1,O=estgw", {"DNS:client-1.example"});
    EstRequest r = request(Operation::SimpleReenroll, csr.get(), pki);
    r.peer.chain.clear();
    r.peer.certificate.reset();
    EXPECT_EQ(check_enrollment_request(r, {}).status(), Status::Forbidden);
}

TEST(CsrPolicy, OnlyEnrollmentOperationsCarryACsr) {
    EXPECT_TRUE(carries_csr(Operation::SimpleEnroll));
    EXPECT_TRUE(carries_csr(Operation::SimpleReenroll));
    EXPECT_TRUE(carries_csr(Operation::ServerKeyGen));
    EXPECT_TRUE(carries_csr(Operation::ServerKeyGenCert));
    for (Operation op : {Operation::CaCerts, Operation::CsrAttrs, Operation::RequestVoucher,
                         Operation::VoucherStatus, Operation::EnrollStatus}) {
        EXPECT_FALSE(carries_csr(op));
    }
}

}  // namespace
}  // namespace estgw::certs
