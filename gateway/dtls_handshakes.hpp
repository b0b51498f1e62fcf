// The DTLS handshakes in progress on the CoAP front, by session: how many there are in all and from one
// address, which is the oldest, and which have run longer than the handshake timeout. A handshake starts
// when libcoap creates a server session (only ClientHellos with a valid cookie get that far, see
// dtls_hello_gate.hpp) and ends when it connects, fails or the session goes away.
//
// Sessions are opaque here (libcoap's coap_session_t*), so that the bookkeeping is tested without sockets.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "common/bytes.hpp"

namespace estgw::gateway {

// The handshakes in progress on every I/O thread (--io-threads): each thread's DtlsHandshakes adds its own,
// so that --max-handshakes and --max-handshakes-per-address are totals of the process. A lock per handshake
// start and end costs nothing next to the handshake.
class HandshakeTotals {
  public:
    enum class Admission { Admitted, AddressFull, TotalFull };
    // Counts a handshake about to start from `address` unless either limit is reached (checked and counted
    // under one lock, so that two threads cannot both take the last place). Undo with ended().
    Admission reserve(const Bytes& address, std::size_t max_total, std::size_t max_per_address);
    void started(const Bytes& address);
    void ended(const Bytes& address);
    // A front whose new handshake found the total reached while none of it was its own asks the others to
    // end their oldest (at most `cap` requests pending); a front with handshakes claims one request at a
    // time. Requests lapse once the total is below `max_total` again.
    void want_eviction(std::size_t cap);
    bool claim_eviction(std::size_t max_total);
    std::size_t total() const;
    std::size_t from_address(const Bytes& address) const;

  private:
    mutable std::mutex mutex_;
    std::size_t total_ = 0, evictions_wanted_ = 0;
    std::map<Bytes, std::size_t> per_address_;
};

class DtlsHandshakes {
  public:
    using Clock = std::chrono::steady_clock;
    using Session = void*;

    // `address`: the client's IP address alone; `peer`: address and port (one handshake each).
    // `reserved`: the shared totals already count it (HandshakeTotals::reserve).
    void started(Session session, Bytes address, Bytes peer, Clock::time_point now, bool reserved = false);
    void ended(Session session);  // connected, failed, or gone; unknown sessions are ignored

    // Reports every start and end to `totals` too (which must outlive this), and all_total() and
    // all_from_address() read them from there.
    void share(HandshakeTotals* totals) { totals_ = totals; }

    std::size_t total() const { return sessions_.size(); }
    std::size_t all_total() const { return totals_ ? totals_->total() : total(); }
    std::size_t all_from_address(const Bytes& address) const {
        return totals_ ? totals_->from_address(address) : from_address(address);
    }
    bool contains(Session session) const { return sessions_.count(session) != 0; }
    std::size_t from_address(const Bytes& address) const;
    bool in_progress(const Bytes& peer) const { return peers_.count(peer) != 0; }
    Session session_from(const Bytes& peer) const;  // nullptr when none
    Session oldest() const;                         // nullptr when there is none
    // The handshakes that started `timeout` or longer before `now`, oldest first.
    std::vector<Session> expired(Clock::time_point now, Clock::duration timeout) const;

  private:
    struct Entry {
        Bytes address, peer;
        Clock::time_point started;
    };
    std::unordered_map<Session, Entry> sessions_;
    std::multimap<Clock::time_point, Session> by_start_;
    std::map<Bytes, std::size_t> per_address_;
    std::map<Bytes, Session> peers_;
    HandshakeTotals* totals_ = nullptr;
};

}  // namespace estgw::gateway
