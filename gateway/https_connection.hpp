// One client connection of the HTTPS front (gateway/https_acceptor.hpp) and the stream a worker reads its
// request from. The accept thread owns every connection; it lends one to a worker only once a whole request
// head has arrived, so that no worker ever waits for a client that has not sent its request yet.
#pragma once

#include <httplib.h>
#include <sys/socket.h>

#include <chrono>
#include <string>

#include "common/file_descriptor.hpp"
#include "common/openssl.hpp"

namespace estgw::gateway {

// "192.0.2.1" or "2001:db8::1" (as cpp-httplib's req.remote_addr) and the port of a socket address.
struct IpAndPort {
    std::string ip;
    int port = -1;
    std::string text() const;  // "192.0.2.1:443", "[2001:db8::1]:443"
};
IpAndPort ip_and_port(const sockaddr_storage& address);

struct HttpsConnection {
    using Clock = std::chrono::steady_clock;
    enum class Phase {
        Handshake,   // TLS handshake under --https-handshake-timeout
        Head,        // a request head under way, under --https-header-timeout
        Idle,        // between requests, under --https-keepalive-timeout
        WithWorker,  // a worker is answering its request: the accept thread does not touch it
    };

    HttpsConnection(FileDescriptor socket, SslPtr tls, std::string source_key, IpAndPort address);

    FileDescriptor fd;
    SslPtr ssl;
    std::string source_key;  // what ConnectionCounter counts it under
    std::string ip;          // without brackets, as cpp-httplib's req.remote_addr
    int port = 0;
    std::string peer;  // IpAndPort::text(), for log lines and refused_handshakes

    Phase phase = Phase::Handshake;
    Clock::time_point deadline;
    bool wants_write = false;  // the last TLS call waits for the socket to take data, not to bring some
    unsigned requests = 0;     // answered on this connection

    // What was read ahead of the worker: the request head, and whatever followed it in the same records.
    std::string input;
    std::size_t consumed = 0;  // of `input`, already handed to cpp-httplib
    std::size_t scanned = 0;   // of `input`, known not to hold the end of the head

    // True when `input` holds the whole head of the next request (up to its empty line). Each call looks
    // only at what arrived since the last one, so a head trickling in byte by byte costs no more to scan.
    bool has_complete_head();
    std::size_t unconsumed() const { return input.size() - consumed; }
    void drop_consumed();
};

// What a worker gives cpp-httplib to parse, route and answer one request: the bytes read ahead first, then
// the TLS connection itself, non-blocking underneath, every wait bounded. The body must arrive within
// `timeout` of the stream's creation, and the answer must be taken within `timeout` of its first byte.
class HttpsStream : public httplib::Stream {
  public:
    HttpsStream(HttpsConnection& connection, std::chrono::seconds timeout);

    bool is_readable() const override;
    bool is_writable() const override;
    ssize_t read(char* ptr, size_t size) override;
    ssize_t write(const char* ptr, size_t size) override;
    void get_remote_ip_and_port(std::string& ip, int& port) const override;
    void get_local_ip_and_port(std::string& ip, int& port) const override;
    socket_t socket() const override;

  private:
    using Clock = HttpsConnection::Clock;
    // Waits until the socket is readable (or writable) or `deadline` passes; false on the deadline.
    bool wait(bool for_write, Clock::time_point deadline) const;

    HttpsConnection& c_;
    std::chrono::seconds timeout_;
    Clock::time_point read_deadline_;
    Clock::time_point write_deadline_{};  // set by the first write
};

}  // namespace estgw::gateway
