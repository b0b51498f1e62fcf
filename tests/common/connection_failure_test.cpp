#include "common/connection_failure.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/file_descriptor.hpp"

namespace estgw {
namespace {

const PeerNaming kUpstream{"the upstream 192.0.2.1:8443", "--upstream", "--upstream-ca", "--upstream-cert",
                           "--upstream-timeout"};

TEST(ConnectionFailure, ARefusedConnectionNamesThePeerAndTheAddressOption) {
    EXPECT_EQ(
        describe({ConnectionFailureKind::Refused, "", ""}, kUpstream),
        "the upstream 192.0.2.1:8443: connection refused, nothing listens on that port; check the port in "
        "--upstream and that the server runs");
}

TEST(ConnectionFailure, ARejectedPeerCertificateNamesTheTrustOption) {
    EXPECT_EQ(
        describe({ConnectionFailureKind::PeerCertificateRejected, "expired: CN=x", ""}, kUpstream),
        "the certificate of the upstream 192.0.2.1:8443 does not verify against --upstream-ca: expired: "
        "CN=x");
}

TEST(ConnectionFailure, TheHintNamesTheOptionsToo) {
    EXPECT_EQ(
        describe({ConnectionFailureKind::OurCertificateRefused, "unknown CA",
                  "it does not trust the CA that issued {identity}"},
                 kUpstream),
        "the upstream 192.0.2.1:8443 refused our certificate (--upstream-cert): unknown CA; it does not "
        "trust the CA that issued --upstream-cert");
}

TEST(ConnectionFailure, ATimeoutNamesTheTimeoutOption) {
    EXPECT_NE(
        describe({ConnectionFailureKind::TimedOut, "within 2 s in the TLS handshake", ""}, kUpstream)
            .find("no answer within 2 s in the TLS handshake; check that --upstream names the right server "
                  "and port, or raise --upstream-timeout"),
        std::string::npos);
}

// A TCP socket bound to a loopback port, listening when asked: the port is ours, so nobody else answers.
struct LoopbackPort {
    explicit LoopbackPort(bool listening) : fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), length), 0);
        if (listening) {
            EXPECT_EQ(::listen(fd.get(), 4), 0);
        }
        EXPECT_EQ(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length), 0);
        port = ntohs(address.sin_port);
    }
    FileDescriptor fd;
    int port = 0;
};

TEST(ConnectionFailure, APortNobodyListensOnIsDiagnosedAsRefused) {
    LoopbackPort bound(false);
    EXPECT_EQ(diagnose_tcp_connect("127.0.0.1", bound.port, std::chrono::seconds(2)).kind,
              ConnectionFailureKind::Refused);
}

// RFC 6761 §6.4: names under .invalid never resolve.
TEST(ConnectionFailure, AnInvalidNameIsDiagnosedAsNotResolving) {
    ConnectionFailure failure = diagnose_tcp_connect("nonexistent.invalid", 443, std::chrono::seconds(2));
    EXPECT_EQ(failure.kind, ConnectionFailureKind::NameNotResolved);
    EXPECT_FALSE(failure.detail.empty());
}

TEST(ConnectionFailure, APortThatAcceptsNowIsDiagnosedAsATransientBreak) {
    LoopbackPort listening(true);
    ConnectionFailure failure = diagnose_tcp_connect("127.0.0.1", listening.port, std::chrono::seconds(2));
    EXPECT_EQ(failure.kind, ConnectionFailureKind::Broken);
    EXPECT_NE(failure.detail.find("a second attempt connected"), std::string::npos) << failure.detail;
}

TEST(ConnectionFailure, ConnectTcpGivesABlockingSocketToAListeningPort) {
    LoopbackPort listening(true);
    auto connected = connect_tcp("localhost", listening.port, std::chrono::seconds(2));
    ASSERT_TRUE(std::holds_alternative<FileDescriptor>(connected));
    const int fd = std::get<FileDescriptor>(connected).get();
    ASSERT_GE(fd, 0);
    EXPECT_EQ(::fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
}

}  // namespace
}  // namespace estgw
