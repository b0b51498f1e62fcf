#include "gateway/refused_handshakes.hpp"

#include <arpa/inet.h>
#include <coap3/coap.h>
#include <sys/socket.h>

#include <mutex>
#include <string>

#include "common/log.hpp"
#include "common/rate_limiter.hpp"
#include "common/tls_events.hpp"

namespace estgw::gateway::refused_handshakes {

namespace {

std::mutex g_mutex;
RateLimiter g_limiter(kLinesPerSecond, std::chrono::seconds(1));

void write_unlogged_count(RateLimiter::Clock::time_point now) {
    if (std::uint64_t count = g_limiter.take_suppressed(now)) {
        log::warn("tls-handshakes-refused-unlogged",
                  {{"count", count},
                   {"note", "more than " + std::to_string(kLinesPerSecond) +
                                " refused handshakes a second; these were not logged one by one"}});
    }
}

// "192.0.2.1:5684", "[2001:db8::1]:5684" of the TCP connection under `ssl`.
std::string tcp_peer(const SSL* ssl) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (getpeername(SSL_get_fd(ssl), reinterpret_cast<sockaddr*>(&address), &length) != 0) return "?";
    char text[INET6_ADDRSTRLEN] = "?";
    if (address.ss_family == AF_INET6) {
        const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
        inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text);
        return "[" + std::string(text) + "]:" + std::to_string(ntohs(v6.sin6_port));
    }
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
    inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(v4.sin_port));
}

// The HTTPS front names the peer in each SSL's app data, from accept(): a client that refuses us closes the
// connection at once, and then getpeername() has nothing to say.
std::string https_peer(const SSL* ssl) {
    if (const auto* peer = static_cast<const std::string*>(SSL_get_app_data(ssl))) return *peer;
    return tcp_peer(ssl);
}

std::string dtls_peer(const SSL* ssl) {
    auto* session = static_cast<const coap_session_t*>(SSL_get_app_data(ssl));
    if (!session) return "?";
    char text[INET6_ADDRSTRLEN + 16];
    std::size_t n = coap_print_addr(coap_session_get_addr_remote(session),
                                    reinterpret_cast<unsigned char*>(text), sizeof text);
    return std::string(text, n);
}

// A fatal alert in a handshake, either way, ends it: one line (or one more count).
void report(const SSL* ssl, int where, int ret, const char* protocol, std::string (*peer)(const SSL*)) {
    if ((where & SSL_CB_ALERT) == 0 || (ret >> 8) != SSL3_AL_FATAL || !SSL_in_init(ssl)) return;
    const TlsEvents events = take_tls_events(ssl);
    if (events.error_reason == SSL_R_UNEXPECTED_EOF_WHILE_READING && !events.alert_received) {
        // Nothing was refused: the client went away (a TCP health check does that all day long).
        log::debug("tls-handshake-abandoned", {{"protocol", protocol}, {"peer", peer(ssl)}});
        return;
    }
    const auto now = RateLimiter::Clock::now();
    std::lock_guard lock(g_mutex);
    write_unlogged_count(now);
    if (!g_limiter.admit(now)) return;
    log::warn("tls-handshake-refused", {{"protocol", protocol},
                                        {"peer", peer(ssl)},
                                        {"reason", server_tls_refusal(events, "--client-ca", "--cert")}});
}

void on_https_info(const SSL* ssl, int where, int ret) {
    record_tls_info(ssl, where, ret);
    report(ssl, where, ret, "https", https_peer);
}

void on_dtls_info(const SSL* ssl, int where, int ret) {
    run_chained_tls_info(ssl, where, ret);
    report(ssl, where, ret, "dtls", dtls_peer);
}

}  // namespace

void watch_https(SSL_CTX* ctx) {
    SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), record_tls_verify);
    SSL_CTX_set_info_callback(ctx, on_https_info);
}

void watch_dtls(SSL* ssl) {
    chain_tls_recorders(ssl, on_dtls_info);
}

void flush() {
    const auto now = RateLimiter::Clock::now();
    std::lock_guard lock(g_mutex);
    write_unlogged_count(now);
}

}  // namespace estgw::gateway::refused_handshakes
