// What OpenSSL saw in a TLS or DTLS handshake, kept so that a failure can be explained afterwards: our
// verdict on the peer's certificate, and the fatal alerts each side sent. Libraries that run the handshake
// for us report it only as "failed" (cpp-httplib: "SSLConnection", or "Read" when a TLS 1.3 server refuses
// our certificate after our side of the handshake is done; libcoap: an event).
//
// The recorders are OpenSSL callbacks; they write into a record of the calling thread, which belongs to one
// SSL at a time: a handshake runs on one thread, and its verification and its alert happen in one call into
// OpenSSL, before any other connection of that thread is served.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <optional>
#include <string>

#include "common/connection_failure.hpp"

namespace estgw {

struct TlsEvents {
    const SSL* ssl = nullptr;  // whose events these are
    std::string
        verify_failure;  // our check of the peer's certificate: "expired: CN=x (certificate has expired)"
    std::optional<int> alert_received;  // fatal alert descriptions (SSL_AD_*)
    std::optional<int> alert_sent;
    int error_reason = 0;  // ERR_GET_REASON of OpenSSL's error when we sent ours (SSL_R_*)
    std::string error_text;
    bool handshake_done = false;  // a handshake completed (our side of it, in TLS 1.3)
};

// As a verify callback (SSL_CTX_set_verify): records a failure, returns `ok` unchanged. Records nothing
// when the SSL does not verify its peer (SSL_VERIFY_NONE still calls the callback).
int record_tls_verify(int ok, X509_STORE_CTX* store);
// As an info callback (SSL_CTX_set_info_callback): records fatal alerts either way.
void record_tls_info(const SSL* ssl, int where, int ret);

// This thread's record if it belongs to `ssl` (any SSL when null), and forgets it.
TlsEvents take_tls_events(const SSL* ssl = nullptr);

// libcoap puts its own verify callback on each SSL and its info callback on the SSL_CTX, and acts on what
// they see (its info callback turns a fatal alert into COAP_EVENT_DTLS_ERROR). This keeps them in charge and
// records after them; `info` replaces the plain recorder (it must call run_chained_tls_info). libcoap's two
// functions are the same for every session, client or server, and are kept once.
void chain_tls_recorders(SSL* ssl, void (*info)(const SSL*, int, int) = nullptr);
void run_chained_tls_info(const SSL* ssl, int where, int ret);
// True while a chained callback (libcoap's) runs inside a handshake on this thread: what it logs then is
// detail of what our own record summarises.
bool inside_chained_tls_callback();

// The fatal alert as words: "unknown CA", "certificate required".
std::string alert_text(int description);

// How a client explains its failed connection from what its handshake saw: the peer's certificate did not
// verify, or the peer's alert (refusing our certificate, asking for one, or something else). Nothing when
// OpenSSL saw neither.
std::optional<ConnectionFailure> client_tls_failure(const TlsEvents& events);

// TLS 1.3 servers check a client certificate after the client's side of the handshake is done, so their
// refusal can arrive after a library has failed to write its request, and go unread. This connects to
// host:port, runs a handshake of its own with `ctx` and waits up to `limit` for the server's first record:
// the refusal, explained as client_tls_failure does. Nothing when the server accepts (it then sends session
// tickets and waits for a request) or says nothing.
std::optional<ConnectionFailure> probe_tls_refusal(SSL_CTX* ctx, const std::string& host, int port,
                                                   std::chrono::milliseconds limit);

// How a server words a handshake it refused, or that its client refused: "no client certificate", "the
// client's certificate does not verify against --client-ca: expired: CN=x (certificate has expired)".
// `trust` and `identity` name the server's options for its client trust anchors and its own certificate.
std::string server_tls_refusal(const TlsEvents& events, const std::string& trust,
                               const std::string& identity);

}  // namespace estgw
