// Slow and idle clients for the HTTPS front's tests and measurements: TCP connections that never send a byte,
// TLS connections that finish their handshake and then send nothing (or half a request head, or one whole
// request and then nothing). They come from loopback source addresses 127.0.0.2, 127.0.0.3, ... in turn
// (bound before connecting), so that a cap per source address meets each address only a few times while the
// legitimate client keeps 127.0.0.1 to itself. Loopback only, bounded in count and time, every socket closed
// on destruction.
#pragma once

#include <chrono>
#include <memory>
#include <string>

namespace estgw::test {

struct IdleClientsPlan {
    int port = 0;                   // the server's, on 127.0.0.1
    unsigned tcp = 0;               // connect, then silence
    unsigned tls = 0;               // TLS handshake, then silence
    unsigned partial_head = 0;      // TLS handshake, "GET / HTTP/1.1\r\n" and silence: a head that never ends
    unsigned after_request = 0;     // TLS handshake, one request read to its end, then silence (keep-alive)
    unsigned source_addresses = 1;  // 127.0.0.2 .. 127.0.0.(1 + n), connection i from the (i mod n)-th
    std::string ca_file, cert_file, key_file;   // TLS: the server's trust anchors and our client identity
    std::chrono::milliseconds deadline{30000};  // for every connection and handshake together
};

class IdleClients {
  public:
    static constexpr unsigned kMaxConnections = 5000;

    // Opens everything the plan asks for at once and drives the handshakes until all are done or the
    // deadline passes; what did not finish by then is closed and not counted. Throws on a plan beyond
    // kMaxConnections or off loopback's limits.
    explicit IdleClients(const IdleClientsPlan& plan);
    ~IdleClients();  // closes every socket
    IdleClients(const IdleClients&) = delete;
    IdleClients& operator=(const IdleClients&) = delete;

    // What was set up: TCP connections established, and TLS connections whose handshake the server
    // completed (its session ticket arrived) and, for the request kinds, whose request was written (and its
    // answer read to the end).
    unsigned tcp_connected() const;
    unsigned tls_established() const;
    std::chrono::milliseconds setup_time() const;

    // Of those, how many the server has closed by now (it sent FIN or reset).
    unsigned closed_by_server() const;
    // Waits up to `timeout` for closed_by_server() to reach `count`; returns the last count seen.
    unsigned wait_closed(unsigned count, std::chrono::milliseconds timeout) const;

  private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace estgw::test
