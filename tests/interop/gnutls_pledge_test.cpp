// A second DTLS stack as the pledge: coap-client-gnutls (Debian libcoap3-bin, libcoap over GnuTLS) against
// estgw in both modes. Pledges in the field run other stacks than OpenSSL; whatever differs must be handled
// on our side when the pledge is right. Each case runs at the smallest and the largest block size.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/keys.hpp"
#include "common/pem.hpp"
#include "common/pkcs7.hpp"
#include "common/x509.hpp"
#include "gateway/gateway_env.hpp"
#include "mapping/multipart_core.hpp"
#include "support/server_env.hpp"
#include "support/test_pki.hpp"

namespace estgw::test {
namespace {

Bytes bytes_of(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

// The certificate an answer of Content-Format 281 (certs-only holding it) or 287 carries.
X509Ptr certificate_in(const CoapOutcome& r, const std::string& accept) {
    Bytes der = bytes_of(r.payload);
    if (accept == "281") {
        auto certs = certs_only_certificates_der(der);
        if (!certs || certs->empty()) throw std::runtime_error("no certs-only in the answer: " + r.output);
        der = certs->front();
    }
    auto cert = parse_certificate_der(der);
    if (!cert) throw std::runtime_error("no certificate in the answer: " + r.output);
    return std::move(*cert);
}

struct Case {
    std::string accept;  // "281" or "287"
    unsigned block = 16;
};

std::vector<Case> cases() {
    return {{"281", 16}, {"287", 16}, {"281", 1024}, {"287", 1024}};
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
    return "Accept" + info.param.accept + "Blocks" + std::to_string(info.param.block);
}

// The checks of every case, for either environment.
template <class Env>
class GnuTlsPledge : public ::testing::TestWithParam<Case> {
  protected:
    static void TearDownTestSuite() { env_.reset(); }
    void TearDown() override {
        if (HasFailure()) std::cerr << "---- estgw log ----\n" << log() << "\n";
    }
    static std::string log();

    std::vector<std::string> args(std::vector<std::string> extra) const {
        extra.insert(extra.end(), {"-b", std::to_string(GetParam().block)});
        return extra;
    }

    // POST a CSR for a fresh key; the answer must be a certificate for that key, in the asked format.
    void expect_enrolled(const std::string& path, const std::string& subject,
                         const std::vector<std::string>& sans, const std::optional<Credentials>& who) {
        EvpPkeyPtr key = make_key();
        std::string csr = env_->dir.file("gnutls-" + std::to_string(++files_) + ".csr");
        write_file(csr, to_string(to_der(make_csr(subject, sans, key.get()).get())));
        auto r = env_->coap(path, args({"-m", "post", "-t", "286", "-A", GetParam().accept, "-f", csr}), who);
        ASSERT_EQ(r.code, "2.04") << r.output;
        EXPECT_EQ(r.options["Content-Format"], GetParam().accept);
        X509Ptr cert = certificate_in(r, GetParam().accept);
        EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(cert.get()), key.get()), 1);
    }

    void expect_ca_certificates(const std::string& path) {
        auto r = env_->coap(path, args({"-A", GetParam().accept}));
        ASSERT_EQ(r.code, "2.05") << r.output;
        EXPECT_EQ(r.options["Content-Format"], GetParam().accept);
        X509Ptr ca = certificate_in(r, GetParam().accept);
        EXPECT_EQ(X509_check_ca(ca.get()), 1);
    }

    // skg answers multipart-core (CF 62) whatever the case's Accept: [284, key, 281, certs-only]; the key
    // must match the certificate.
    void expect_generated_key(const std::string& path, const std::string& subject,
                              const std::vector<std::string>& sans) {
        EvpPkeyPtr placeholder = make_key();
        std::string csr = env_->dir.file("gnutls-" + std::to_string(++files_) + ".csr");
        write_file(csr, to_string(to_der(make_csr(subject, sans, placeholder.get()).get())));
        auto r = env_->coap(path, args({"-m", "post", "-t", "286", "-f", csr}));
        ASSERT_EQ(r.code, "2.04") << r.output;
        EXPECT_EQ(r.options["Content-Format"], "62");
        auto parts = mapping::decode_multipart_core(bytes_of(r.payload));
        ASSERT_TRUE(parts.ok()) << parts.error().message;
        ASSERT_EQ(parts->size(), 2u);
        auto key = parse_private_key_der(*(*parts)[0].body);
        ASSERT_TRUE(key.ok()) << key.error().message;
        auto certs = certs_only_certificates_der(*(*parts)[1].body);
        ASSERT_TRUE(certs.ok() && !certs->empty());
        auto cert = parse_certificate_der(certs->front());
        ASSERT_TRUE(cert.ok());
        EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(cert->get()), key->get()), 1);
    }

    static inline std::unique_ptr<Env> env_;
    int files_ = 0;
};

// ---- full-server mode ----

class ServerGnuTls : public GnuTlsPledge<ServerEnv> {
  protected:
    static void SetUpTestSuite() {
        env_ = std::make_unique<ServerEnv>();
        env_->start();
        // sren renews the session's own certificate, which the domain CA must have issued: an LDevID,
        // enrolled with the reference pledge; the GnuTLS pledge then uses it.
        ldevid_ = env_->enroll("gnutls-ldevid", "CN=gnutls-pledge", {});
        env_->coap_client = kCoapClientGnuTls;
    }

    static inline Credentials ldevid_;
};

template <>
std::string GnuTlsPledge<ServerEnv>::log() {
    return env_->log();
}

TEST_P(ServerGnuTls, CrtsReturnsTheDomainCa) {
    expect_ca_certificates("/.well-known/est/crts");
}

TEST_P(ServerGnuTls, SenIssuesACertificateForTheCsrKey) {
    expect_enrolled("/.well-known/est/sen", "CN=gnutls-pledge", {}, std::nullopt);
}

TEST_P(ServerGnuTls, SrenRenewsTheSessionsCertificate) {
    expect_enrolled("/.well-known/est/sren", "CN=gnutls-pledge", {}, ldevid_);
}

TEST_P(ServerGnuTls, SkgGeneratesAKeyMatchingTheCertificate) {
    expect_generated_key("/.well-known/est/skg", "CN=gnutls-skg", {});
}

INSTANTIATE_TEST_SUITE_P(Formats, ServerGnuTls, ::testing::ValuesIn(cases()), case_name);

// ---- gateway mode ----

class GatewayGnuTls : public GnuTlsPledge<GatewayEnv> {
  protected:
    static void SetUpTestSuite() {
        env_ = std::make_unique<GatewayEnv>();
        env_->start_gateway();
        env_->coap_client = kCoapClientGnuTls;
    }
    static constexpr const char* kSubject = "CN=pledge-1,O=estgw tests";
    static inline const std::vector<std::string> kSans = {"DNS:pledge-1.example"};
};

template <>
std::string GnuTlsPledge<GatewayEnv>::log() {
    return env_->gateway_log();
}

TEST_P(GatewayGnuTls, CrtsReturnsTheCaCertificates) {
    expect_ca_certificates("/est/crts");
}

TEST_P(GatewayGnuTls, SenIssuesACertificateForTheCsrKey) {
    expect_enrolled("/est/sen", kSubject, kSans, std::nullopt);
}

TEST_P(GatewayGnuTls, SrenRenewsWithTheSameIdentity) {
    expect_enrolled("/est/sren", kSubject, kSans, std::nullopt);
}

TEST_P(GatewayGnuTls, SkgGeneratesAKeyMatchingTheCertificate) {
    expect_generated_key("/est/skg", kSubject, kSans);
}

INSTANTIATE_TEST_SUITE_P(Formats, GatewayGnuTls, ::testing::ValuesIn(cases()), case_name);

}  // namespace
}  // namespace estgw::test
