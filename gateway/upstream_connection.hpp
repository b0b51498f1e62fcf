// One kept-alive HTTPS/1.1 connection to the upstream, written on OpenSSL directly rather than cpp-httplib:
// cpp-httplib 0.11 writes a request's headers and its body in two TLS records, and reads with no way to
// re-arm TCP_QUICKACK, so a server that writes its answer in two pieces with Nagle's algorithm on (cisco/
// libest, and many others) made every answer wait ~40 ms for the gateway's delayed ACK (issue 18).
//
// Here each request leaves in one SSL_write, the socket has TCP_NODELAY, and TCP_QUICKACK is set again
// before every wait for the answer and after every read (Linux clears it as it pleases), so the server's
// second piece never waits for our ACK. The socket is non-blocking: every wait is a poll() ending by the
// request's deadline, and abort() (another thread's shutdown() of the socket) ends it at once.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include "common/connection_failure.hpp"
#include "common/file_descriptor.hpp"
#include "common/openssl.hpp"
#include "mapping/http_message.hpp"

namespace estgw::gateway {

// What went wrong in one exchange. `nothing_received`: the connection failed before a byte of the answer
// came, so a server that had closed an idle kept-alive connection never saw the request.
struct ExchangeFailure {
    ConnectionFailure failure;
    bool nothing_received = false;
};

// The socket of a connection, shut down from another thread by abort(). Its descriptor is set and cleared
// under the mutex, so a shutdown never reaches a number the connection has closed and the system reused.
struct AbortableSocket {
    std::mutex mutex;
    int fd = -1;
    bool aborted = false;  // set by abort(): every later connection is shut down as soon as it exists
    void abort();
};

class UpstreamConnection {
  public:
    using Clock = std::chrono::steady_clock;

    explicit UpstreamConnection(std::shared_ptr<AbortableSocket> socket) : socket_(std::move(socket)) {}
    ~UpstreamConnection() { close(); }
    UpstreamConnection(const UpstreamConnection&) = delete;
    UpstreamConnection& operator=(const UpstreamConnection&) = delete;

    bool is_open() const { return ssl_ != nullptr; }
    // An open connection the server has closed (or sent something unasked on) since its last answer.
    bool closed_by_peer() const;
    void close();

    // TCP connection and TLS handshake with `ctx` (its verification and host check configured by the
    // caller), ending by `deadline`. `within` words the time limit in messages: "within 30 s ".
    std::optional<ConnectionFailure> open(SSL_CTX* ctx, const std::string& host, int port,
                                          Clock::time_point deadline, const std::string& within);

    // Sends `request` (complete HTTP/1.1 bytes) in one write and reads the answer. After a failure the
    // connection is closed. The connection stays open when the server keeps it alive.
    std::variant<mapping::HttpResponse, ExchangeFailure> exchange(const std::string& request,
                                                                  Clock::time_point deadline,
                                                                  const std::string& within);

    // True while the connection's TLS handshake was this thread's last: a TLS 1.3 refusal of our
    // certificate may still be on its way (see probe_tls_refusal).
    bool just_handshaken() const { return just_handshaken_; }

  private:
    enum class Wait { Ready, TimedOut, Failed };
    Wait wait_for(short events, Clock::time_point deadline) const;
    void quick_ack() const;
    // Reads more of the answer into buffer_. End: the server closed the connection; Failed: anything else
    // (a timeout, a TLS error). Both set `failure`.
    enum class Read { Data, End, Failed };
    Read read_more(Clock::time_point deadline, const std::string& within, ExchangeFailure& failure);

    std::shared_ptr<AbortableSocket> socket_;
    FileDescriptor fd_{-1};
    SslPtr ssl_;
    std::string buffer_;  // bytes read past the last answer (none, for a well-behaved server)
    bool just_handshaken_ = false;
};

// The HTTP/1.1 bytes of `request` for `host_header`, with Content-Length, as one buffer.
std::string serialize_request(const mapping::HttpRequest& request, const std::string& host_header);

}  // namespace estgw::gateway
