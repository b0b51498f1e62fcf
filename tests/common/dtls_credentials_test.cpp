// DTLS credentials parsed once (common/dtls_credentials): which chain is sent, which files are refused.
#include "common/dtls_credentials.hpp"

#include <gtest/gtest.h>

#include "support/process.hpp"
#include "support/test_pki.hpp"

namespace estgw {
namespace {

test::CertOptions ca_options() {
    test::CertOptions o;
    o.ca = true;
    return o;
}

struct Pki {
    EvpPkeyPtr root_key = test::make_key(), sub_key = test::make_key(), leaf_key = test::make_key();
    X509Ptr root = test::make_self_signed_ca("CN=Root", root_key.get());
    X509Ptr sub = test::make_certificate("CN=Sub", sub_key.get(), root.get(), root_key.get(), ca_options());
    X509Ptr leaf = test::make_certificate("CN=Leaf", leaf_key.get(), sub.get(), sub_key.get());
};

TEST(DtlsCredentials, SendsTheChainThatFollowsTheLeafInTheCertificateFile) {
    Pki pki;
    test::TempDir dir;
    test::write_cert_file(dir.path() + "/cert.pem", {pki.leaf.get(), pki.sub.get()});
    test::write_key_file(dir.path() + "/key.pem", pki.leaf_key.get());
    auto c = DtlsCredentials::load(dir.path() + "/cert.pem", dir.path() + "/key.pem", "");
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->chain_length(), 1u);
    EXPECT_EQ(X509_cmp(c->certificate(), pki.leaf.get()), 0);
}

// RFC 5246 §7.4.2: the self-signed root may be left out, the peer must already have it.
TEST(DtlsCredentials, TakesTheIntermediatesButNotTheRootFromTheTrustFile) {
    Pki pki;
    test::TempDir dir;
    test::write_cert_file(dir.path() + "/cert.pem", {pki.leaf.get()});
    test::write_key_file(dir.path() + "/key.pem", pki.leaf_key.get());
    test::write_cert_file(dir.path() + "/ca.pem", {pki.root.get(), pki.sub.get()});
    auto c = DtlsCredentials::load(dir.path() + "/cert.pem", dir.path() + "/key.pem", dir.path() + "/ca.pem");
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->chain_length(), 1u);
}

TEST(DtlsCredentials, RefusesAKeyOfAnotherCertificateNamingTheOption) {
    Pki pki;
    test::TempDir dir;
    test::write_cert_file(dir.path() + "/cert.pem", {pki.leaf.get()});
    test::write_key_file(dir.path() + "/key.pem", pki.sub_key.get());
    auto c = DtlsCredentials::load(dir.path() + "/cert.pem", dir.path() + "/key.pem", "");
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().message.rfind("--key ", 0), 0u) << c.error().message;
}

TEST(DtlsCredentials, RefusesAMissingCertificateFileNamingTheOption) {
    test::TempDir dir;
    auto c = DtlsCredentials::load(dir.path() + "/none.pem", dir.path() + "/key.pem", "");
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().message.rfind("--cert ", 0), 0u) << c.error().message;
}

TEST(DtlsCredentials, InstallsCertificateAndKeyOnASession) {
    Pki pki;
    test::TempDir dir;
    test::write_cert_file(dir.path() + "/cert.pem", {pki.leaf.get(), pki.sub.get()});
    test::write_key_file(dir.path() + "/key.pem", pki.leaf_key.get());
    auto c = DtlsCredentials::load(dir.path() + "/cert.pem", dir.path() + "/key.pem", "");
    ASSERT_TRUE(c.ok()) << c.error().message;
    SslCtxPtr ctx(SSL_CTX_new(DTLS_server_method()));
    ASSERT_TRUE(ctx);
    SslPtr ssl(SSL_new(ctx.get()));
    ASSERT_TRUE(ssl);
    ASSERT_TRUE(c->install(ssl.get()));
    EXPECT_EQ(X509_cmp(SSL_get_certificate(ssl.get()), pki.leaf.get()), 0);
    EXPECT_EQ(SSL_check_private_key(ssl.get()), 1);
}

}  // namespace
}  // namespace estgw
