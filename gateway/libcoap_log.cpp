#include "gateway/libcoap_log.hpp"

#include <coap3/coap.h>

#include <string>
#include <string_view>

#include "common/log_throttle.hpp"
#include "common/tls_events.hpp"

namespace estgw::gateway {

namespace {

// What libcoap 4.3.1 logs (at error level) for every new session because it is given no key on purpose;
// tls_setup installs the real one right after.
constexpr std::string_view kNoLibcoapKeyMessage = "*** setup_pki: (D)TLS: No Server Certificate defined";

// libcoap's lines an outsider can repeat at will ("... DTLS: SSL3 alert read:warning:close notify" for every
// session, warnings for every odd datagram): at most 10 a kind per 10 s, then one summary line.
log::Throttle g_libcoap_throttle;

// What a libcoap line says without whom it is about: the session prefix ("*  [::1]:5684 <-> [::1]:40000
// (if1) ") dropped, digits folded, so that the same event from a thousand peers is one kind.
std::string libcoap_message_kind(std::string_view text) {
    if (auto end = text.find(") "); end != std::string_view::npos && text.find(" <-> ") < end)
        text.remove_prefix(end + 2);
    std::string kind(text.substr(0, 80));
    for (char& c : kind) {
        if (c >= '0' && c <= '9') c = '#';
    }
    return "libcoap: " + kind;
}

void write_libcoap_log(coap_log_t level, const char* message) {
    std::string_view text(message ? message : "");
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
        text.remove_suffix(1);
    if (text == kNoLibcoapKeyMessage) return;
    // What libcoap says about a failing handshake, several lines of it, is summed up in one rate-limited
    // line of ours (refused_handshakes.hpp): a flood of bad handshakes must not fill the disk through it.
    log::Level ours = inside_chained_tls_callback() ? log::Level::Debug
                      : level <= LOG_ERR            ? log::Level::Error
                      : level == LOG_WARNING        ? log::Level::Warn
                      : level <= LOG_INFO           ? log::Level::Info
                                                    : log::Level::Debug;
    if (ours != log::Level::Debug && !g_libcoap_throttle.admit(libcoap_message_kind(text))) return;
    log::write(ours, "libcoap", {{"message", text}});
}

}  // namespace

void route_libcoap_logging(log::Level level) {
    coap_set_log_handler(write_libcoap_log);
    coap_set_log_level(level == log::Level::Debug ? LOG_INFO : LOG_WARNING);
    coap_dtls_set_log_level(level == log::Level::Debug ? LOG_INFO : LOG_WARNING);
}

void flush_libcoap_log_summaries() {
    g_libcoap_throttle.flush();
}

}  // namespace estgw::gateway
