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
// already received is no retransmission of this association: the peer has started a new one. The session is
// then closed (outside OpenSSL, after libcoap's processing returns) and the client's next ClientHello gets
// the usual cookie exchange. The cost, which RFC 6347 §4.2.8 accepts for a cookie-less design: an attacker
// able to send datagrams from a pledge's address can end its session, after which the pledge handshakes
// again.
#pragma once

#include <coap3/coap.h>
#include <openssl/ssl.h>

#include <cstdint>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace estgw::gateway {

class DtlsNewAssociationWatch {
  public:
    // Watches the records `ssl` receives for `session` (call from libcoap's TLS set-up callback).
    void watch(SSL* ssl, coap_session_t* session);
    // The sessions whose peer started over since the last call, each once.
    std::vector<coap_session_t*> take_restarted();
    // The session is gone (libcoap's session-deleted or DTLS-closed event).
    void forget(coap_session_t* session);

  private:
    static void on_message(int write_p, int version, int content_type, const void* buf, size_t len, SSL* ssl,
                           void* arg);
    void on_record_header(coap_session_t* session, const unsigned char* header);

    // Highest epoch-0 record sequence number received per session; 0 until one arrives, since record 0 (the
    // first ClientHello) went to libcoap's stateless hello handling, never to a session.
    std::unordered_map<coap_session_t*, std::uint64_t> highest_epoch0_;
    std::unordered_set<coap_session_t*> restarted_;
};

}  // namespace estgw::gateway
