// A gateway whose upstream cannot be reached or fails in TLS, end to end: the real binary, coap-client as the
// pledge, real sockets and real certificates on the other side. The pledge's diagnostic and the gateway's log
// both say what happened and which option to check.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <stdexcept>
#include <thread>
#include <vector>

#include "common/file_descriptor.hpp"
#include "gateway/gateway_env.hpp"
#include "support/test_pki.hpp"

namespace estgw::test {
namespace {

// The answer to a sen through a gateway started with `options`.
CoapOutcome enroll_through(GatewayEnv& env, const std::vector<std::string>& options) {
    env.start_gateway(options);
    std::string csr = env.write_csr("upstream-errors", "CN=pledge-1,O=estgw tests", {"DNS:pledge-1.example"});
    return env.coap("/est/sen", {"-m", "post", "-t", "286", "-f", csr});
}

// `code`, and every phrase both in the pledge's diagnostic and in the gateway's upstream-failed line.
void expect_explained(const GatewayEnv& env, const CoapOutcome& r, const std::string& code,
                      const std::vector<std::string>& phrases) {
    EXPECT_EQ(r.code, code) << r.output;
    const std::string log = env.gateway_log();
    const auto line_start = log.find("upstream-failed resource=sen");
    ASSERT_NE(line_start, std::string::npos) << log;
    const std::string line = log.substr(line_start, log.find('\n', line_start) - line_start);
    for (const auto& phrase : phrases) {
        EXPECT_NE(r.diagnostic.find(phrase), std::string::npos) << phrase << " in: " << r.diagnostic;
        EXPECT_NE(line.find(phrase), std::string::npos) << phrase << " in: " << line;
    }
}

std::string upstream_url(const std::string& host, int port) {
    return "https://" + host + ":" + std::to_string(port);
}

TEST(GatewayUpstreamErrors, AClosedPortIs502SayingTheConnectionWasRefused) {
    GatewayEnv env;
    const int closed = free_port(false);
    auto r = enroll_through(env, {"--upstream", upstream_url("127.0.0.1", closed)});
    expect_explained(env, r, "5.02",
                     {"the upstream 127.0.0.1:" + std::to_string(closed) + ": connection refused",
                      "check the port in --upstream"});
}

// RFC 6761 §6.4: names under .invalid never resolve.
TEST(GatewayUpstreamErrors, AnUnresolvableNameIs502SayingItDoesNotResolve) {
    GatewayEnv env;
    auto r = enroll_through(env, {"--upstream", upstream_url("nonexistent.invalid", 443)});
    expect_explained(env, r, "5.02",
                     {"the upstream nonexistent.invalid:443: the host name does not resolve",
                      "check the host in --upstream"});
}

// A TCP listener that never accepts: the kernel completes the connection, and nobody ever answers the
// ClientHello.
class SilentListener {
  public:
    SilentListener() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        if (fd_.get() < 0 || ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&address), length) != 0 ||
            ::listen(fd_.get(), 64) != 0 ||
            ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
            throw std::runtime_error("silent listener: cannot listen");
        }
        port_ = ntohs(address.sin_port);
    }
    int port() const { return port_; }

    int fd() const { return fd_.get(); }

  private:
    FileDescriptor fd_;
    int port_ = 0;
};

TEST(GatewayUpstreamErrors, AListenerThatNeverAnswersIs504AfterTheTimeout) {
    GatewayEnv env;
    SilentListener silent;
    auto r = enroll_through(
        env, {"--upstream", upstream_url("127.0.0.1", silent.port()), "--upstream-timeout", "1"});
    expect_explained(env, r, "5.04",
                     {"no answer within 1 s in the TLS handshake", "raise --upstream-timeout"});
}

// A server that accepts each TCP connection and then says nothing, never a ServerHello.
class AcceptingSilentListener {
  public:
    AcceptingSilentListener() {
        thread_ = std::thread([this] {
            while (true) {
                const int fd = ::accept(listener_.fd(), nullptr, nullptr);
                if (fd < 0) return;  // shut down by the destructor
                accepted_.emplace_back(fd);
            }
        });
    }
    ~AcceptingSilentListener() {
        ::shutdown(listener_.fd(), SHUT_RDWR);
        thread_.join();
    }
    int port() const { return listener_.port(); }

  private:
    SilentListener listener_;
    std::vector<FileDescriptor> accepted_;
    std::thread thread_;
};

// The TLS handshake's timeout is the upstream timeout: 5.04 after about --upstream-timeout, not 5.02.
TEST(GatewayUpstreamErrors, AServerThatAcceptsButNeverSpeaksTlsIs504AfterTheTimeout) {
    GatewayEnv env;
    AcceptingSilentListener silent;
    const auto started = std::chrono::steady_clock::now();
    auto r = enroll_through(
        env, {"--upstream", upstream_url("127.0.0.1", silent.port()), "--upstream-timeout", "2"});
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    expect_explained(env, r, "5.04",
                     {"no answer within 2 s in the TLS handshake", "raise --upstream-timeout"});
    // enroll_through also starts the gateway (under a second); generous bounds around the 2 s.
    EXPECT_GT(took, 1.5);
    EXPECT_LT(took, 6.0);
}

// A second upstream serving a certificate for a fresh key made with `options`, from `issuer`, and trusting
// client certificates from `client_ca_file` (the test CA when empty).
std::unique_ptr<FakeEstServer> upstream_with_certificate(GatewayEnv& env, const std::string& name,
                                                         const X509* issuer, EVP_PKEY* issuer_key,
                                                         const CertOptions& options,
                                                         const std::string& client_ca_file = "") {
    EvpPkeyPtr key = make_key();
    X509Ptr cert = make_certificate("CN=" + name, key.get(), issuer, issuer_key, options);
    write_cert_file(env.dir.file(name + ".crt"), {cert.get()});
    write_key_file(env.dir.file(name + ".key"), key.get());
    return std::make_unique<FakeEstServer>(env.dir.file(name + ".crt"), env.dir.file(name + ".key"),
                                           client_ca_file.empty() ? env.ca_file : client_ca_file,
                                           env.ca.get(), env.ca_key.get());
}

CertOptions server_options(std::vector<std::string> sans) {
    CertOptions options;
    options.sans = std::move(sans);
    options.extended_key_usage = "serverAuth";
    return options;
}

// The gateway refuses `upstream` in the handshake (or is refused): 5.02 explained by `phrases`, and no
// request reaches it.
void expect_refused_in_the_handshake(GatewayEnv& env, FakeEstServer& upstream,
                                     const std::vector<std::string>& phrases,
                                     const std::string& host = "127.0.0.1",
                                     const std::vector<std::string>& options = {}) {
    std::vector<std::string> all = {"--upstream", upstream_url(host, upstream.start())};
    all.insert(all.end(), options.begin(), options.end());
    expect_explained(env, enroll_through(env, all), "5.02", phrases);
    EXPECT_EQ(upstream.calls("simpleenroll"), 0);
}

// An upstream whose certificate chains to no anchor of --upstream-ca.
TEST(GatewayUpstreamErrors, AnUpstreamCertificateFromAnotherCaIs502) {
    GatewayEnv env;
    EvpPkeyPtr other_key = make_key();
    X509Ptr other_ca = make_self_signed_ca("CN=Other CA", other_key.get());
    auto impostor = upstream_with_certificate(env, "impostor", other_ca.get(), other_key.get(),
                                              server_options({"IP:127.0.0.1"}));
    expect_refused_in_the_handshake(env, *impostor,
                                    {"the certificate of the upstream 127.0.0.1:",
                                     "does not verify against --upstream-ca: unknown issuer", "CN=impostor"});
}

TEST(GatewayUpstreamErrors, AnExpiredUpstreamCertificateIs502) {
    GatewayEnv env;
    auto stale = upstream_with_certificate(env, "stale", env.ca.get(), env.ca_key.get(),
                                           expired(server_options({"IP:127.0.0.1"})));
    expect_refused_in_the_handshake(env, *stale,
                                    {"does not verify against --upstream-ca: expired: CN=stale"});
}

// RFC 6125 / RFC 9110 §4.3.4: a certificate from a trusted CA that names another host is refused too.
TEST(GatewayUpstreamErrors, AnUpstreamCertificateForAnotherAddressIs502) {
    GatewayEnv env;
    auto elsewhere = upstream_with_certificate(env, "elsewhere", env.ca.get(), env.ca_key.get(),
                                               server_options({"DNS:elsewhere.example"}));
    expect_refused_in_the_handshake(
        env, *elsewhere, {"IP address mismatch: the certificate (CN=elsewhere) does not name 127.0.0.1"});
}

TEST(GatewayUpstreamErrors, AnUpstreamCertificateForAnotherHostNameIs502) {
    GatewayEnv env;
    auto elsewhere = upstream_with_certificate(env, "elsewhere", env.ca.get(), env.ca_key.get(),
                                               server_options({"DNS:elsewhere.example"}));
    expect_refused_in_the_handshake(
        env, *elsewhere, {"host name mismatch: the certificate (CN=elsewhere) does not name localhost"},
        "localhost");
}

// The upstream trusts only another CA for client certificates: its alert, not cpp-httplib's "Read", says so.
TEST(GatewayUpstreamErrors, AnUpstreamThatDoesNotTrustOurCertificateIs502SayingItRefusedIt) {
    GatewayEnv env;
    auto choosy = upstream_with_certificate(env, "choosy", env.ca.get(), env.ca_key.get(),
                                            server_options({"IP:127.0.0.1"}), env.foreign_ca_file);
    expect_refused_in_the_handshake(env, *choosy,
                                    {"refused our certificate (--upstream-cert): unknown CA",
                                     "it does not trust the CA that issued --upstream-cert"});
}

TEST(GatewayUpstreamErrors, AnExpiredRaCertificateIs502SayingTheUpstreamRefusedIt) {
    GatewayEnv env;
    EvpPkeyPtr key = make_key();
    CertOptions options;
    options.extended_key_usage = "clientAuth,1.3.6.1.5.5.7.3.28";
    X509Ptr ra =
        make_certificate("CN=estgw expired RA", key.get(), env.ca.get(), env.ca_key.get(), expired(options));
    write_cert_file(env.dir.file("ra-expired.crt"), {ra.get()});
    write_key_file(env.dir.file("ra-expired.key"), key.get());
    auto upstream = upstream_with_certificate(env, "strict-about-expiry", env.ca.get(), env.ca_key.get(),
                                              server_options({"IP:127.0.0.1"}));
    expect_refused_in_the_handshake(
        env, *upstream, {"refused our certificate (--upstream-cert): certificate expired", "renew it"},
        "127.0.0.1",
        {"--upstream-cert", env.dir.file("ra-expired.crt"), "--upstream-key",
         env.dir.file("ra-expired.key")});
}

}  // namespace
}  // namespace estgw::test
