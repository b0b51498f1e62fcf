#include "gateway/dtls_hello_gate.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <utility>

#include "common/log.hpp"

namespace estgw::gateway {

namespace {

int gate_index() {
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

std::uint64_t monotonic_seconds(std::chrono::steady_clock::time_point now) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
}

Bytes key(const sockaddr* address, bool with_port) {
    // family, IP address, port: at most 1 + 16 + 2 bytes
    std::uint8_t out[1 + 16 + 2] = {static_cast<std::uint8_t>(address->sa_family)};
    std::size_t length = 1;
    auto append = [&](const void* p, std::size_t n) {
        std::memcpy(out + length, p, n);
        length += n;
    };
    if (address->sa_family == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
        append(&v6->sin6_addr, sizeof v6->sin6_addr);
        if (with_port) append(&v6->sin6_port, sizeof v6->sin6_port);
    } else if (address->sa_family == AF_INET) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
        append(&v4->sin_addr, sizeof v4->sin_addr);
        if (with_port) append(&v4->sin_port, sizeof v4->sin_port);
    }
    return Bytes(out, out + length);
}

std::string address_text(const sockaddr* address) {
    char text[INET6_ADDRSTRLEN] = "?";
    if (address->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, text, sizeof text);
    } else if (address->sa_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, text, sizeof text);
    }
    return text;
}

// Reads the datagram at the head of `fd` and throws it away.
void discard(int fd) {
    std::uint8_t byte;
    while (::recv(fd, &byte, 1, MSG_DONTWAIT | MSG_TRUNC) < 0 && errno == EINTR) {
    }
}

}  // namespace

Bytes address_key(const sockaddr* address) {
    return key(address, false);
}

Bytes peer_key(const sockaddr* address) {
    return key(address, true);
}

DtlsHelloGate::DtlsHelloGate(HandshakeLimits limits) : limits_(limits) {
    handshakes_.share(totals_);  // its own until share_totals
}

void DtlsHelloGate::install_cookie_check(SSL_CTX* ctx) {
    if (active_) return;
    SSL_CTX_set_ex_data(ctx, gate_index(), this);
    SSL_CTX_set_cookie_verify_cb(ctx, check_cookie);
    active_ = true;
    // OpenSSL calls libcoap's set-up (where this runs) before it checks the cookie of the ClientHello in
    // hand, which passed libcoap's own cookie exchange: that one check is now ours, and must accept it.
    accept_cookie_in_hand_ = true;
}

// OpenSSL asks this for every ClientHello with a cookie that libcoap reads: in DTLSv1_listen and again in
// the new session's handshake. libcoap reads exactly the datagram the gate left for it last, so the cookie
// is checked against that datagram's source.
int DtlsHelloGate::check_cookie(SSL* ssl, const unsigned char* cookie, unsigned int length) {
    auto* gate = static_cast<DtlsHelloGate*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), gate_index()));
    if (!gate) return 0;
    if (std::exchange(gate->accept_cookie_in_hand_, false)) return 1;
    if (gate->passed_peer_.empty()) return 0;
    return gate->cookies_.check(gate->passed_peer_, ByteView(cookie, length),
                                monotonic_seconds(std::chrono::steady_clock::now()))
               ? 1
               : 0;
}

void DtlsHelloGate::filter(std::chrono::steady_clock::time_point now) {
    if (!active_) return;
    // Each socket until it is empty or its next datagram is libcoap's.
    for (std::size_t i = 0; i < sockets_.size(); ++i) {
        Verdict verdict;
        while ((verdict = filter_one(sockets_[i], now)) == Verdict::Consumed) {
        }
        if (verdict == Verdict::LibcoapsTurn && libcoap_epoll_fd_ >= 0) {
            set_libcoap_events(i, EPOLLIN);
            armed_.push_back(i);
        }
    }
    throttle_.flush(now);
    report(now);
}

void DtlsHelloGate::disarm() {
    for (std::size_t i : armed_)
        set_libcoap_events(i, 0);
    armed_.clear();
    for (const auto& [peer, address] : reserved_)
        totals_->ended(address);
    reserved_.clear();
}

void DtlsHelloGate::set_libcoap_events(std::size_t index, std::uint32_t events) {
    epoll_event event{};
    event.events = events;
    event.data.u64 = registrations_[index];
    if (epoll_ctl(libcoap_epoll_fd_, EPOLL_CTL_MOD, sockets_[index], &event) != 0) {
        log::error("dtls-hello-gate", {{"reason", std::string("epoll_ctl: ") + std::strerror(errno)}});
    }
}

bool DtlsHelloGate::take_over(int libcoap_epoll_fd) {
    // Lines such as "tfd:        9 events:       19 data:     55f6fe2e7d58  pos:0 ino:..." (hex data).
    std::ifstream info("/proc/self/fdinfo/" + std::to_string(libcoap_epoll_fd));
    std::map<int, std::uint64_t> registered;
    std::string line;
    while (std::getline(info, line)) {
        int fd = -1;
        unsigned events = 0;
        unsigned long long data = 0;
        if (std::sscanf(line.c_str(), "tfd: %d events: %x data: %llx", &fd, &events, &data) == 3)
            registered[fd] = data;
    }
    std::vector<std::uint64_t> found;
    for (int fd : sockets_) {
        auto it = registered.find(fd);
        if (it == registered.end()) return false;
        found.push_back(it->second);
    }
    libcoap_epoll_fd_ = libcoap_epoll_fd;
    registrations_ = std::move(found);
    for (std::size_t i = 0; i < sockets_.size(); ++i)
        set_libcoap_events(i, 0);
    return true;
}

// One info line per 10 s while ClientHellos are being answered, refused or ended: what an operator under
// attack wants to see, at a bounded cost.
void DtlsHelloGate::report(std::chrono::steady_clock::time_point now) {
    if (now < next_report_) return;
    next_report_ = now + std::chrono::seconds(10);
    const Counters& c = counters_;
    if (c.verify_requests == reported_.verify_requests &&
        c.refused_per_address == reported_.refused_per_address && c.evicted == reported_.evicted &&
        c.expired == reported_.expired && c.malformed == reported_.malformed &&
        c.refused_total == reported_.refused_total) {
        return;
    }
    log::info("dtls-handshakes",
              {{"in_progress", handshakes_.total()},
               {"verify_requests", c.verify_requests - reported_.verify_requests},
               {"cookies_accepted", c.passed - reported_.passed},
               {"refused_per_address", c.refused_per_address - reported_.refused_per_address},
               {"refused_total", c.refused_total - reported_.refused_total},
               {"evicted", c.evicted - reported_.evicted},
               {"timed_out", c.expired - reported_.expired},
               {"malformed", c.malformed - reported_.malformed},
               {"period_s", 10}});
    reported_ = c;
}

DtlsHelloGate::Verdict DtlsHelloGate::filter_one(int fd, std::chrono::steady_clock::time_point now) {
    std::uint8_t buffer[4096];
    sockaddr_storage from{};
    socklen_t from_length = sizeof from;
    ssize_t n = ::recvfrom(fd, buffer, sizeof buffer, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC,
                           reinterpret_cast<sockaddr*>(&from), &from_length);
    if (n < 0) return errno == EINTR ? Verdict::Consumed : Verdict::Empty;
    // A datagram longer than the buffer is seen cut short, and a ClientHello cut short is malformed.
    const ByteView datagram(buffer, std::min(static_cast<std::size_t>(n), sizeof buffer));
    const auto classified = dtls_hello::classify(datagram);
    if (classified.kind == dtls_hello::Kind::Other) return Verdict::LibcoapsTurn;

    const auto* source = reinterpret_cast<const sockaddr*>(&from);
    Bytes peer = peer_key(source);
    const std::uint64_t seconds = monotonic_seconds(now);
    if (classified.kind == dtls_hello::Kind::ClientHello &&
        cookies_.check(peer, classified.hello.cookie, seconds)) {
        if (!handshakes_.in_progress(peer)) {
            const Bytes address = address_key(source);
            using Admission = HandshakeTotals::Admission;
            auto admission = totals_->reserve(address, limits_.max_handshakes, limits_.max_per_address);
            if (admission == Admission::TotalFull) {
                if (auto* oldest = static_cast<coap_session_t*>(handshakes_.oldest())) {
                    ++counters_.evicted;
                    if (throttle_.admit("dtls-handshake-evicted", now)) {
                        log::warn("dtls-handshake-evicted",
                                  {{"reason", "--max-handshakes reached: the oldest handshake gives way"},
                                   {"limit", limits_.max_handshakes}});
                    }
                    end(oldest);
                    admission = totals_->reserve(address, limits_.max_handshakes, limits_.max_per_address);
                }
            }
            if (admission == Admission::AddressFull) {
                discard(fd);
                ++counters_.refused_per_address;
                if (throttle_.admit("dtls-handshake-refused", now)) {
                    log::warn("dtls-handshake-refused",
                              {{"peer", address_text(source)},
                               {"reason", "too many handshakes from this address at once"},
                               {"limit", limits_.max_per_address},
                               {"option", "--max-handshakes-per-address"}});
                }
                return Verdict::Consumed;
            }
            if (admission == Admission::TotalFull) {
                // The limit is a total (--io-threads) and the handshakes holding it are other I/O threads',
                // which only they can end: they are asked to end their oldest (expire()), and this one is
                // dropped. Its client sends the ClientHello again after its retransmission timeout (1 s),
                // by when the place is free.
                totals_->want_eviction(limits_.max_handshakes);
                discard(fd);
                ++counters_.refused_total;
                if (throttle_.admit("dtls-handshake-refused-total", now)) {
                    log::warn("dtls-handshake-refused",
                              {{"peer", address_text(source)},
                               {"reason",
                                "--max-handshakes reached, all of them on other I/O threads: asked them to "
                                "end their oldest"},
                               {"limit", limits_.max_handshakes},
                               {"option", "--max-handshakes"}});
                }
                return Verdict::Consumed;
            }
            reserved_.emplace_back(peer, address);
        }
        passed_peer_ = std::move(peer);
        ++counters_.passed;
        return Verdict::LibcoapsTurn;
    }

    discard(fd);
    if (classified.kind == dtls_hello::Kind::MalformedClientHello) {
        ++counters_.malformed;
        if (throttle_.admit("dtls-client-hello-malformed", now)) {
            log::debug("dtls-client-hello-malformed", {{"peer", address_text(source)}, {"bytes", n}});
        }
        return Verdict::Consumed;
    }
    if (classified.kind == dtls_hello::Kind::ClientHello && classified.hello.cookie.empty()) {
        // A handshake from this address and port is past its cookie exchange, where its client never sends a
        // ClientHello without the cookie again: this is a new client on that port (RFC 6347 §4.2.8). Left in
        // place, the old handshake would take the new ClientHello for a retransmission of the old one.
        if (auto* old = static_cast<coap_session_t*>(handshakes_.session_from(peer))) {
            if (throttle_.admit("dtls-new-association", now)) {
                log::info("dtls-new-association",
                          {{"peer", address_text(source)},
                           {"action",
                            "a ClientHello without cookie came from the address of a handshake in "
                            "progress: ending that handshake (RFC 6347 §4.2.8)"}});
            }
            end(old);
        }
    }
    // No cookie, or one that is not (or no longer) ours: RFC 6347 §4.2.1, answer with a fresh one.
    const auto cookie = cookies_.make(peer, seconds);
    const Bytes reply = dtls_hello::hello_verify_request(classified.hello, cookie);
    ::sendto(fd, reply.data(), reply.size(), MSG_DONTWAIT, source, from_length);
    ++counters_.verify_requests;
    return Verdict::Consumed;
}

void DtlsHelloGate::session_started(coap_session_t* session, std::chrono::steady_clock::time_point now) {
    const coap_address_t* remote = coap_session_get_addr_remote(session);
    if (!remote) return;
    Bytes peer = peer_key(&remote->addr.sa);
    auto reservation = std::find_if(reserved_.begin(), reserved_.end(),
                                    [&](const auto& reserved) { return reserved.first == peer; });
    const bool reserved = reservation != reserved_.end();
    if (reserved) reserved_.erase(reservation);
    handshakes_.started(session, address_key(&remote->addr.sa), std::move(peer), now, reserved);
}

void DtlsHelloGate::end(coap_session_t* session) {
    handshakes_.ended(session);
    last_end_ = std::chrono::steady_clock::now();
    // The SSL and its handshake buffers go now; libcoap frees the session (state NONE, no reference) when
    // it next prepares its I/O, and reports it with COAP_EVENT_SERVER_SESSION_DEL.
    coap_session_disconnected(session, COAP_NACK_TLS_FAILED);
}

void DtlsHelloGate::expire(std::chrono::steady_clock::time_point now) {
    // Other I/O threads' new handshakes that found --max-handshakes held here (HandshakeTotals).
    while (handshakes_.oldest() && totals_->claim_eviction(limits_.max_handshakes)) {
        ++counters_.evicted;
        end(static_cast<coap_session_t*>(handshakes_.oldest()));
    }
    for (auto* session : handshakes_.expired(now, limits_.timeout)) {
        ++counters_.expired;
        log::debug("dtls-handshake-timeout", {{"timeout_s", limits_.timeout.count()}});
        end(static_cast<coap_session_t*>(session));
    }
}

bool DtlsHelloGate::memory_to_return(std::chrono::steady_clock::time_point now) {
    const std::uint64_t ended = counters_.expired + counters_.evicted;
    // While many end (a flood): at most every 5 s. When the last has ended: once more, a second later, when
    // libcoap has freed the sessions too (it does on its next pass after they end).
    const bool many = ended - ended_at_last_trim_ >= 256 && now - last_trim_ >= std::chrono::seconds(5);
    const bool calm = ended != ended_at_last_calm_trim_ && handshakes_.total() == 0 &&
                      now - last_end_ >= std::chrono::seconds(1);
    if (!many && !calm) return false;
    ended_at_last_trim_ = ended;
    if (calm) ended_at_last_calm_trim_ = ended;
    last_trim_ = now;
    return true;
}

}  // namespace estgw::gateway
