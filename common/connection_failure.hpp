// Why a connection to a peer failed (an upstream EST server, a MASA, a CoAP server), in words that say what
// happened and what to check. The caller names the peer and the options that configure the connection to
// it; the wording is shared, so that every client of estgw explains the same failure the same way.
#pragma once

#include <chrono>
#include <string>
#include <variant>

#include "common/file_descriptor.hpp"

namespace estgw {

enum class ConnectionFailureKind {
    NameNotResolved,          // detail: the resolver's words
    Refused,                  // nothing listens on that port
    Unreachable,              // detail: "Network is unreachable", ...
    TimedOut,                 // detail: "within 2 s in the TLS handshake"
    PeerCertificateRejected,  // our check of its certificate failed; detail: why (tls_events.hpp)
    OurCertificateRefused,    // its alert about our certificate; detail: the alert
    CertificateRequired,      // it wants a client certificate and we sent none
    HandshakeFailed,          // detail: the alert or OpenSSL's reason
    Broken,                   // detail: what was going on when the connection broke
};

struct ConnectionFailure {
    ConnectionFailureKind kind = ConnectionFailureKind::Broken;
    std::string detail;
    // What to do about it, appended after "; ". May name options as {address}, {trust}, {identity} or
    // {timeout} (see PeerNaming).
    std::string hint;
};

// The peer and the options that configure the connection to it, as the user writes them.
struct PeerNaming {
    std::string peer;      // "the upstream 192.0.2.1:8443", "the server"
    std::string address;   // "--upstream"
    std::string trust;     // "--upstream-ca": the trust anchors its certificate is checked against
    std::string identity;  // "--upstream-cert": our certificate
    std::string timeout;   // "--upstream-timeout"
};

// "the upstream 192.0.2.1:8443 refused our certificate (--upstream-cert): unknown CA; it does not trust the
// CA that issued --upstream-cert"
std::string describe(const ConnectionFailure& failure, const PeerNaming& naming);

// A TCP socket connected to host:port, in blocking mode; each address the name resolves to is tried in turn
// for at most `limit`. Otherwise why none could be connected (NameNotResolved, Refused, Unreachable,
// TimedOut, Broken).
std::variant<FileDescriptor, ConnectionFailure> connect_tcp(const std::string& host, int port,
                                                            std::chrono::milliseconds limit);

// After a TCP connection to host:port failed without timing out: why, found out by resolving the name and
// connecting once more (waiting at most `limit`). A library that reports every such failure alike
// (cpp-httplib says "Connection") keeps no errno to ask. Broken when the second attempt connects.
ConnectionFailure diagnose_tcp_connect(const std::string& host, int port, std::chrono::milliseconds limit);

}  // namespace estgw
