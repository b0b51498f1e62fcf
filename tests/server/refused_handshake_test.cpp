// Handshakes the server refuses, end to end: coap-client-openssl and curl with certificates it must not
// accept (or none), and the server's log line that names the peer and the reason.
#include <gtest/gtest.h>

#include <cctype>
#include <sstream>
#include <thread>

#include "support/server_env.hpp"
#include "support/shared_env.hpp"

namespace estgw::test {
namespace {

class RefusedHandshakes : public SharedEnvTest<RefusedHandshakes, ServerEnv> {
  protected:
    // The server's report of a refused `protocol` handshake whose line holds `reason`. The server writes it
    // after its alert is out, so it may come a moment after the client has given up.
    std::string refusal(const std::string& protocol, const std::string& reason) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        do {
            std::istringstream lines(env().log());
            for (std::string line; std::getline(lines, line);) {
                if (line.find("tls-handshake-refused protocol=" + protocol + " ") != std::string::npos &&
                    line.find(reason) != std::string::npos)
                    return line;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        } while (std::chrono::steady_clock::now() < deadline);
        ADD_FAILURE() << "no refused " << protocol << " handshake with \"" << reason << "\" in:\n"
                      << env().log();
        return {};
    }

    CoapOutcome crts_over_dtls(const Credentials& who) {
        return env().coap("/.well-known/est/crts", {}, who);
    }

    std::string cacerts_over_https(const std::vector<std::string>& extra) {
        std::string body;
        return env().curl("/.well-known/est/cacerts", body, extra, false);
    }
};

// Where the client came from, as the server saw it: loopback and some port.
void expect_peer_on_loopback(const std::string& line) {
    const auto at = line.find(" peer=127.0.0.1:");
    ASSERT_NE(at, std::string::npos) << line;
    EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(line[at + 16]))) << line;
}

TEST_F(RefusedHandshakes, DtlsClientFromAnUnknownCaIsLoggedWithItsAddressAndTheReason) {
    EXPECT_EQ(crts_over_dtls(env().foreign_pledge("dtls-foreign")).code, "");
    expect_peer_on_loopback(
        refusal("dtls", "does not verify against --client-ca: unknown issuer: CN=dtls-foreign"));
}

TEST_F(RefusedHandshakes, DtlsClientWithAnExpiredCertificateIsLoggedAsExpired) {
    EXPECT_EQ(crts_over_dtls(env().issue_pledge("dtls-expired", "mfg-ca", expired())).code, "");
    expect_peer_on_loopback(refusal("dtls", "does not verify against --client-ca: expired: CN=dtls-expired"));
}

TEST_F(RefusedHandshakes, DtlsClientWithoutCertificateIsLoggedAsSendingNone) {
    EXPECT_EQ(crts_over_dtls(Credentials{}).code, "");
    expect_peer_on_loopback(refusal("dtls", "reason=\"no client certificate\""));
}

// The other way round: the pledge does not trust the server's certificate, and says so in its alert.
TEST_F(RefusedHandshakes, DtlsClientThatDoesNotTrustTheServerIsLogged) {
    const std::string out = env().dir.file("distrustful.out");
    CoapOutcome r = run_coap_client(
        coap_client_command("coaps://127.0.0.1:" + std::to_string(env().port) + "/.well-known/est/crts", {},
                            env().idevid, env().pki + "/mfg-ca.crt", out),
        out);
    EXPECT_EQ(r.code, "");
    expect_peer_on_loopback(refusal("dtls", "the client refused our certificate (--cert): unknown CA"));
}

TEST_F(RefusedHandshakes, HttpsClientFromAnUnknownCaIsLoggedWithItsAddressAndTheReason) {
    Credentials foreign = env().foreign_pledge("https-foreign");
    EXPECT_NE(cacerts_over_https({"--cert", foreign.cert, "--key", foreign.key}), "200");
    expect_peer_on_loopback(
        refusal("https", "does not verify against --client-ca: unknown issuer: CN=https-foreign"));
}

TEST_F(RefusedHandshakes, HttpsClientWithAnExpiredCertificateIsLoggedAsExpired) {
    Credentials stale = env().issue_pledge("https-expired", "mfg-ca", expired());
    EXPECT_NE(cacerts_over_https({"--cert", stale.cert, "--key", stale.key}), "200");
    expect_peer_on_loopback(
        refusal("https", "does not verify against --client-ca: expired: CN=https-expired"));
}

TEST_F(RefusedHandshakes, HttpsClientWithoutCertificateIsLoggedAsSendingNone) {
    EXPECT_NE(cacerts_over_https({}), "200");
    expect_peer_on_loopback(refusal("https", "reason=\"no client certificate\""));
}

}  // namespace
}  // namespace estgw::test
