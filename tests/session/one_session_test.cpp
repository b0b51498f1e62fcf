// Several requests on one DTLS session, in both modes: the answers that need Block2 never mix. libcoap 4.3.1
// keeps a multi-block answer per session and resource for a while after it was sent, so a pledge that
// enrolls twice in one session (two keys, or sen then sren) or asks /crts in two formats must still get the
// answer to each request. coap-client-openssl opens one session per run; estgw's own client keeps one.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "client/coap_client.hpp"
#include "common/file_descriptor.hpp"
#include "common/pkcs7.hpp"
#include "common/x509.hpp"
#include "gateway/dtls_new_association.hpp"
#include "gateway/gateway_env.hpp"
#include "support/server_env.hpp"
#include "support/test_pki.hpp"

namespace estgw::test {
namespace {

using client::CoapAnswer;
using client::CoapClient;
using client::CoapRequest;
using gateway::DtlsNewAssociationWatch;

constexpr unsigned kCertsOnly = 281, kPkixCert = 287, kPkcs10 = 286;

// What the pledge needs to talk to one estgw: where, as whom, and what its CSRs must say.
struct Pledge {
    int port = 0;
    std::string root;  // "/est" or "/.well-known/est"
    Credentials credentials;
    std::string ca_file;  // trust anchor for the server's certificate
    std::string subject;  // the client certificate's subject, which sren must repeat
    std::vector<std::string> sans;
};

class OneSession : public ::testing::TestWithParam<unsigned> {
  protected:
    static void SetUpTestSuite() { library_ = std::make_unique<client::CoapLibrary>(LOG_WARNING); }
    static void TearDownTestSuite() { library_.reset(); }

    std::unique_ptr<CoapClient> open(const Pledge& pledge) {
        client::CoapsUrl url;
        url.host = "127.0.0.1";
        url.port = static_cast<std::uint16_t>(pledge.port);
        auto address = client::resolve_server(url);
        EXPECT_TRUE(address.ok());
        client::DtlsIdentity identity;
        identity.cert_file = pledge.credentials.cert;
        identity.key_file = pledge.credentials.key;
        identity.ca_file = pledge.ca_file;
        auto client = CoapClient::open(*address, identity);
        if (!client) throw std::runtime_error(client.error().message);
        return std::move(*client);
    }

    CoapRequest request(const Pledge& pledge, const std::string& op, unsigned accept) const {
        CoapRequest r;
        r.path = client::path_segments(pledge.root + "/" + op);
        r.accept = accept;
        r.block_size = GetParam();
        return r;
    }

    // POSTs a CSR for a fresh key to `op`; the answer's certificate must hold that key.
    void expect_certificate_for_own_key(CoapClient& client, const Pledge& pledge, const std::string& op,
                                        unsigned accept) {
        EvpPkeyPtr key = make_key();
        CoapRequest r = request(pledge, op, accept);
        r.method = COAP_REQUEST_CODE_POST;
        r.content_format = kPkcs10;
        r.body = to_der(make_csr(pledge.subject, pledge.sans, key.get()).get());
        auto answer = client.request(r);
        ASSERT_TRUE(answer.ok()) << answer.error().message;
        ASSERT_EQ(client::code_string(answer->code), "2.04") << client::diagnostic_text(*answer);
        ASSERT_EQ(answer->content_format, accept);
        Bytes der = answer->body;
        if (accept == kCertsOnly) {
            auto certs = certs_only_certificates_der(answer->body);
            ASSERT_TRUE(certs.ok() && certs->size() == 1u);
            der = certs->front();
        }
        auto cert = parse_certificate_der(der);
        ASSERT_TRUE(cert.ok()) << cert.error().message;
        EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(cert->get()), key.get()), 1)
            << op << ": the certificate is for another key";
    }

    CoapAnswer crts(CoapClient& client, const Pledge& pledge, unsigned accept) {
        auto answer = client.request(request(pledge, "crts", accept));
        if (!answer) throw std::runtime_error(answer.error().message);
        return *answer;
    }

    // The enrollments in order on one DTLS session, each (resource, Accept).
    void enroll_in_one_session(const Pledge& pledge,
                               const std::vector<std::pair<std::string, unsigned>>& enrollments) {
        auto client = open(pledge);
        for (const auto& [op, accept] : enrollments)
            expect_certificate_for_own_key(*client, pledge, op, accept);
        EXPECT_EQ(client->sessions_opened(), 1);
    }
    void two_enrollments_with_two_keys(const Pledge& pledge) {
        enroll_in_one_session(pledge, {{"sen", kPkixCert}, {"sen", kPkixCert}, {"sen", kCertsOnly}});
    }
    void enroll_then_reenroll(const Pledge& pledge) {
        enroll_in_one_session(pledge, {{"sen", kPkixCert}, {"sren", kPkixCert}, {"sren", kCertsOnly}});
    }

    void crts_in_both_formats(const Pledge& pledge) {
        auto client = open(pledge);
        for (int round = 0; round < 2; ++round) {
            CoapAnswer p7 = crts(*client, pledge, kCertsOnly);
            EXPECT_EQ(client::code_string(p7.code), "2.05");
            EXPECT_EQ(p7.content_format, kCertsOnly);
            EXPECT_TRUE(certs_only_certificates_der(p7.body).ok());
            CoapAnswer one = crts(*client, pledge, kPkixCert);
            EXPECT_EQ(client::code_string(one.code), "2.05");
            EXPECT_EQ(one.content_format, kPkixCert);
            EXPECT_TRUE(parse_certificate_der(one.body).ok());
        }
        EXPECT_EQ(client->sessions_opened(), 1);
    }

    static inline std::unique_ptr<client::CoapLibrary> library_;
};

// ---- full-server mode ----

class ServerOneSession : public OneSession {
  protected:
    static void SetUpTestSuite() {
        OneSession::SetUpTestSuite();
        env_ = std::make_unique<ServerEnv>();
        env_->start();
        // sren renews the session's own certificate, which the domain CA must have issued: an LDevID.
        ldevid_ = env_->enroll("session-ldevid", "CN=session-pledge", {});
    }
    static void TearDownTestSuite() {
        env_.reset();
        OneSession::TearDownTestSuite();
    }
    void TearDown() override {
        if (HasFailure()) std::cerr << "---- estgw log ----\n" << env_->log() << "\n";
    }
    Pledge pledge() const {
        return Pledge{env_->port, "/.well-known/est", ldevid_, env_->pki + "/ca.crt", "CN=session-pledge",
                      {}};
    }

    static inline std::unique_ptr<ServerEnv> env_;
    static inline Credentials ldevid_;
};

TEST_P(ServerOneSession, TwoEnrollmentsWithTwoKeysEachGetTheirOwnCertificate) {
    two_enrollments_with_two_keys(pledge());
}

TEST_P(ServerOneSession, EnrollThenReenrollEachGetTheirOwnCertificate) {
    enroll_then_reenroll(pledge());
}

TEST_P(ServerOneSession, CrtsInTwoFormatsGetsEachFormat) {
    crts_in_both_formats(pledge());
}

INSTANTIATE_TEST_SUITE_P(BlockSizes, ServerOneSession, ::testing::Values(16u, 64u));

// ---- gateway mode ----

class GatewayOneSession : public OneSession {
  protected:
    static void SetUpTestSuite() {
        OneSession::SetUpTestSuite();
        env_ = std::make_unique<GatewayEnv>();
        env_->start_gateway();
    }
    static void TearDownTestSuite() {
        env_.reset();
        OneSession::TearDownTestSuite();
    }
    void TearDown() override {
        if (HasFailure()) std::cerr << "---- estgw log ----\n" << env_->gateway_log() << "\n";
    }
    Pledge pledge() const {
        return Pledge{env_->port,
                      "/est",
                      env_->pledge,
                      env_->ca_file,
                      "CN=pledge-1,O=estgw tests",
                      {"DNS:pledge-1.example"}};
    }

    static inline std::unique_ptr<GatewayEnv> env_;
};

TEST_P(GatewayOneSession, TwoEnrollmentsWithTwoKeysEachGetTheirOwnCertificate) {
    two_enrollments_with_two_keys(pledge());
}

TEST_P(GatewayOneSession, EnrollThenReenrollEachGetTheirOwnCertificate) {
    enroll_then_reenroll(pledge());
}

TEST_P(GatewayOneSession, CrtsInTwoFormatsGetsEachFormat) {
    crts_in_both_formats(pledge());
}

INSTANTIATE_TEST_SUITE_P(BlockSizes, GatewayOneSession, ::testing::Values(16u, 64u));

// ---- a forged ClientHello against a live session (RFC 6347 §4.2.8) ----

// A datagram that claims to come from 127.0.0.1:`from` (a raw socket writes the IP and UDP headers): a DTLS
// record header of a ClientHello of epoch 0 and sequence number 0, with a body of zeros. Empty on success,
// else why it could not be sent.
std::string send_forged_client_hello(std::uint16_t from, std::uint16_t to) {
    FileDescriptor fd(::socket(AF_INET, SOCK_RAW, IPPROTO_RAW));  // IPPROTO_RAW: we write the IP header
    if (fd.get() < 0) return std::string("raw socket: ") + std::strerror(errno);
    std::vector<std::uint8_t> record = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 40};
    record.resize(record.size() + 40, 0);
    record[13] = 1;  // handshake type: client_hello
    std::vector<std::uint8_t> datagram(sizeof(iphdr) + sizeof(udphdr) + record.size());
    auto* ip = reinterpret_cast<iphdr*>(datagram.data());
    ip->version = 4;
    ip->ihl = 5;
    ip->ttl = 64;
    ip->protocol = IPPROTO_UDP;
    ip->tot_len = htons(static_cast<std::uint16_t>(datagram.size()));
    ip->saddr = ip->daddr = htonl(INADDR_LOOPBACK);  // the kernel fills in the id and the checksum
    auto* udp = reinterpret_cast<udphdr*>(datagram.data() + sizeof(iphdr));
    udp->source = htons(from);
    udp->dest = htons(to);
    udp->len = htons(static_cast<std::uint16_t>(sizeof(udphdr) + record.size()));
    udp->check = 0;  // none, which IPv4 allows
    std::copy(record.begin(), record.end(), datagram.begin() + sizeof(iphdr) + sizeof(udphdr));
    sockaddr_in destination{};
    destination.sin_family = AF_INET;
    destination.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::sendto(fd.get(), datagram.data(), datagram.size(), 0, reinterpret_cast<sockaddr*>(&destination),
                 sizeof destination) < 0)
        return std::string("sendto: ") + std::strerror(errno);
    return {};
}

// Whoever can send datagrams with a pledge's source address must not end its live session with one
// ClientHello. A forged ClientHello has no cookie: estgw's hello gate answers it with a HelloVerifyRequest
// (which goes to the pledge, who ignores it) and the session never sees it, so there is nothing to ping and
// nothing to close. (A ClientHello that brings a valid cookie back, from a client that really is at that
// address, leads to the ping: Server.ClientReusingTheAddressOfASessionWhoseCloseWasLostHandshakesAgain.)
TEST(ForgedClientHello, ALiveSessionStaysAndIsNotEvenDisturbed) {
    client::CoapLibrary library(LOG_WARNING);
    ServerEnv env;
    env.start();
    client::CoapsUrl url;
    url.host = "127.0.0.1";
    url.port = static_cast<std::uint16_t>(env.port);
    client::DtlsIdentity identity;
    identity.cert_file = env.idevid.cert;
    identity.key_file = env.idevid.key;
    identity.ca_file = env.pki + "/ca.crt";
    auto client = CoapClient::open(client::resolve_server(url).value(), identity).value();
    CoapRequest crts;
    crts.path = client::path_segments("/.well-known/est/crts");
    ASSERT_EQ(client::code_string(client->request(crts).value().code), "2.05");

    if (std::string failed = send_forged_client_hello(client->local_port(), url.port); !failed.empty())
        GTEST_SKIP() << "cannot forge a datagram here (" << failed << "); needs CAP_NET_RAW";
    client->idle(DtlsNewAssociationWatch::kProbeWindow + std::chrono::seconds(1));

    auto again = client->request(crts);
    ASSERT_TRUE(again.ok()) << again.error().message << env.log();
    EXPECT_EQ(client::code_string(again->code), "2.05");
    EXPECT_EQ(client->sessions_opened(), 1);
    std::string log = env.log();
    EXPECT_EQ(log.find("pinging it"), std::string::npos) << log;
    EXPECT_EQ(log.find("closing the old session"), std::string::npos) << log;
}

}  // namespace
}  // namespace estgw::test
