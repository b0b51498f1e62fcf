#include "client/coap_client.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "common/connection_failure.hpp"
#include "common/openssl.hpp"
#include "common/tls_events.hpp"
#include "common/x509.hpp"

namespace estgw::client {

CoapLibrary::CoapLibrary(coap_log_t level) {
    coap_startup();
    coap_set_log_level(level);
    coap_dtls_set_log_level(level);
}

CoapLibrary::~CoapLibrary() {
    coap_cleanup();
}

namespace {

Error bad_url(std::string_view url, std::string_view why) {
    return make_error(Status::BadRequest, "bad server URL '" + std::string(url) + "': " + std::string(why));
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
               return std::tolower(static_cast<unsigned char>(a)) ==
                      std::tolower(static_cast<unsigned char>(b));
           });
}

constexpr const char* kHandshakeFailed =
    "DTLS handshake failed (does --ca hold the server's trust anchor, and does the server accept --cert?)";

bool is_ip_literal(const std::string& host) {
    in6_addr v6{};
    in_addr v4{};
    return inet_pton(AF_INET6, host.c_str(), &v6) == 1 || inet_pton(AF_INET, host.c_str(), &v4) == 1;
}

}  // namespace

Result<CoapsUrl> parse_coaps_url(std::string_view url) {
    constexpr std::string_view kScheme = "coaps://";
    if (!starts_with_ignoring_case(url, kScheme)) return bad_url(url, "expected coaps://HOST[:PORT][/root]");
    std::string_view rest = url.substr(kScheme.size());
    if (rest.find_first_of("?#") != std::string_view::npos)
        return bad_url(url, "no query or fragment allowed");
    CoapsUrl out;
    std::string_view after_host;
    if (rest.starts_with('[')) {
        auto close = rest.find(']');
        if (close == std::string_view::npos) return bad_url(url, "unterminated '[' in the host");
        out.host = std::string(rest.substr(1, close - 1));
        in6_addr v6{};
        if (inet_pton(AF_INET6, out.host.c_str(), &v6) != 1) return bad_url(url, "bad IPv6 address");
        after_host = rest.substr(close + 1);
    } else {
        auto end = rest.find_first_of(":/");
        out.host = std::string(rest.substr(0, end));
        after_host = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    }
    if (out.host.empty()) return bad_url(url, "no host");
    if (after_host.starts_with(':')) {
        auto end = after_host.find('/');
        std::string_view digits = after_host.substr(1, end == std::string_view::npos ? end : end - 1);
        unsigned port = 0;
        auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
        if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || port == 0 ||
            port > 65535)
            return bad_url(url, "bad port");
        out.port = static_cast<std::uint16_t>(port);
        after_host = end == std::string_view::npos ? std::string_view{} : after_host.substr(end);
    }
    if (!after_host.empty() && !after_host.starts_with('/')) return bad_url(url, "bad host");
    std::string root(after_host);
    while (!root.empty() && root.back() == '/')
        root.pop_back();
    if (!root.empty()) out.root = root;
    return out;
}

Result<coap_address_t> resolve_server(const CoapsUrl& url) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* found = nullptr;
    int rc = getaddrinfo(url.host.c_str(), nullptr, &hints, &found);
    if (rc != 0 || !found)
        return make_error(Status::UpstreamFailed, "cannot resolve '" + url.host + "': " + gai_strerror(rc));
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owner(found, freeaddrinfo);
    coap_address_t address;
    coap_address_init(&address);
    if (found->ai_family == AF_INET6) {
        std::memcpy(&address.addr.sin6, found->ai_addr, sizeof(sockaddr_in6));
        address.addr.sin6.sin6_port = htons(url.port);
        address.size = sizeof(sockaddr_in6);
    } else {
        std::memcpy(&address.addr.sin, found->ai_addr, sizeof(sockaddr_in));
        address.addr.sin.sin_port = htons(url.port);
        address.size = sizeof(sockaddr_in);
    }
    return address;
}

std::vector<std::string> path_segments(std::string_view path) {
    std::vector<std::string> out;
    while (!path.empty()) {
        auto slash = path.find('/');
        std::string_view segment = path.substr(0, slash);
        if (!segment.empty()) out.emplace_back(segment);
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    return out;
}

Result<CoapContextPtr> new_client_context(const DtlsIdentity& identity) {
    CoapContextPtr context(coap_new_context(nullptr));
    if (!context) return make_error(Status::Internal, "coap_new_context failed");
    coap_context_set_block_mode(context.get(), COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
    if (identity.verify_server &&
        !coap_context_set_pki_root_cas(context.get(), identity.ca_file.c_str(), nullptr))
        return make_error(Status::Internal, "cannot load the trust anchors in " + identity.ca_file);
    return context;
}

Result<void> load_credentials(DtlsIdentity& identity) {
    // The client sends its chain as given in the certificate file; no trust bundle to complete it from.
    ESTGW_TRY(credentials, DtlsCredentials::load(identity.cert_file, identity.key_file, ""));
    identity.credentials = std::make_shared<const DtlsCredentials>(std::move(credentials));
    return {};
}

Result<CoapSessionPtr> open_dtls_session(coap_context_t* context, const coap_address_t& server,
                                         const DtlsIdentity& identity) {
    std::shared_ptr<const DtlsCredentials> credentials = identity.credentials;
    if (!credentials) {
        DtlsIdentity loaded = identity;
        if (auto r = load_credentials(loaded); !r) return r.error();
        credentials = loaded.credentials;
    }
    coap_dtls_pki_t pki{};
    pki.version = COAP_DTLS_PKI_SETUP_VERSION;
    pki.verify_peer_cert = identity.verify_server ? 1 : 0;
    pki.check_common_ca = 0;  // the server's CA is --ca, not the issuer of our own certificate
    pki.cert_chain_validation = 1;
    pki.cert_chain_verify_depth = 3;
    // No key for libcoap, which would otherwise read and decode the PEM files for every session (see
    // DtlsCredentials); a client without one is valid to it, and the parsed credentials go on the SSL below.
    pki.pki_key.key_type = COAP_PKI_KEY_ASN1;
    std::string sni = identity.server_name;
    if (!sni.empty() && !is_ip_literal(sni)) pki.client_sni = sni.data();
    CoapSessionPtr session(coap_new_client_session_pki(context, nullptr, &server, COAP_PROTO_DTLS, &pki));
    if (!session) return make_error(Status::Internal, "libcoap could not start a DTLS session");
    // The ClientHello is out, but nothing from the server has been read yet: OpenSSL picks the client
    // certificate only when the server's CertificateRequest is processed, inside coap_io_process.
    coap_tls_library_t library = COAP_TLS_LIBRARY_NOTLS;
    auto* ssl = static_cast<SSL*>(coap_session_get_tls(session.get(), &library));
    if (ssl == nullptr || library != COAP_TLS_LIBRARY_OPENSSL || !credentials->install(ssl)) {
        return make_error(Status::Internal, "cannot put " + identity.cert_file + " and " + identity.key_file +
                                                " on the DTLS session: " + openssl_errors());
    }
    chain_tls_recorders(ssl);  // for dtls_failure_cause
    // RFC 7030 §3.6.1 (RFC 6125): the server's certificate must name the host asked for, as an IP address or
    // DNS name in subjectAltName. libcoap 4.3.1 checks only the chain; OpenSSL checks the name on the leaf it
    // has already parsed (a mismatch fails the handshake, and libcoap logs "hostname mismatch" or "IP
    // address mismatch" with the name the certificate carries).
    if (identity.verify_server && !identity.server_name.empty()) {
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
        const bool set = is_ip_literal(identity.server_name)
                             ? X509_VERIFY_PARAM_set1_ip_asc(param, identity.server_name.c_str()) == 1
                             : X509_VERIFY_PARAM_set1_host(param, identity.server_name.c_str(),
                                                           identity.server_name.size()) == 1;
        if (!set) {
            return make_error(Status::BadRequest, "cannot check the server name '" + identity.server_name +
                                                      "': " + openssl_errors());
        }
    }
    return session;
}

std::string dtls_failure_cause(coap_session_t* session) {
    coap_tls_library_t library = COAP_TLS_LIBRARY_NOTLS;
    const auto* ssl = static_cast<const SSL*>(coap_session_get_tls(session, &library));
    if (ssl && library != COAP_TLS_LIBRARY_OPENSSL) return {};
    // On COAP_EVENT_DTLS_CLOSED libcoap has freed the SSL already. The thread's record is then the one this
    // session's failure left: libcoap reports the close right after the call into OpenSSL that failed.
    auto failure = client_tls_failure(take_tls_events(ssl));
    if (!failure) return {};
    // The options of `estgw enroll` and `estgw bench` (client_options.hpp).
    return describe(*failure, PeerNaming{"the server", "--server", "--ca", "--cert", "--timeout"});
}

bool valid_block_size(unsigned size) {
    return size >= 16 && size <= 1024 && (size & (size - 1)) == 0;
}

namespace {

unsigned block_szx(unsigned size) {
    unsigned szx = 0;
    while ((16u << szx) < size)
        ++szx;
    return szx;
}

}  // namespace

Result<Bytes> send_request(coap_session_t* session, const CoapRequest& request) {
    CoapPduPtr pdu(coap_pdu_init(COAP_MESSAGE_CON, request.method, coap_new_message_id(session),
                                 coap_session_max_pdu_size(session)));
    if (!pdu) return make_error(Status::Internal, "coap_pdu_init failed");
    std::uint8_t token[8];
    std::size_t token_length = 0;
    coap_session_new_token(session, &token_length, token);
    bool ok = coap_add_token(pdu.get(), token_length, token) != 0;
    auto add_text = [&](coap_option_num_t number, const std::string& text) {
        ok = ok && coap_add_option(pdu.get(), number, text.size(),
                                   reinterpret_cast<const std::uint8_t*>(text.data())) != 0;
    };
    auto add_uint = [&](coap_option_num_t number, unsigned value) {
        std::uint8_t buf[4];
        ok = ok && coap_add_option(pdu.get(), number, coap_encode_var_safe(buf, sizeof buf, value), buf) != 0;
    };
    // Options in ascending number order (RFC 7252 §3.1 delta encoding).
    for (const auto& segment : request.path)
        add_text(COAP_OPTION_URI_PATH, segment);
    if (request.content_format) add_uint(COAP_OPTION_CONTENT_FORMAT, *request.content_format);
    for (const auto& q : request.query)
        add_text(COAP_OPTION_URI_QUERY, q);
    if (request.accept) add_uint(COAP_OPTION_ACCEPT, *request.accept);
    if (request.block_size) {
        // Block NUM 0, M 0: only the size matters. libcoap 4.3.1 keeps a Block1 size set by the application
        // when it splits the body, and carries the early Block2 into every block it sends.
        add_uint(COAP_OPTION_BLOCK2, block_szx(*request.block_size));
        if (!request.body.empty()) add_uint(COAP_OPTION_BLOCK1, block_szx(*request.block_size));
    }
    if (ok && !request.body.empty())
        ok = coap_add_data_large_request(session, pdu.get(), request.body.size(), request.body.data(),
                                         nullptr, nullptr) != 0;
    if (!ok) return make_error(Status::Internal, "cannot build the CoAP request");
    if (coap_send(session, pdu.release()) == COAP_INVALID_MID)
        return make_error(Status::Internal, "coap_send failed");
    return Bytes(token, token + token_length);
}

CoapAnswer read_answer(const coap_pdu_t* pdu) {
    CoapAnswer answer;
    answer.code = static_cast<std::uint8_t>(coap_pdu_get_code(pdu));
    coap_opt_iterator_t it;
    if (const coap_opt_t* opt = coap_check_option(pdu, COAP_OPTION_CONTENT_FORMAT, &it))
        answer.content_format = coap_decode_var_bytes(coap_opt_value(opt), coap_opt_length(opt));
    if (const coap_opt_t* opt = coap_check_option(pdu, COAP_OPTION_MAXAGE, &it))
        answer.max_age = coap_decode_var_bytes(coap_opt_value(opt), coap_opt_length(opt));
    std::size_t length = 0, offset = 0, total = 0;
    const std::uint8_t* data = nullptr;
    if (coap_get_data_large(pdu, &length, &data, &offset, &total)) answer.body.assign(data, data + length);
    return answer;
}

std::string code_string(std::uint8_t code) {
    char text[8];
    std::snprintf(text, sizeof text, "%u.%02u", code >> 5u, code & 0x1fu);
    return text;
}

std::string code_with_phrase(std::uint8_t code) {
    const char* phrase = coap_response_phrase(code);
    return phrase ? code_string(code) + " " + phrase : code_string(code);
}

std::string diagnostic_text(const CoapAnswer& answer) {
    if (answer.content_format) return {};
    constexpr std::size_t kLongest = 300;
    std::string text;
    for (std::uint8_t c : answer.body) {
        if (text.size() == kLongest) {
            text += "...";
            break;
        }
        text += (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
    }
    return text;
}

std::string code_with_diagnostic(const CoapAnswer& answer) {
    std::string diagnostic = diagnostic_text(answer);
    return code_with_phrase(answer.code) + (diagnostic.empty() ? "" : ": " + diagnostic);
}

std::string_view nack_key(coap_nack_reason_t reason) {
    switch (reason) {
        case COAP_NACK_TOO_MANY_RETRIES:
            return "timeout";
        case COAP_NACK_RST:
            return "reset";
        case COAP_NACK_TLS_FAILED:
            return "dtls";
        case COAP_NACK_NOT_DELIVERABLE:
        case COAP_NACK_ICMP_ISSUE:
            break;
    }
    return "unreachable";
}

// ---- CoapClient ----

CoapClient::CoapClient(Passkey, coap_address_t server, DtlsIdentity identity)
    : server_(server), identity_(std::move(identity)) {}

Result<std::unique_ptr<CoapClient>> CoapClient::open(const coap_address_t& server,
                                                     const DtlsIdentity& identity) {
    auto client = std::make_unique<CoapClient>(Passkey{}, server, identity);
    ESTGW_TRY(context, new_client_context(identity));
    client->context_ = std::move(context);
    coap_set_app_data(client->context_.get(), client.get());
    coap_register_response_handler(client->context_.get(), on_response);
    coap_register_nack_handler(client->context_.get(), on_nack);
    coap_register_event_handler(client->context_.get(), on_event);
    if (auto started = client->ensure_session(); !started) return started.error();
    return client;
}

CoapClient::~CoapClient() {
    // Releasing the session may report its queued requests to the handlers: they must find nobody.
    if (context_) coap_set_app_data(context_.get(), nullptr);
    session_.reset();
}

CoapClient* CoapClient::self(coap_session_t* session) {
    return static_cast<CoapClient*>(coap_get_app_data(coap_session_get_context(session)));
}

Result<void> CoapClient::ensure_session() {
    if (session_ && !session_closed_) return {};
    session_.reset();
    ESTGW_TRY(session, open_dtls_session(context_.get(), server_, identity_));
    session_ = std::move(session);
    session_closed_ = false;
    ++sessions_opened_;
    return {};
}

coap_response_t CoapClient::on_response(coap_session_t* session, const coap_pdu_t*,
                                        const coap_pdu_t* received, const coap_mid_t) {
    try {
        CoapClient* client = self(session);
        if (!client || !client->waiting_) return COAP_RESPONSE_OK;
        coap_bin_const_t token = coap_pdu_get_token(received);
        if (Bytes(token.s, token.s + token.length) != client->token_) return COAP_RESPONSE_OK;
        client->answer_ = read_answer(received);
        client->waiting_ = false;
    } catch (...) {
        // Out of memory: the request times out instead; nothing may unwind through libcoap.
    }
    return COAP_RESPONSE_OK;
}

void CoapClient::on_nack(coap_session_t* session, const coap_pdu_t* sent, const coap_nack_reason_t reason,
                         const coap_mid_t) {
    try {
        CoapClient* client = self(session);
        if (!client) return;
        if (reason != COAP_NACK_TOO_MANY_RETRIES) client->session_closed_ = true;
        if (!client->waiting_) return;
        if (sent) {
            coap_bin_const_t token = coap_pdu_get_token(sent);
            if (Bytes(token.s, token.s + token.length) != client->token_) return;
        }
        std::string key(nack_key(reason));
        client->failure_ =
            key == "timeout" ? make_error(Status::UpstreamTimeout, "no answer after the CoAP retransmissions")
            : key == "dtls"  ? make_error(Status::UpstreamFailed, client->handshake_failure())
            : key == "reset" ? make_error(Status::UpstreamFailed, "the server reset the request")
                             : make_error(Status::UpstreamFailed, "the server is unreachable");
        client->waiting_ = false;
    } catch (...) {
    }
}

int CoapClient::on_event(coap_session_t* session, const coap_event_t event) {
    CoapClient* client = self(session);
    if (!client || session != client->session_.get()) return 0;
    if (event == COAP_EVENT_DTLS_ERROR || event == COAP_EVENT_DTLS_CLOSED) {
        client->session_closed_ = true;
        // The nack handler, called for the same failure in the same coap_io_process, knows more: request()
        // uses this only when no nack came.
        client->session_event_ = event;
        if (client->handshake_cause_.empty()) client->handshake_cause_ = dtls_failure_cause(session);
    }
    return 0;
}

std::string CoapClient::handshake_failure() const {
    return handshake_cause_.empty() ? kHandshakeFailed : "DTLS handshake failed: " + handshake_cause_;
}

Result<CoapAnswer> CoapClient::request(const CoapRequest& request, std::chrono::milliseconds timeout) {
    if (auto started = ensure_session(); !started) return started.error();
    answer_.reset();
    failure_.reset();
    session_event_.reset();
    handshake_cause_.clear();
    ESTGW_TRY(token, send_request(session_.get(), request));
    token_ = std::move(token);
    waiting_ = true;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (waiting_) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                          std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            waiting_ = false;
            session_closed_ = true;  // its retransmissions are abandoned with it
            return make_error(Status::UpstreamTimeout,
                              "no answer within " + std::to_string(timeout.count() / 1000) + " s");
        }
        coap_io_process(context_.get(),
                        static_cast<std::uint32_t>(std::clamp<long long>(left.count(), 1, 100)));
        if (waiting_ && session_event_) {
            waiting_ = false;
            const bool handshake = *session_event_ == COAP_EVENT_DTLS_ERROR || !handshake_cause_.empty();
            failure_ =
                make_error(Status::UpstreamFailed, handshake ? handshake_failure()
                                                             : "the DTLS session was closed or never opened "
                                                               "(is the server reachable?)");
        }
    }
    if (failure_) return *failure_;
    return std::move(*answer_);
}

Result<void> CoapClient::handshake(std::chrono::milliseconds timeout) {
    if (auto started = ensure_session(); !started) return started.error();
    session_event_.reset();
    handshake_cause_.clear();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (coap_session_get_state(session_.get()) != COAP_SESSION_STATE_ESTABLISHED) {
        if (session_event_ || session_closed_) return make_error(Status::UpstreamFailed, handshake_failure());
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                          std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            session_closed_ = true;
            return make_error(Status::UpstreamTimeout,
                              "no DTLS handshake within " + std::to_string(timeout.count() / 1000) + " s");
        }
        coap_io_process(context_.get(),
                        static_cast<std::uint32_t>(std::clamp<long long>(left.count(), 1, 100)));
    }
    return {};
}

std::uint16_t CoapClient::local_port() const {
    if (!session_) return 0;
    const coap_address_t* local = coap_session_get_addr_local(session_.get());
    return local ? coap_address_get_port(local) : 0;
}

std::vector<Bytes> CoapClient::server_chain() const {
    std::vector<Bytes> chain;
    if (!session_ || session_closed_) return chain;
    coap_tls_library_t library = COAP_TLS_LIBRARY_NOTLS;
    const auto* ssl = static_cast<const SSL*>(coap_session_get_tls(session_.get(), &library));
    if (!ssl || library != COAP_TLS_LIBRARY_OPENSSL) return chain;
    const X509* own = SSL_get0_peer_certificate(ssl);
    if (!own) return chain;
    if (auto der = certificate_to_der(own)) chain.push_back(std::move(*der));
    // On the client side OpenSSL's peer chain starts with the server's own certificate again.
    STACK_OF(X509)* sent = SSL_get_peer_cert_chain(ssl);
    for (int i = 0; sent && i < sk_X509_num(sent); ++i) {
        const X509* cert = sk_X509_value(sent, i);
        if (X509_cmp(cert, own) == 0) continue;
        if (auto der = certificate_to_der(cert)) chain.push_back(std::move(*der));
    }
    return chain;
}

void CoapClient::idle(std::chrono::milliseconds duration) {
    auto deadline = std::chrono::steady_clock::now() + duration;
    for (auto now = std::chrono::steady_clock::now(); now < deadline;
         now = std::chrono::steady_clock::now()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
        coap_io_process(context_.get(), static_cast<std::uint32_t>(std::clamp<long long>(left, 1, 100)));
    }
}

}  // namespace estgw::client
