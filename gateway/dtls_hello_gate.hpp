// Answers DTLS ClientHellos ahead of libcoap, so that a flood of them costs no per-client state.
//
// libcoap 4.3.1 creates a session for every ClientHello from a new address, before the cookie exchange, and
// counts it against the handshake limit for 30 s (src/coap_session.c, coap_endpoint_get_session): a burst
// of cookie-less ClientHellos from fresh ports locked legitimate pledges out. The gate reads each listening
// socket before libcoap does (MSG_PEEK), answers every ClientHello that lacks a valid cookie itself with a
// HelloVerifyRequest (RFC 6347 §4.2.1, common/dtls_hello.hpp), drops malformed ones, and leaves everything
// else in the socket for libcoap — a ClientHello with our valid cookie included, unless its address already
// has --max-handshakes-per-address handshakes running. libcoap's own cookie check is replaced by one that
// accepts exactly the cookie the gate checked for the datagram it let through (install_cookie_check, on
// libcoap's SSL_CTX, which CoapFront finds with a handshake to itself at start: dtls_self_handshake.hpp).
//
// It also bounds the handshakes libcoap runs: each ends after --handshake-timeout, and when
// --max-handshakes are running the oldest gives way to a new one with a valid cookie.
#pragma once

#include <coap3/coap.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <vector>

#include "common/dtls_hello.hpp"
#include "common/log_throttle.hpp"
#include "gateway/dtls_handshakes.hpp"

namespace estgw::gateway {

struct HandshakeLimits {
    unsigned max_handshakes = 1000;
    unsigned max_per_address = 16;
    std::chrono::seconds timeout{8};
};

class DtlsHelloGate {
  public:
    explicit DtlsHelloGate(HandshakeLimits limits);
    DtlsHelloGate(const DtlsHelloGate&) = delete;
    DtlsHelloGate& operator=(const DtlsHelloGate&) = delete;

    void watch_socket(int fd) { sockets_.push_back(fd); }
    // Puts the gate's cookie check on libcoap's DTLS context; the gate answers ClientHellos from then on.
    void install_cookie_check(SSL_CTX* ctx);
    bool active() const { return active_; }

    // Takes the watched sockets out of libcoap's epoll set (coap_context_get_coap_fd): from then on libcoap
    // reads one only while the gate has it armed. Without this, libcoap could read a datagram that arrived
    // after the gate looked (under a flood it did, and each such ClientHello held a handshake slot).
    // The registration libcoap made (its socket pointer) is read from /proc/self/fdinfo (proc(5)) and kept.
    // False when it cannot be read; the gate then only filters, which leaves that race open.
    bool take_over(int libcoap_epoll_fd);
    const std::vector<int>& sockets() const { return sockets_; }

    // Handles the ClientHellos at the head of every watched socket, up to the first datagram that is
    // libcoap's, and arms the sockets whose next datagram is libcoap's. Call coap_io_process (which reads
    // one datagram per ready socket) and then disarm().
    void filter(std::chrono::steady_clock::time_point now);
    void disarm();

    // libcoap's session events (CoapFront::handle_event).
    void session_started(coap_session_t* session, std::chrono::steady_clock::time_point now);
    void session_connected(coap_session_t* session) { handshakes_.ended(session); }
    void session_gone(coap_session_t* session) { handshakes_.ended(session); }

    // Ends the handshakes older than the handshake timeout (outside libcoap's processing).
    void expire(std::chrono::steady_clock::time_point now);

    // --io-threads: the limits count the handshakes of every I/O thread's gate (HandshakeTotals). When the
    // total is reached and none of it is this gate's, a new ClientHello is dropped instead of evicting.
    // Call before the first handshake.
    void share_totals(HandshakeTotals* totals) {
        totals_ = totals;
        handshakes_.share(totals);
    }

    std::size_t handshakes() const { return handshakes_.total(); }
    std::size_t all_handshakes() const { return handshakes_.all_total(); }
    bool handshaking(coap_session_t* session) const { return handshakes_.contains(session); }

    // True when many handshakes have ended since the last time it said so and their memory should go back
    // to the system (malloc_trim): glibc keeps the freed heap of thousands of abandoned handshakes otherwise
    // (measured: 88 MB resident after 5 000, 14 MB after a trim, against 13.6 MB before the flood).
    bool memory_to_return(std::chrono::steady_clock::time_point now);

    struct Counters {
        std::uint64_t verify_requests = 0, passed = 0, malformed = 0, refused_per_address = 0, evicted = 0,
                      expired = 0, refused_total = 0;
    };
    const Counters& counters() const { return counters_; }

  private:
    enum class Verdict { LibcoapsTurn, Consumed, Empty };
    Verdict filter_one(int fd, std::chrono::steady_clock::time_point now);
    void end(coap_session_t* session);
    void report(std::chrono::steady_clock::time_point now);
    void set_libcoap_events(std::size_t index, std::uint32_t events);
    static int check_cookie(SSL* ssl, const unsigned char* cookie, unsigned int length);

    HandshakeLimits limits_;
    dtls_hello::CookieJar cookies_;
    std::vector<int> sockets_;
    int libcoap_epoll_fd_ = -1;                 // after take_over
    std::vector<std::uint64_t> registrations_;  // libcoap's epoll data for each of sockets_
    std::vector<std::size_t> armed_;            // indexes into sockets_
    bool active_ = false;
    bool accept_cookie_in_hand_ = false;
    Bytes passed_peer_;  // the address and port of the ClientHello last left for libcoap
    DtlsHandshakes handshakes_;
    HandshakeTotals own_totals_;
    HandshakeTotals* totals_ = &own_totals_;
    // The ClientHellos (peer, address) left for libcoap in this pass whose handshakes totals_ already counts
    // (reserve); each becomes its session's in session_started, and disarm() gives back those that did not.
    std::vector<std::pair<Bytes, Bytes>> reserved_;
    Counters counters_, reported_;
    std::uint64_t ended_at_last_trim_ = 0, ended_at_last_calm_trim_ = 0;
    std::chrono::steady_clock::time_point last_trim_{}, last_end_{};
    std::chrono::steady_clock::time_point next_report_{};
    log::Throttle throttle_;
};

// The client's address (family, IP) and transport address (family, IP, port) as opaque bytes.
Bytes address_key(const sockaddr* address);
Bytes peer_key(const sockaddr* address);

}  // namespace estgw::gateway
