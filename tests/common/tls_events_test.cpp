// What the recorders keep from real OpenSSL handshakes, run in memory (a BIO pair between a client and a
// server SSL), and how each side then words the failure.
#include "common/tls_events.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include "support/test_pki.hpp"

namespace estgw {
namespace {

using test::CertOptions;
using test::make_certificate;
using test::make_key;
using test::make_self_signed_ca;

struct Pki {
    Pki() : ca_key(make_key()), ca(make_self_signed_ca("CN=Events CA", ca_key.get())) {}
    // A certificate for a fresh key (kept in `key`), issued by this CA.
    X509Ptr issue(const std::string& subject, EvpPkeyPtr& key, const CertOptions& options = {}) const {
        key = make_key();
        return make_certificate(subject, key.get(), ca.get(), ca_key.get(), options);
    }
    EvpPkeyPtr ca_key;
    X509Ptr ca;
};

SslCtxPtr context(const SSL_METHOD* method, const X509* trusted) {
    SslCtxPtr ctx(SSL_CTX_new(method));
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), const_cast<X509*>(trusted));
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, record_tls_verify);
    SSL_CTX_set_info_callback(ctx.get(), record_tls_info);
    return ctx;
}

void use(SSL_CTX* ctx, const X509* cert, const EvpPkeyPtr& key) {
    SSL_CTX_use_certificate(ctx, const_cast<X509*>(cert));
    SSL_CTX_use_PrivateKey(ctx, key.get());
}

// A client and a server, each trusting its own anchor, joined by a BIO pair; the server asks for a client
// certificate.
struct Connection {
    Connection(SSL_CTX* client_ctx, SSL_CTX* server_ctx)
        : client(SSL_new(client_ctx)), server(SSL_new(server_ctx)) {
        BIO* client_end = nullptr;
        BIO* server_end = nullptr;
        BIO_new_bio_pair(&client_end, 0, &server_end, 0);
        SSL_set_bio(client.get(), client_end, client_end);
        SSL_set_bio(server.get(), server_end, server_end);
        SSL_set_connect_state(client.get());
        SSL_set_accept_state(server.get());
        SSL_set_verify(server.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, record_tls_verify);
    }
    // Steps both sides until neither moves (or both are done), then lets the client read what came last (a
    // TLS 1.3 server refuses a client certificate after the client's side is done). Returns each side's
    // events, taken as they stop.
    void run() {
        for (int step = 0; step < 20; ++step) {
            const int c = SSL_do_handshake(client.get());
            client_events_take();
            const int s = SSL_do_handshake(server.get());
            server_events = merge(server_events, take_tls_events(server.get()));
            if (c == 1 && s == 1) break;
        }
        char byte = 0;
        SSL_read(client.get(), &byte, 1);
        client_events_take();
        ERR_clear_error();
    }
    void client_events_take() { client_events = merge(client_events, take_tls_events(client.get())); }
    static TlsEvents merge(TlsEvents into, TlsEvents more) {
        if (into.verify_failure.empty()) into.verify_failure = more.verify_failure;
        if (!into.alert_received) into.alert_received = more.alert_received;
        if (!into.alert_sent) {
            into.alert_sent = more.alert_sent;
            into.error_reason = more.error_reason;
            into.error_text = more.error_text;
        }
        into.handshake_done = into.handshake_done || more.handshake_done;
        return into;
    }
    SslPtr client, server;
    TlsEvents client_events, server_events;
};

const PeerNaming kServer{"the server", "--server", "--ca", "--cert", "--timeout"};

class TlsEventsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        server_cert = pki.issue("CN=server", server_key);
        client_cert = pki.issue("CN=client", client_key);
        client_ctx = context(TLS_client_method(), pki.ca.get());
        server_ctx = context(TLS_server_method(), pki.ca.get());
        use(server_ctx.get(), server_cert.get(), server_key);
        use(client_ctx.get(), client_cert.get(), client_key);
    }
    std::string client_failure(const Connection& c) {
        auto failure = client_tls_failure(c.client_events);
        return failure ? describe(*failure, kServer) : "(none)";
    }
    Pki pki;
    EvpPkeyPtr server_key, client_key;
    X509Ptr server_cert, client_cert;
    SslCtxPtr client_ctx, server_ctx;
};

TEST_F(TlsEventsTest, AHandshakeThatWorksLeavesNoFailure) {
    Connection c(client_ctx.get(), server_ctx.get());
    c.run();
    EXPECT_TRUE(c.client_events.handshake_done);
    EXPECT_EQ(client_failure(c), "(none)");
}

TEST_F(TlsEventsTest, AClientThatDoesNotTrustTheServerSaysWhyAndTheServerHearsItsAlert) {
    Pki other;
    SslCtxPtr distrustful = context(TLS_client_method(), other.ca.get());
    use(distrustful.get(), client_cert.get(), client_key);
    Connection c(distrustful.get(), server_ctx.get());
    c.run();
    // The server sends its root too (OpenSSL completes the chain from its store): the client knows neither.
    EXPECT_EQ(client_failure(c),
              "the certificate of the server does not verify against --ca: unknown root CA: CN=Events CA "
              "(self-signed certificate in certificate chain)");
    EXPECT_EQ(server_tls_refusal(c.server_events, "--client-ca", "--cert"),
              "the client refused our certificate (--cert): unknown CA; it does not trust the CA that issued "
              "--cert");
}

TEST_F(TlsEventsTest, AnExpiredServerCertificateIsNamedExpired) {
    server_cert = pki.issue("CN=stale server", server_key, test::expired());
    use(server_ctx.get(), server_cert.get(), server_key);
    Connection c(client_ctx.get(), server_ctx.get());
    c.run();
    EXPECT_NE(client_failure(c).find("does not verify against --ca: expired: CN=stale server"),
              std::string::npos)
        << client_failure(c);
}

TEST_F(TlsEventsTest, AServerCertificateForAnotherHostNamesTheHostAskedFor) {
    Connection c(client_ctx.get(), server_ctx.get());
    X509_VERIFY_PARAM_set1_host(SSL_get0_param(c.client.get()), "est.example", 0);
    c.run();
    EXPECT_NE(
        client_failure(c).find("host name mismatch: the certificate (CN=server) does not name est.example"),
        std::string::npos)
        << client_failure(c);
}

TEST_F(TlsEventsTest, AServerThatDoesNotTrustTheClientSaysWhyAndTheClientHearsItsAlert) {
    EvpPkeyPtr key;
    Pki other;
    X509Ptr foreign = other.issue("CN=foreign client", key);
    use(client_ctx.get(), foreign.get(), key);
    Connection c(client_ctx.get(), server_ctx.get());
    c.run();
    EXPECT_EQ(
        server_tls_refusal(c.server_events, "--client-ca", "--cert"),
        "the client's certificate does not verify against --client-ca: unknown issuer: CN=foreign client "
        "(unable to get local issuer certificate)");
    EXPECT_EQ(client_failure(c),
              "the server refused our certificate (--cert): unknown CA; it does not trust the CA that issued "
              "--cert");
}

TEST_F(TlsEventsTest, AClientWithoutCertificateIsToldOneIsRequired) {
    SslCtxPtr anonymous = context(TLS_client_method(), pki.ca.get());
    Connection c(anonymous.get(), server_ctx.get());
    c.run();
    EXPECT_EQ(server_tls_refusal(c.server_events, "--client-ca", "--cert"), "no client certificate");
    EXPECT_EQ(client_failure(c), "the server requires a client certificate: set --cert");
}

TEST_F(TlsEventsTest, AnExpiredClientCertificateIsNamedByBothSides) {
    EvpPkeyPtr key;
    X509Ptr stale = pki.issue("CN=stale client", key, test::expired());
    use(client_ctx.get(), stale.get(), key);
    Connection c(client_ctx.get(), server_ctx.get());
    c.run();
    EXPECT_NE(server_tls_refusal(c.server_events, "--client-ca", "--cert").find("expired: CN=stale client"),
              std::string::npos);
    EXPECT_NE(
        client_failure(c).find("refused our certificate (--cert): certificate expired; --cert has expired"),
        std::string::npos)
        << client_failure(c);
}

// libcoap's callbacks, chained, keep their say: here one that accepts any certificate.
int accept_anything(int, X509_STORE_CTX*) {
    EXPECT_TRUE(inside_chained_tls_callback());
    return 1;
}

TEST_F(TlsEventsTest, AChainedVerifyCallbackKeepsItsVerdictAndRunsFlaggedAsChained) {
    Pki other;
    SslCtxPtr lenient = context(TLS_client_method(), other.ca.get());
    use(lenient.get(), client_cert.get(), client_key);
    Connection c(lenient.get(), server_ctx.get());
    SSL_set_verify(c.client.get(), SSL_VERIFY_PEER, accept_anything);
    chain_tls_recorders(c.client.get());
    c.run();
    EXPECT_TRUE(c.client_events.handshake_done);
    EXPECT_EQ(client_failure(c), "(none)");
    EXPECT_FALSE(inside_chained_tls_callback());
}

TEST(TlsEvents, AlertsHaveTheirNamesEvenWhereOpenSslHasNone) {
    EXPECT_EQ(alert_text(SSL_AD_UNKNOWN_CA), "unknown CA");
    EXPECT_EQ(alert_text(TLS13_AD_CERTIFICATE_REQUIRED), "certificate required");
    EXPECT_EQ(alert_text(SSL_AD_HANDSHAKE_FAILURE), "handshake failure");
}

}  // namespace
}  // namespace estgw
