// The HTTPS front's accept stage: one thread with epoll that accepts connections, refuses them beyond the
// caps (ConnectionCounter), runs each TLS handshake non-blocking, and reads each request head, all under the
// time limits of HttpsLimits; only a connection whose request head is complete goes to a worker (Dispatch).
// Between requests a kept-alive connection comes back here, so an idle or slow client holds a socket and a
// few kilobytes, never a thread. cpp-httplib 0.11.4 has no such stage: its listener hands each accepted
// socket to a thread of its pool, which does the handshake and waits for the request there.
//
// Every refusal and every connection dropped for its time limit is logged as a warning with the peer and
// the reason, at most kLinesPerSecond a second; the rest are counted and summed up in one line.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/file_descriptor.hpp"
#include "common/rate_limiter.hpp"
#include "common/result.hpp"
#include "gateway/connection_counter.hpp"
#include "gateway/https_connection.hpp"
#include "gateway/serve_options.hpp"

namespace estgw::gateway {

class HttpsAcceptor {
  public:
    static constexpr unsigned kLinesPerSecond = 10;
    // Longer request heads are refused: EST requests carry a few short headers, and an RA's forwarded
    // client certificate (a URL-encoded PEM chain) is a few kilobytes.
    static constexpr std::size_t kMaxHeadBytes = 32 * 1024;

    // Called on the accept thread with a connection whose request head is complete; false when it cannot
    // be taken (stopping), and the connection is closed. Otherwise it comes back through give_back().
    using Dispatch = std::function<bool(HttpsConnection&)>;

    // `ctx` (the TLS context, with its verify settings and callbacks) must outlive the acceptor.
    HttpsAcceptor(const HttpsLimits& limits, SSL_CTX* ctx, Dispatch dispatch);
    ~HttpsAcceptor();  // join()
    HttpsAcceptor(const HttpsAcceptor&) = delete;
    HttpsAcceptor& operator=(const HttpsAcceptor&) = delete;

    // Binds and listens on `address` (dual-stack for [::]), with the kernel's largest accept queue.
    Result<void> listen(const ListenAddress& address);
    void start();  // the accept thread

    // From a worker, once it has answered the connection's request: `keep` parks it for the next request
    // (under --https-keepalive-timeout), otherwise it is closed.
    void give_back(HttpsConnection& connection, bool keep);

    // Stops accepting, and closes every connection that is not with a worker; those are closed when they
    // come back.
    void begin_stop();
    // After begin_stop(), once every dispatched connection has come back: ends the thread. Idempotent.
    void join();

  private:
    using Clock = HttpsConnection::Clock;

    void run();
    void serve_ready(std::vector<HttpsConnection*>& ready, Clock::time_point now);
    void accept_all(Clock::time_point now);
    void refuse(FileDescriptor socket, const std::string& peer, ConnectionCounter::Verdict verdict);
    void pause_accepting(Clock::time_point now, int error);
    void on_ready(HttpsConnection& c, Clock::time_point now);
    void read_head(HttpsConnection& c, Clock::time_point now);
    // After a TLS call that did not succeed: true when it waits for the socket (and epoll is told which
    // way), false when the connection is over.
    bool waits(HttpsConnection& c, int ret);
    void hand_to_worker(HttpsConnection& c);
    void take_back(Clock::time_point now);
    void sweep(Clock::time_point now);
    void close(HttpsConnection& c);
    void close_all_idle();
    void drop(HttpsConnection& c, const std::string& reason);
    void warn(const char* event, const std::string& peer, const std::string& reason);
    void flush_unlogged(Clock::time_point now);

    HttpsLimits limits_;
    SSL_CTX* ctx_;
    Dispatch dispatch_;
    FileDescriptor listener_{-1};
    FileDescriptor epoll_{-1};
    FileDescriptor wake_{-1};  // eventfd: give_back(), begin_stop() and join() wake the thread with it
    bool listening_ = false;   // the listener is in the epoll set
    Clock::time_point accept_paused_until_{};

    std::unordered_map<int, std::unique_ptr<HttpsConnection>> connections_;  // by socket
    ConnectionCounter counter_;
    unsigned with_workers_ = 0;
    RateLimiter log_limiter_{kLinesPerSecond, std::chrono::seconds(1)};

    std::mutex returned_mutex_;
    std::vector<std::pair<HttpsConnection*, bool>> returned_;  // from give_back(), with `keep`
    std::atomic<bool> stopping_{false};
    std::atomic<bool> joining_{false};
    std::thread thread_;
};

}  // namespace estgw::gateway
