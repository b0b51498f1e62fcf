// A DTLS client that starts over from an address:port that still has a server session: a rebooted pledge
// reusing its source port, or a new client given the port of one that vanished without a close_notify.
//
// libcoap 4.3.1 routes every datagram by source address:port alone and feeds a new ClientHello to the old
// session's SSL, where OpenSSL drops it (a record of epoch 0 on an established association, or an old
// message sequence in a handshake). Each retry refreshes the old session's idle time, so the address stays
// locked out for good: no HelloVerifyRequest is ever sent. RFC 6347 §4.2.8 expects the server to start a
// new association instead.
//
// This watch reads the header of every record a server session receives (OpenSSL's message callback sees it
// before its own epoch and sequence checks). DTLS numbers records afresh for every transmission, so an
// epoch-0 handshake record whose sequence number is not above the highest epoch-0 number the session has
// already received is no retransmission of this association: someone has started a new one from the
// session's address. Then (outside OpenSSL, after libcoap's processing returns):
//   - a session still in its handshake is no association yet: it is closed at once;
//   - an established session is not destroyed on the word of one unauthenticated datagram (RFC 6347 §4.2.8:
//     not before the newcomer has shown it is reachable, which libcoap gives us no way to check). It gets a
//     CoAP ping (RFC 7252 §4.3) inside the association instead: a live peer answers within the probe window
//     and keeps its session (the ClientHello was spoofed or stray); a peer that is gone (the rebooted pledge
//     cannot decrypt the ping) does not, and the session is closed. The client's next ClientHello then gets
//     the usual cookie exchange.
#pragma once

#include <coap3/coap.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace estgw::gateway {

class DtlsNewAssociationWatch {
  public:
    using Clock = std::chrono::steady_clock;
    // Long enough for the first retransmission of the ping (RFC 7252 §4.8: ACK_TIMEOUT 2 s, random factor
    // 1.5), short enough that the new client's retransmitted ClientHellos (1, 2, 4, 8 s apart) still fit in
    // a pledge's handshake budget.
    static constexpr std::chrono::seconds kProbeWindow{5};

    // Watches the records `ssl` receives for `session` (call from libcoap's TLS set-up callback).
    void watch(SSL* ssl, coap_session_t* session);

    struct Actions {
        std::vector<coap_session_t*> probe;  // send each a CoAP ping now
        std::vector<coap_session_t*> close;  // close each: a new association may begin
    };
    // What to do now about sessions whose address saw a new ClientHello: probes to start, and sessions to
    // close (in their handshake, or established without answering their probe within kProbeWindow).
    Actions due(Clock::time_point now);
    // The session's peer answered the probe (the RST to the ping): it stays. False when none was pending.
    bool answered(coap_session_t* session);
    // The session is gone (libcoap's session-deleted or DTLS-closed event).
    void forget(coap_session_t* session);

  private:
    static void on_message(int write_p, int version, int content_type, const void* buf, size_t len, SSL* ssl,
                           void* arg);
    void on_record_header(coap_session_t* session, bool established, const unsigned char* header);

    // Highest epoch-0 record sequence number received per session; 0 until one arrives, since record 0 (the
    // first ClientHello) went to libcoap's stateless hello handling, never to a session.
    std::unordered_map<coap_session_t*, std::uint64_t> highest_epoch0_;
    std::unordered_map<coap_session_t*, bool> restarted_;  // → established when the ClientHello came
    std::unordered_map<coap_session_t*, Clock::time_point> probing_;  // → when the probe gives up
};

}  // namespace estgw::gateway
