#include "common/tls_events.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <sys/socket.h>

#include <atomic>

#include "common/openssl.hpp"
#include "common/x509.hpp"

namespace estgw {

namespace {

thread_local TlsEvents t_events;
thread_local int t_inside_chained = 0;

using InfoCallback = void (*)(const SSL*, int, int);
std::atomic<SSL_verify_cb> g_inner_verify{nullptr};
std::atomic<InfoCallback> g_inner_info{nullptr};

TlsEvents& events_for(const SSL* ssl) {
    if (t_events.ssl != ssl) {
        t_events = TlsEvents{};
        t_events.ssl = ssl;
    }
    return t_events;
}

// Plain words for the verification failures seen in the field; OpenSSL's own string follows them.
struct VerifyWords {
    int error;
    const char* words;
};
// clang-format off
constexpr VerifyWords kVerifyWords[] = {
    {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "unknown issuer"},
    {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,         "unknown issuer"},
    {X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE,   "unknown issuer"},
    {X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,         "unknown root CA"},
    {X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,       "self-signed and no trust anchor"},
    {X509_V_ERR_CERT_HAS_EXPIRED,                  "expired"},
    {X509_V_ERR_CERT_NOT_YET_VALID,                "not valid yet"},
    {X509_V_ERR_CERT_REVOKED,                      "revoked"},
    {X509_V_ERR_INVALID_PURPOSE,                   "not for this use (extended key usage)"},
    {X509_V_ERR_CERT_SIGNATURE_FAILURE,            "bad signature"},
    {X509_V_ERR_CERT_CHAIN_TOO_LONG,               "chain too long"},
};

// Fatal alerts about a certificate (RFC 8446 §6.2, RFC 5246 §7.2.2): sent by a server, they concern the
// client's certificate; sent by a client, the server's.
struct AlertMeaning {
    int description;
    const char* words;
    ConnectionFailureKind kind;
    const char* hint;
};
constexpr AlertMeaning kCertificateAlerts[] = {
    {SSL_AD_UNKNOWN_CA,             "unknown CA",              ConnectionFailureKind::OurCertificateRefused,
     "it does not trust the CA that issued {identity}"},
    {SSL_AD_CERTIFICATE_EXPIRED,    "certificate expired",     ConnectionFailureKind::OurCertificateRefused,
     "{identity} has expired or is not valid yet: renew it"},
    {SSL_AD_CERTIFICATE_REVOKED,    "certificate revoked",     ConnectionFailureKind::OurCertificateRefused,
     "{identity} has been revoked"},
    {SSL_AD_BAD_CERTIFICATE,        "bad certificate",         ConnectionFailureKind::OurCertificateRefused,
     "check that {identity} is a certificate it accepts"},
    {SSL_AD_UNSUPPORTED_CERTIFICATE, "unsupported certificate", ConnectionFailureKind::OurCertificateRefused,
     "check the key type and the key usages of {identity}"},
    {SSL_AD_CERTIFICATE_UNKNOWN,    "certificate unknown",     ConnectionFailureKind::OurCertificateRefused,
     "check that {identity} is a certificate it accepts"},
    {TLS13_AD_CERTIFICATE_REQUIRED, "certificate required",    ConnectionFailureKind::CertificateRequired, ""},
};
// clang-format on

const AlertMeaning* certificate_alert(int description) {
    for (const AlertMeaning& a : kCertificateAlerts) {
        if (a.description == description) return &a;
    }
    return nullptr;
}

// The name or address the certificate was checked for (a host name or IP address mismatch); empty if none.
std::string expected_name(X509_STORE_CTX* store) {
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(store);
    if (const char* host = X509_VERIFY_PARAM_get0_host(param, 0)) return host;
    OpensslMallocPtr<char> ip(X509_VERIFY_PARAM_get1_ip_asc(param));
    return ip ? std::string(ip.get()) : std::string();
}

// "expired: CN=x (certificate has expired)", "host name mismatch: the certificate (CN=x) does not name
// a.example".
std::string verify_failure_text(X509_STORE_CTX* store) {
    const int error = X509_STORE_CTX_get_error(store);
    const X509* cert = X509_STORE_CTX_get_current_cert(store);
    const std::string subject = cert ? name_to_string(X509_get_subject_name(cert)) : std::string("?");
    const std::string openssl = X509_verify_cert_error_string(error);
    if (error == X509_V_ERR_HOSTNAME_MISMATCH || error == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        return std::string(error == X509_V_ERR_HOSTNAME_MISMATCH ? "host name" : "IP address") +
               " mismatch: the certificate (" + subject + ") does not name " + expected_name(store);
    }
    for (const VerifyWords& w : kVerifyWords) {
        if (w.error == error) return std::string(w.words) + ": " + subject + " (" + openssl + ")";
    }
    return openssl + ": " + subject;
}

int chained_verify(int ok, X509_STORE_CTX* store) {
    if (SSL_verify_cb inner = g_inner_verify.load()) {
        ++t_inside_chained;
        ok = inner(ok, store);
        --t_inside_chained;
    }
    return record_tls_verify(ok, store);
}

}  // namespace

int record_tls_verify(int ok, X509_STORE_CTX* store) {
    if (ok) return ok;
    auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    if (!ssl || (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) == 0) return ok;
    TlsEvents& events = events_for(ssl);
    // OpenSSL stops at the first failure the callback confirms; an earlier one a chained callback overrode
    // never gets here.
    if (events.verify_failure.empty()) {
        events.verify_failure = verify_failure_text(store);
    }
    return ok;
}

void record_tls_info(const SSL* ssl, int where, int ret) {
    if (where & SSL_CB_HANDSHAKE_DONE) events_for(ssl).handshake_done = true;
    if ((where & SSL_CB_ALERT) == 0 || (ret >> 8) != SSL3_AL_FATAL) return;
    TlsEvents& events = events_for(ssl);
    const int description = ret & 0xff;
    if (where & SSL_CB_READ) {
        if (!events.alert_received) events.alert_received = description;
        return;
    }
    if (events.alert_sent) return;
    events.alert_sent = description;
    // OpenSSL queues its reason before it sends the alert (ossl_statem_fatal).
    if (unsigned long error = ERR_peek_last_error(); error != 0) {
        events.error_reason = ERR_GET_REASON(error);
        if (const char* text = ERR_reason_error_string(error)) events.error_text = text;
    }
}

TlsEvents take_tls_events(const SSL* ssl) {
    TlsEvents taken;
    if (!ssl || t_events.ssl == ssl) taken = std::move(t_events);
    t_events = TlsEvents{};
    return taken;
}

void chain_tls_recorders(SSL* ssl, void (*info)(const SSL*, int, int)) {
    if (!info) info = run_chained_tls_info;
    SSL_verify_cb verify = SSL_get_verify_callback(ssl);
    if (verify && verify != chained_verify) g_inner_verify.store(verify);
    SSL_set_verify(ssl, SSL_get_verify_mode(ssl), chained_verify);
    InfoCallback current = SSL_get_info_callback(ssl);
    if (!current) current = SSL_CTX_get_info_callback(SSL_get_SSL_CTX(ssl));
    if (current && current != info && current != run_chained_tls_info) g_inner_info.store(current);
    SSL_set_info_callback(ssl, info);
}

void run_chained_tls_info(const SSL* ssl, int where, int ret) {
    if (InfoCallback inner = g_inner_info.load()) {
        const bool handshake = SSL_in_init(ssl) != 0;
        t_inside_chained += handshake;
        inner(ssl, where, ret);
        t_inside_chained -= handshake;
    }
    record_tls_info(ssl, where, ret);
}

bool inside_chained_tls_callback() {
    return t_inside_chained > 0;
}

std::string alert_text(int description) {
    if (const AlertMeaning* a = certificate_alert(description)) return a->words;
    return SSL_alert_desc_string_long(description);
}

std::optional<ConnectionFailure> client_tls_failure(const TlsEvents& events) {
    if (!events.verify_failure.empty()) {
        return ConnectionFailure{ConnectionFailureKind::PeerCertificateRejected, events.verify_failure, ""};
    }
    if (events.alert_received) {
        if (const AlertMeaning* a = certificate_alert(*events.alert_received))
            return ConnectionFailure{a->kind, a->words, a->hint};
        return ConnectionFailure{ConnectionFailureKind::HandshakeFailed,
                                 "it sent the alert \"" + alert_text(*events.alert_received) + "\"", ""};
    }
    if (events.alert_sent) {
        std::string detail = alert_text(*events.alert_sent);
        if (!events.error_text.empty()) detail += ": " + events.error_text;
        return ConnectionFailure{ConnectionFailureKind::HandshakeFailed, detail, ""};
    }
    return std::nullopt;
}

std::optional<ConnectionFailure> probe_tls_refusal(SSL_CTX* ctx, const std::string& host, int port,
                                                   std::chrono::milliseconds limit) {
    auto connected = connect_tcp(host, port, limit);
    auto* socket = std::get_if<FileDescriptor>(&connected);
    if (!socket) return std::nullopt;
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(limit);
    timeval wait{static_cast<time_t>(seconds.count()),
                 static_cast<suseconds_t>(std::chrono::microseconds(limit - seconds).count())};
    setsockopt(socket->get(), SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    setsockopt(socket->get(), SOL_SOCKET, SO_SNDTIMEO, &wait, sizeof wait);
    SslPtr ssl(SSL_new(ctx));
    if (!ssl || SSL_set_fd(ssl.get(), socket->get()) != 1) return std::nullopt;
    in6_addr v6{};
    in_addr v4{};
    const bool ip = inet_pton(AF_INET6, host.c_str(), &v6) == 1 || inet_pton(AF_INET, host.c_str(), &v4) == 1;
    if (!ip) SSL_set_tlsext_host_name(ssl.get(), host.c_str());
    SSL_set_info_callback(ssl.get(), record_tls_info);
    take_tls_events();
    if (SSL_connect(ssl.get()) == 1) {
        char first = 0;
        SSL_peek(ssl.get(), &first, 1);
    }
    ERR_clear_error();
    return client_tls_failure(take_tls_events(ssl.get()));
}

std::string server_tls_refusal(const TlsEvents& events, const std::string& trust,
                               const std::string& identity) {
    if (!events.verify_failure.empty())
        return "the client's certificate does not verify against " + trust + ": " + events.verify_failure;
    if (events.error_reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) return "no client certificate";
    if (events.alert_received) {
        // Seen from the client's side, the failure is its refusal of our certificate.
        TlsEvents from_client;
        from_client.alert_received = events.alert_received;
        return describe(*client_tls_failure(from_client), PeerNaming{"the client", "", trust, identity, ""});
    }
    if (events.alert_sent) {
        return alert_text(*events.alert_sent) + (events.error_text.empty() ? "" : ": " + events.error_text);
    }
    return "the handshake failed";
}

}  // namespace estgw
