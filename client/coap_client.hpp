// The pledge side of EST-coaps over libcoap 4.3.1's client API: coaps:// URLs, DTLS client sessions with
// certificates, request PDUs with Block-wise sizes, answers, and a blocking one-session client for
// `estgw enroll` and the measurements in bench/. `estgw bench` drives many sessions per context with the
// same helpers (client/bench_worker.cpp).
//
// libcoap is not thread-safe: a context and everything created from it stay on one thread.
#pragma once

#include <coap3/coap.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/dtls_credentials.hpp"
#include "common/result.hpp"

namespace estgw::client {

struct CoapContextDeleter {
    void operator()(coap_context_t* c) const noexcept { coap_free_context(c); }
};
struct CoapSessionDeleter {
    void operator()(coap_session_t* s) const noexcept { coap_session_release(s); }
};
struct CoapPduDeleter {
    void operator()(coap_pdu_t* p) const noexcept { coap_delete_pdu(p); }
};
using CoapContextPtr = std::unique_ptr<coap_context_t, CoapContextDeleter>;
// Declare a CoapSessionPtr after the CoapContextPtr it came from: the session must be released first.
using CoapSessionPtr = std::unique_ptr<coap_session_t, CoapSessionDeleter>;
using CoapPduPtr = std::unique_ptr<coap_pdu_t, CoapPduDeleter>;

// coap_startup()/coap_cleanup() for the lifetime of a command, and libcoap's own logging level.
class CoapLibrary {
  public:
    explicit CoapLibrary(coap_log_t level);
    ~CoapLibrary();
    CoapLibrary(const CoapLibrary&) = delete;
    CoapLibrary& operator=(const CoapLibrary&) = delete;
};

inline constexpr std::uint16_t kDefaultCoapsPort = 5684;  // RFC 7252 §12.7

// coaps://HOST[:PORT][/root]. HOST is a name, an IPv4 address or a bracketed IPv6 address; the root defaults
// to /.well-known/est (RFC 9148 §4.1) and loses any trailing '/'. Anything else is Status::BadRequest.
struct CoapsUrl {
    std::string host;
    std::uint16_t port = kDefaultCoapsPort;
    std::string root = "/.well-known/est";
};
Result<CoapsUrl> parse_coaps_url(std::string_view url);

// The first UDP address HOST resolves to. Status::UpstreamFailed when it does not resolve.
Result<coap_address_t> resolve_server(const CoapsUrl& url);

// "/.well-known/est/sen" → {".well-known", "est", "sen"} (empty segments dropped).
std::vector<std::string> path_segments(std::string_view path);

// Our DTLS identity and how the server is checked. With verify_server the server's chain must lead to a
// certificate of ca_file and its certificate must name server_name (an IP address or DNS name in
// subjectAltName, RFC 6125; no check when server_name is empty); without verify_server any server is
// accepted (`enroll --insecure-bootstrap` only).
struct DtlsIdentity {
    std::string cert_file, key_file;  // PEM; the certificate file may hold the chain after the leaf
    std::string ca_file;
    bool verify_server = true;
    std::string server_name;  // sent as SNI when it is a host name
    // cert_file and key_file parsed (load_credentials). When null, open_dtls_session parses the files itself,
    // once per session: set it when opening many.
    std::shared_ptr<const DtlsCredentials> credentials;
};

// Parses identity.cert_file and key_file into identity.credentials. Errors name the file.
Result<void> load_credentials(DtlsIdentity& identity);

// A client context with libcoap doing Block-wise transfers (whole bodies in one response callback) and the
// trust anchors of `identity`. Status::Internal when libcoap refuses.
Result<CoapContextPtr> new_client_context(const DtlsIdentity& identity);

// Starts a DTLS session (the handshake runs inside coap_io_process; requests sent meanwhile wait for it).
// Our certificate and key, SNI and the server-name check are put on the session here; `identity` is not
// referenced afterwards.
Result<CoapSessionPtr> open_dtls_session(coap_context_t* context, const coap_address_t& server,
                                         const DtlsIdentity& identity);

struct CoapRequest {
    coap_pdu_code_t method = COAP_REQUEST_CODE_GET;
    std::vector<std::string> path;   // Uri-Path segments
    std::vector<std::string> query;  // Uri-Query options, "rt=ace.est*"
    std::optional<unsigned> content_format;
    std::optional<unsigned> accept;
    Bytes body;
    // 16…1024: asks for Block2 blocks of this size from the first request on, and sends the body in Block1
    // blocks of this size (libcoap 4.3.1 honours a Block1 option set before coap_add_data_large_request).
    // Absent: libcoap's choice (1024, or less when the PDU size demands it).
    std::optional<unsigned> block_size;
};

// True for 16, 32, …, 1024 (RFC 7959 §2.2).
bool valid_block_size(unsigned size);

// Builds the CON request with a fresh token and sends it on `session`; returns the token. `request.body`
// must stay unchanged and alive until the answer arrives (libcoap sends later blocks from it).
Result<Bytes> send_request(coap_session_t* session, const CoapRequest& request);

struct CoapAnswer {
    std::uint8_t code = 0;  // class << 5 | detail
    std::optional<unsigned> content_format;
    std::optional<unsigned> max_age;
    Bytes body;  // whole, after Block2
};
CoapAnswer read_answer(const coap_pdu_t* pdu);

// "4.03" and "4.03 Forbidden".
std::string code_string(std::uint8_t code);
std::string code_with_phrase(std::uint8_t code);
// An error answer's diagnostic payload (RFC 7252 §5.5.2) as one printable line; empty when the answer has
// a Content-Format (then the payload is not a diagnostic) or no payload.
std::string diagnostic_text(const CoapAnswer& answer);
// "4.03 Forbidden: <diagnostic>", or the code alone when there is no diagnostic.
std::string code_with_diagnostic(const CoapAnswer& answer);

// Why the DTLS handshake of `session` failed, when OpenSSL knows: "the server refused our certificate
// (--cert): certificate expired; ...", "the certificate of the server does not verify against --ca: ...".
// Empty otherwise. Call it from the event handler on COAP_EVENT_DTLS_ERROR or COAP_EVENT_DTLS_CLOSED of a
// session made by open_dtls_session; it takes what that session's handshake left on this thread.
std::string dtls_failure_cause(coap_session_t* session);

// Why a request got no answer, as the key `estgw bench` counts errors under.
std::string_view nack_key(coap_nack_reason_t reason);  // "timeout", "unreachable", "reset", "dtls"

// One DTLS session, one request at a time. Errors of request(): Status::UpstreamTimeout when no answer came
// in time, Status::UpstreamFailed when the DTLS handshake failed or the server is unreachable, and
// Status::Internal when libcoap refused the request. Any CoAP answer, error codes included, is a value.
class CoapClient {
  public:
    static Result<std::unique_ptr<CoapClient>> open(const coap_address_t& server,
                                                    const DtlsIdentity& identity);
    ~CoapClient();
    CoapClient(const CoapClient&) = delete;
    CoapClient& operator=(const CoapClient&) = delete;

    Result<CoapAnswer> request(const CoapRequest& request,
                               std::chrono::milliseconds timeout = std::chrono::seconds(30));
    // Completes the DTLS handshake without sending a request, for a caller that needs the server's
    // certificate first (a BRSKI pledge puts it in its voucher request). Errors as request().
    Result<void> handshake(std::chrono::milliseconds timeout = std::chrono::seconds(30));
    // Keeps the session serviced (retransmissions, alerts) while the caller waits.
    void idle(std::chrono::milliseconds duration);
    // DTLS sessions opened so far: 1 while every request went over the first one.
    int sessions_opened() const { return sessions_opened_; }
    // The UDP port the current session sends from; 0 before the first request.
    std::uint16_t local_port() const;
    // The certificates the server presented in the current session's handshake, DER: its own first, then
    // the chain it sent. Empty before a handshake completed. A BRSKI pledge trusts the server provisionally
    // (verify_server false) and checks this chain against the voucher's pin afterwards.
    std::vector<Bytes> server_chain() const;

    class Passkey {  // construction goes through open()
        friend class CoapClient;
        Passkey() = default;
    };
    CoapClient(Passkey, coap_address_t server, DtlsIdentity identity);

  private:
    Result<void> ensure_session();
    static coap_response_t on_response(coap_session_t* session, const coap_pdu_t* sent,
                                       const coap_pdu_t* received, const coap_mid_t mid);
    static void on_nack(coap_session_t* session, const coap_pdu_t* sent, const coap_nack_reason_t reason,
                        const coap_mid_t mid);
    static int on_event(coap_session_t* session, const coap_event_t event);
    static CoapClient* self(coap_session_t* session);
    std::string handshake_failure() const;  // the message, with its cause when known

    coap_address_t server_;
    DtlsIdentity identity_;
    CoapContextPtr context_;  // before session_: destroyed after it
    CoapSessionPtr session_;
    bool session_closed_ = false;
    int sessions_opened_ = 0;
    std::optional<coap_event_t> session_event_;  // DTLS error or close seen while waiting
    std::string handshake_cause_;                // dtls_failure_cause of that error
    Bytes token_;
    bool waiting_ = false;
    std::optional<CoapAnswer> answer_;
    std::optional<Error> failure_;
};

}  // namespace estgw::client
