#include "gateway/coap_front.hpp"

#include <malloc.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>

#include "common/file_descriptor.hpp"
#include "common/log.hpp"
#include "common/openssl.hpp"
#include "common/tls_events.hpp"
#include "common/x509.hpp"
#include "gateway/coap_answer.hpp"
#include "gateway/coap_request_pdu.hpp"
#include "gateway/dtls_self_handshake.hpp"
#include "gateway/libcoap_log.hpp"
#include "gateway/metrics.hpp"
#include "gateway/own_sockets.hpp"
#include "gateway/peer_identity.hpp"
#include "gateway/refused_handshakes.hpp"
#include "gateway/reuseport_bind.hpp"
#include "mapping/coap_request.hpp"
#include "mapping/resources.hpp"

namespace estgw::gateway {

namespace {

// Debug-only TLS key log (--keylog-file); OpenSSL's callback carries no user pointer.
std::mutex g_keylog_mutex;
std::FILE* g_keylog = nullptr;

void write_keylog(const SSL*, const char* line) {
    std::lock_guard lock(g_keylog_mutex);
    if (g_keylog) {
        std::fprintf(g_keylog, "%s\n", line);
        std::fflush(g_keylog);
    }
}

std::string address_text(const coap_session_t* session) {
    char buf[INET6_ADDRSTRLEN + 16];
    size_t n = coap_print_addr(coap_session_get_addr_remote(session), reinterpret_cast<unsigned char*>(buf),
                               sizeof buf);
    return std::string(buf, n);
}

// Sets the receive buffer; as root (CAP_NET_ADMIN) beyond net.core.rmem_max. Returns what the kernel
// granted (it reports twice the usable size).
std::size_t set_receive_buffer(int fd, std::size_t bytes) {
    const int wanted = static_cast<int>(std::min<std::size_t>(bytes, INT32_MAX / 2));
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &wanted, sizeof wanted) != 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &wanted, sizeof wanted);
    }
    int granted = 0;
    socklen_t length = sizeof granted;
    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &length);
    return static_cast<std::size_t>(granted) / 2;
}

Result<coap_address_t> resolve(const ListenAddress& listen) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    std::string port = std::to_string(listen.port);
    int rc = getaddrinfo(listen.host.c_str(), port.c_str(), &hints, &found);
    if (rc != 0 || !found) {
        return make_error(Status::BadRequest,
                          "cannot resolve listen address " + listen.text() + ": " + gai_strerror(rc));
    }
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owner(found, freeaddrinfo);
    coap_address_t addr;
    coap_address_init(&addr);
    addr.size = found->ai_addrlen;
    std::memcpy(&addr.addr, found->ai_addr, found->ai_addrlen);
    return addr;
}

// After the drain timeout, how long the answers given then may take to leave (libcoap sends them at once).
constexpr std::chrono::milliseconds kDrainSendLimit{500};

}  // namespace

unsigned idle_session_share(unsigned total, std::size_t count, std::size_t index) {
    if (total == 0 || count == 0) return total;
    const auto share = static_cast<unsigned>(total / count + (index < total % count ? 1 : 0));
    return std::max(1u, share);
}

CoapFront::CoapFront(FrontConfig config, Backend& backend, FrontsShared& shared)
    : config_(std::move(config)),
      backend_(backend),
      shared_(shared),
      drain_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      hello_gate_(HandshakeLimits{config_.sessions.max_handshakes,
                                  config_.sessions.max_handshakes_per_address,
                                  config_.sessions.handshake_timeout}),
      blocks_(block1_limits(config_.routes.max_body, config_.block_timeout, idle_sessions())) {
    if (drain_fd_.get() < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
    hello_gate_.share_totals(&shared_.handshakes);
}

CoapFront::~CoapFront() {
    // Requests whose answers could not be sent hold a session reference each; libcoap asserts that no
    // session is referenced when its endpoint is freed.
    if (context_) {
        for (coap_session_t* session : to_close_)
            coap_session_release(session);
        deferred_.release_all();
    }
    context_.reset();
    std::lock_guard lock(g_keylog_mutex);
    if (g_keylog) {
        std::fclose(g_keylog);
        g_keylog = nullptr;
    }
}

int CoapFront::tls_setup(void* tls_session, coap_dtls_pki_t*) {
    auto* ssl = static_cast<SSL*>(tls_session);
    auto* session = static_cast<coap_session_t*>(SSL_get_app_data(ssl));
    auto* self =
        session ? static_cast<CoapFront*>(coap_get_app_data(coap_session_get_context(session))) : nullptr;
    // libcoap was given no key (see DtlsCredentials): the certificate, chain and key are installed here.
    if (!self || !self->credentials_ || !self->credentials_->install(ssl)) {
        log::error("dtls-credentials", {{"reason", "cannot install the server certificate on a new session"},
                                        {"openssl", openssl_errors()}});
        return 0;
    }
    // The first server session shows libcoap's SSL_CTX: from now on the gate checks the cookies.
    self->hello_gate_.install_cookie_check(SSL_get_SSL_CTX(ssl));
    self->new_associations_.watch(ssl, session);
    refused_handshakes::watch_dtls(ssl);
    // No session tickets (RFC 5077): building one re-encodes the session and re-parses the client's
    // certificate, and the ticket (which carries that certificate) lengthens the last flight on a constrained
    // link. Resumption by session ID (RFC 7925 §10) still works from OpenSSL's server-side cache.
    SSL_set_options(ssl, SSL_OP_NO_TICKET);
    // RFC 9148 §3 (after RFC 7925): TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 is mandatory; the rest are the forward
    // secret AEAD suites OpenSSL offers for DTLS 1.2.
    SSL_set_cipher_list(
        ssl,
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-CCM8:ECDHE-ECDSA-AES128-CCM:"
        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:"
        "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305");
    std::lock_guard lock(g_keylog_mutex);
    if (g_keylog) SSL_CTX_set_keylog_callback(SSL_get_SSL_CTX(ssl), write_keylog);
    return 1;
}

Result<void> CoapFront::start() {
    context_.reset(coap_new_context(nullptr));
    if (!context_) return make_error(Status::Internal, "cannot create the CoAP context");
    coap_context_t* ctx = context_.get();
    coap_set_app_data(ctx, this);
    // Block2 answers by libcoap; Block1 bodies block by block through blocks_ (coap_block1.hpp says why).
    coap_context_set_block_mode(ctx, COAP_BLOCK_USE_LIBCOAP);
    // Uri-Path-Abbrev is critical: without registering it libcoap would answer 4.02 before we can expand it.
    coap_register_option(ctx, mapping::kUriPathAbbrevOption);
    coap_register_event_handler(ctx, handle_event);
    coap_register_nack_handler(ctx, handle_nack);
    coap_context_set_max_handshake_sessions(ctx, config_.sessions.max_handshakes);
    coap_context_set_max_idle_sessions(ctx, idle_sessions());
    coap_context_set_session_timeout(ctx, static_cast<unsigned>(config_.sessions.idle_timeout.count()));

    if (!config_.keylog_file.empty()) {
        std::lock_guard lock(g_keylog_mutex);
        g_keylog = std::fopen(config_.keylog_file.c_str(), "a");
        if (!g_keylog)
            return make_error(Status::BadRequest, "--keylog-file: cannot open " + config_.keylog_file);
        log::warn("keylog-enabled",
                  {{"file", config_.keylog_file}, {"note", "DTLS secrets are being written: debug only"}});
    }

    auto credentials = DtlsCredentials::load(config_.cert_file, config_.key_file, config_.client_ca_file);
    if (!credentials) return credentials.error();
    credentials_ = std::move(*credentials);
    log::info("dtls-certificate",
              {{"subject", name_to_string(X509_get_subject_name(credentials_->certificate()))},
               {"chain", credentials_->chain_length()}});

    coap_dtls_pki_t pki{};
    pki.version = COAP_DTLS_PKI_SETUP_VERSION;
    pki.verify_peer_cert = 1;  // RFC 9148 §3: clients MUST authenticate with a certificate
    pki.check_common_ca = 0;   // the trust anchors come from --client-ca (coap_context_set_pki_root_cas)
    pki.allow_self_signed = 0;
    pki.allow_expired_certs = 0;
    pki.cert_chain_validation = 1;
    pki.cert_chain_verify_depth = 4;
    pki.additional_tls_setup_call_back = tls_setup;
    // Deliberately no key for libcoap (an empty DER key): its per-session set-up then returns at once,
    // having logged kNoLibcoapKeyMessage, and tls_setup installs the pre-parsed credentials_.
    pki.pki_key.key_type = COAP_PKI_KEY_ASN1;
    pki.pki_key.key.asn1.public_cert = nullptr;
    pki.pki_key.key.asn1.public_cert_len = 0;
    pki.pki_key.key.asn1.private_key = nullptr;
    pki.pki_key.key.asn1.private_key_len = 0;
    pki.pki_key.key.asn1.ca_cert = nullptr;
    pki.pki_key.key.asn1.ca_cert_len = 0;
    if (!coap_context_set_pki(ctx, &pki))
        return make_error(Status::Internal, "libcoap refused the DTLS set-up");
    if (!coap_context_set_pki_root_cas(ctx, config_.client_ca_file.c_str(), nullptr)) {
        return make_error(Status::BadRequest,
                          "--client-ca: libcoap could not load " + config_.client_ca_file);
    }

    if (config_.listen.empty()) return make_error(Status::BadRequest, "--listen: no address to listen on");
    auto first = resolve(config_.listen.front());
    if (!first) return first.error();
    knock_on_self(first->addr.sa.sa_family);

    for (const auto& listen : config_.listen) {
        if (auto listening = listen_on(listen); !listening) return listening;
    }
    if (hello_gate_.active()) {
        if (hello_gate_.take_over(coap_context_get_coap_fd(ctx))) {
            log::debug("dtls-hello-gate", {{"state", "active"}, {"front", config_.index}});
        } else {
            log::warn("dtls-hello-gate",
                      {{"state", "filtering only"},
                       {"reason", "libcoap's socket registration could not be read from /proc"}});
        }
    }
    return add_resources();
}

Result<void> CoapFront::listen_on(const ListenAddress& listen) {
    auto addr = resolve(listen);
    if (!addr) return addr.error();
    // libcoap 4.3.1 has no call that returns an endpoint's socket: the new one is the one not there before.
    const std::set<int> before = own_sockets(SOCK_DGRAM);
    {
        std::optional<ReusePortBinds> reuse_port;
        if (shares_addresses()) reuse_port.emplace();
        if (!coap_new_endpoint(context_.get(), &*addr, COAP_PROTO_DTLS)) {
            return make_error(Status::BadRequest,
                              "cannot listen on " + listen.text() + " (UDP): " + std::strerror(errno));
        }
    }
    std::size_t receive_buffer = 0;
    for (int fd : own_sockets(SOCK_DGRAM)) {
        if (before.count(fd) != 0) continue;
        if (shares_addresses() && !has_reuseport(fd)) {
            return make_error(Status::Internal, "--io-threads: the socket for " + listen.text() +
                                                    " was bound without SO_REUSEPORT (reuseport_bind.hpp)");
        }
        hello_gate_.watch_socket(fd);
        if (config_.sessions.udp_receive_buffer != 0)
            receive_buffer = set_receive_buffer(fd, config_.sessions.udp_receive_buffer);
    }
    if (config_.sessions.udp_receive_buffer != 0) {
        if (receive_buffer < config_.sessions.udp_receive_buffer) {
            log::warn("udp-receive-buffer", {{"address", listen.text()},
                                             {"wanted", config_.sessions.udp_receive_buffer},
                                             {"granted", receive_buffer},
                                             {"hint", "raise net.core.rmem_max, or run with CAP_NET_ADMIN"}});
        }
    }
    // The limits are the process's (coap_fronts.hpp): one line, from the first front.
    if (config_.index == 0) {
        log::info("listening", {{"address", listen.text()},
                                {"protocol", "coaps"},
                                {"receive_buffer", receive_buffer},
                                {"max_handshakes", config_.sessions.max_handshakes},
                                {"max_handshakes_per_address", config_.sessions.max_handshakes_per_address},
                                {"handshake_timeout_s", config_.sessions.handshake_timeout.count()},
                                {"max_idle_sessions", config_.sessions.max_idle_sessions},
                                {"idle_timeout_s", config_.sessions.idle_timeout.count()}});
    }
    return {};
}

void CoapFront::knock_on_self(int family) {
    coap_context_t* ctx = context_.get();
    coap_address_t loopback;
    coap_address_init(&loopback);
    if (family == AF_INET6) {
        loopback.addr.sin6.sin6_family = AF_INET6;
        loopback.addr.sin6.sin6_addr = in6addr_loopback;
        loopback.size = sizeof(sockaddr_in6);
    } else {
        loopback.addr.sin.sin_family = AF_INET;
        loopback.addr.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        loopback.size = sizeof(sockaddr_in);
    }
    const std::set<int> before = own_sockets(SOCK_DGRAM);
    coap_endpoint_t* endpoint = coap_new_endpoint(ctx, &loopback, COAP_PROTO_DTLS);
    sockaddr_storage target{};
    socklen_t target_length = 0;
    for (int fd : own_sockets(SOCK_DGRAM)) {
        if (before.count(fd) != 0) continue;
        target_length = sizeof target;
        if (getsockname(fd, reinterpret_cast<sockaddr*>(&target), &target_length) != 0) target_length = 0;
    }
    Result<SelfHandshake> knocked = make_error(Status::Internal, "no loopback endpoint for it");
    if (endpoint && target_length != 0) {
        knocked = handshake_with_self(
            reinterpret_cast<const sockaddr*>(&target), target_length,
            [ctx](const sockaddr*) { coap_io_process(ctx, 10); }, [this] { return hello_gate_.active(); },
            std::chrono::seconds(3));
    }
    // Every session so far is the start-up handshake's: ended and forgotten here, before the endpoint goes
    // (coap_free_endpoint frees its sessions without an event).
    const std::vector<coap_session_t*> started(sessions_.begin(), sessions_.end());
    for (coap_session_t* session : started) {
        hello_gate_.session_gone(session);
        coap_session_disconnected(session, COAP_NACK_TLS_FAILED);
        forget(session);
    }
    coap_io_process(ctx, COAP_IO_NO_WAIT);
    if (endpoint) coap_free_endpoint(endpoint);
    if (!knocked) {
        // Still safe to serve: the first pledge's handshake installs the check instead. Until then a flood of
        // ClientHellos can hold libcoap's handshake slots, as without the gate.
        log::warn("dtls-hello-gate",
                  {{"state", "waiting for the first handshake"}, {"reason", knocked.error().message}});
    }
}

Result<void> CoapFront::add_resources() {
    coap_context_t* ctx = context_.get();
    auto disabled = [&](Operation op) {
        for (Operation d : config_.routes.disabled) {
            if (d == op) return true;
        }
        return false;
    };
    auto add = [&](const std::string& path, coap_method_handler_t handler) {
        coap_str_const_t* uri =
            coap_new_str_const(reinterpret_cast<const uint8_t*>(path.data()), path.size());
        coap_resource_t* r = coap_resource_init(uri, COAP_RESOURCE_FLAGS_RELEASE_URI);
        for (coap_request_t m : {COAP_REQUEST_GET, COAP_REQUEST_POST, COAP_REQUEST_PUT, COAP_REQUEST_DELETE,
                                 COAP_REQUEST_FETCH, COAP_REQUEST_PATCH, COAP_REQUEST_IPATCH}) {
            coap_register_request_handler(r, m, handler);
        }
        coap_add_resource(ctx, r);
    };
    // One libcoap resource per concrete path. libcoap 4.3.1 serves follow-up Block2 requests from a cache
    // keyed by resource and query only, so distinct paths must be distinct resources.
    std::vector<std::string> est_roots{std::string(mapping::kWellKnownEstRoot)};
    est_roots.insert(est_roots.end(), config_.routes.est_roots.begin(), config_.routes.est_roots.end());
    std::vector<std::string> brski_roots{std::string(mapping::kWellKnownBrskiRoot)};
    brski_roots.insert(brski_roots.end(), config_.routes.brski_roots.begin(),
                       config_.routes.brski_roots.end());
    for (const auto& res : mapping::resources()) {
        if (disabled(res.op)) continue;
        const auto& roots = res.family == mapping::Family::Est ? est_roots : brski_roots;
        for (const auto& root : roots) {
            add(root.substr(1) + "/" + std::string(res.short_name), handle_request);
            if (res.family != mapping::Family::Est) continue;
            for (const auto& label : config_.routes.labels) {
                add(root.substr(1) + "/" + label + "/" + std::string(res.short_name), handle_request);
            }
        }
    }
    add(".well-known/core", handle_discovery);
    // Everything else (unknown paths, unknown labels) still gets a precise answer from mapping/.
    coap_resource_t* unknown = coap_resource_unknown_init2(handle_request, 0);
    for (coap_request_t m : {COAP_REQUEST_GET, COAP_REQUEST_POST, COAP_REQUEST_DELETE, COAP_REQUEST_FETCH,
                             COAP_REQUEST_PATCH, COAP_REQUEST_IPATCH}) {
        coap_register_request_handler(unknown, m, handle_request);
    }
    coap_add_resource(ctx, unknown);
    return {};
}

void CoapFront::handle_request(coap_resource_t* resource, coap_session_t* session, const coap_pdu_t* request,
                               const coap_string_t* query, coap_pdu_t* response) {
    auto* self = static_cast<CoapFront*>(coap_get_app_data(coap_session_get_context(session)));
    try {
        self->on_request(resource, session, request, query, response);
    } catch (const std::exception& e) {
        // No exception may cross into libcoap (C); answer 5.00 instead.
        log::error("request-handler-failed", {{"what", e.what()}});
        coap_pdu_set_code(response, COAP_RESPONSE_CODE_INTERNAL_ERROR);
    }
}

void CoapFront::handle_discovery(coap_resource_t* resource, coap_session_t* session,
                                 const coap_pdu_t* request, const coap_string_t* query,
                                 coap_pdu_t* response) {
    auto* self = static_cast<CoapFront*>(coap_get_app_data(coap_session_get_context(session)));
    self->count_request();
    auto started = std::chrono::steady_clock::now();
    mapping::CoapResponse answer;
    if (coap_pdu_get_code(request) != COAP_REQUEST_CODE_GET) {
        answer = mapping::coap_error_response(Status::MethodNotAllowed, "/.well-known/core answers GET only");
    } else {
        std::string_view q =
            query ? std::string_view(reinterpret_cast<const char*>(query->s), query->length) : "";
        std::string links = mapping::discovery_payload(self->config_.discovery, mapping::split_query(q));
        answer.code = mapping::k2_05;
        answer.content_format = static_cast<unsigned>(ContentFormat::LinkFormat);
        answer.payload = to_bytes(links);
    }
    send_answer(resource, session, request, query, response, answer);
    log_request(nullptr, self->peer_for(session), answer, 0, 0, started, "/.well-known/core");
}

int CoapFront::handle_event(coap_session_t* session, coap_event_t event) {
    auto* self = static_cast<CoapFront*>(coap_get_app_data(coap_session_get_context(session)));
    auto& handshakes = metrics::estgw_metrics().dtls_handshakes;
    // A handshake that ends any other way than connected failed: an error, its timeout, or evicted.
    const bool handshake_failed =
        event != COAP_EVENT_DTLS_CONNECTED && self->hello_gate_.handshaking(session);
    switch (event) {
        case COAP_EVENT_SERVER_SESSION_NEW:
            self->hello_gate_.session_started(session, std::chrono::steady_clock::now());
            self->sessions_.insert(session);
            break;
        case COAP_EVENT_DTLS_CONNECTED:
            self->hello_gate_.session_connected(session);
            handshakes.add({"completed"});
            metrics::estgw_metrics().coap_front_sessions.add({std::to_string(self->config_.index)});
            break;
        case COAP_EVENT_DTLS_ERROR:
            self->hello_gate_.session_gone(session);
            if (handshake_failed) handshakes.add({"failed"});
            break;
        case COAP_EVENT_DTLS_CLOSED:
        case COAP_EVENT_SERVER_SESSION_DEL:
            self->hello_gate_.session_gone(session);
            if (handshake_failed) handshakes.add({"failed"});
            // libcoap 4.3.1 reports the end of every DTLS server session as DTLS_CLOSED (also when it frees
            // an idle one, which has no event of its own), possibly besides SERVER_SESSION_DEL.
            self->forget(session);
            break;
        default:
            break;
    }
    return 0;
}

void CoapFront::forget(coap_session_t* session) {
    sessions_.erase(session);
    peers_.erase(session);
    new_associations_.forget(session);
    blocks_.forget(session);
}

const PeerIdentity& CoapFront::peer_for(coap_session_t* session) {
    auto found = peers_.find(session);
    if (found != peers_.end()) return found->second;
    coap_tls_library_t library;
    auto* ssl = static_cast<SSL*>(coap_session_get_tls(session, &library));
    PeerIdentity peer =
        read_peer_identity(library == COAP_TLS_LIBRARY_OPENSSL ? ssl : nullptr, address_text(session));
    return peers_.emplace(session, std::move(peer)).first->second;
}

void CoapFront::on_request(coap_resource_t* resource, coap_session_t* session, const coap_pdu_t* request,
                           const coap_string_t* query, coap_pdu_t* response) {
    coap_bin_const_t token = coap_pdu_get_token(request);
    if (coap_find_async(session, token)) {
        finish_async(resource, session, request, query, response);
        return;
    }
    count_request();
    auto started = std::chrono::steady_clock::now();
    const PeerIdentity& peer = peer_for(session);
    mapping::CoapRequestView view = request_view(request);
    std::size_t length = 0, offset = 0, total = 0;
    const std::uint8_t* data = nullptr;
    if (coap_get_data_large(request, &length, &data, &offset, &total)) view.payload = ByteView(data, length);
    std::string path = join_path(view.uri_path);

    if (draining_) {
        const EstResponse stopping = shutting_down_answer();
        auto answer =
            mapping::coap_error_response(stopping.status, stopping.diagnostic, *stopping.retry_after);
        send_answer(resource, session, request, query, response, answer);
        log_request(nullptr, peer, answer, length, 0, started, path);
        return;
    }

    Bytes body;  // a Block1 body once its last block is in: what view.payload then points at
    if (auto block1 = uint_option(request, COAP_OPTION_BLOCK1)) {
        std::optional<mapping::CoapResponse> refusal;
        // A body the resource refuses anyway is refused at its first block, not reassembled.
        if (auto target = mapping::check_coap_request_target(view, config_.routes); !target) {
            refusal = mapping::error_response(target.error(), config_.routes);
        } else {
            std::string upload =
                view.uri_path_abbrev ? "Uri-Path-Abbrev " + std::to_string(*view.uri_path_abbrev) : path;
            auto block = blocks_.receive(session, request, *block1, upload, view.payload, started);
            if (block.kind == mapping::Block1Answer::Kind::Continue) {
                Block1Receiver::write_continue(response, block.block);
                return;
            }
            if (block.kind == mapping::Block1Answer::Kind::Refused) {
                refusal = Block1Receiver::refusal(block, config_.routes);
            } else {
                body = std::move(block.body);
                view.payload = body;
                length = body.size();
            }
        }
        if (refusal) {
            send_answer(resource, session, request, query, response, *refusal);
            log_request(nullptr, peer, *refusal, length, 0, started, path);
            return;
        }
    }

    auto parsed = mapping::parse_coap_request(view, config_.routes);
    if (!parsed) {
        auto answer = mapping::error_response(parsed.error(), config_.routes);
        send_answer(resource, session, request, query, response, answer);
        log_request(nullptr, peer, answer, length, 0, started, path);
        return;
    }
    EstRequest est = std::move(*parsed);
    est.peer = peer;

    if (mapping::resource_for(est.op).method == mapping::CoapMethod::Get) {
        EstResponse result = backend_.answer_now(est);
        auto converted = mapping::to_coap_response(est, result);
        auto answer = converted
                          ? *converted
                          : mapping::coap_error_response(converted.error().status, converted.error().message);
        send_answer(resource, session, request, query, response, answer);
        log_request(&est, peer, answer, length, result.upstream_status, started, path);
        return;
    }

    // A separate response (RFC 7252 §5.2.2). libcoap's async copy of the request drops bodies over ~1 KB,
    // which is why `est` already holds the body.
    DeferredAnswers::Entry entry;
    entry.request.op = est.op;
    entry.request.label = est.label;
    entry.request.accept = est.accept;
    entry.request.content_format = est.content_format;
    entry.request.peer = est.peer;
    entry.ticket = std::make_shared<RequestTicket>(started, config_.request_timeout);
    entry.bytes_in = length;
    auto ticket = entry.ticket;
    auto serial = deferred_.defer(session, request, std::move(entry));
    if (!serial) {
        auto answer = mapping::coap_error_response(Status::ServiceUnavailable, "cannot defer the answer",
                                                   std::chrono::seconds(5));
        send_answer(resource, session, request, query, response, answer);
        log_request(&est, peer, answer, length, 0, started, path);
        return;
    }
    DeferredAnswers::Key key{session, Bytes(token.s, token.s + token.length)};
    backend_.submit(std::move(est), std::move(ticket), [this, key, serial = *serial](EstResponse r) {
        completions_.push(Completion{key, serial, std::move(r)});
    });
}

// Sums across the fronts: each stores its own count, then sets the gauges to the totals it sees (at most one
// loop pass behind another front's).
void CoapFront::publish_gauges() {
    auto& m = metrics::estgw_metrics();
    shared_.sessions_open[config_.index].store(sessions_.size(), std::memory_order_relaxed);
    std::size_t sessions = 0;
    for (const auto& open : shared_.sessions_open)
        sessions += open.load(std::memory_order_relaxed);
    m.dtls_sessions_open.set({}, static_cast<double>(sessions));
    m.dtls_handshakes_in_progress.set({}, static_cast<double>(hello_gate_.all_handshakes()));
}

void CoapFront::count_request() {
    metrics::estgw_metrics().coap_front_requests.add({std::to_string(config_.index)});
}

void CoapFront::deliver_completions() {
    for (auto& c : completions_.take_all())
        deferred_.answer(c.key, c.serial, std::move(c.response));
}

// Outside libcoap's processing: the watch noticed these inside OpenSSL, where a session cannot be closed.
void CoapFront::handle_new_associations() {
    auto actions = new_associations_.due(std::chrono::steady_clock::now());
    for (coap_session_t* session : actions.probe) {
        log::info("dtls-new-association",
                  {{"peer", address_text(session)},
                   {"action", "a ClientHello came from the address of an established session: pinging it"}});
        if (coap_session_send_ping(session) == COAP_INVALID_MID) {
            actions.close.push_back(session);
            new_associations_.forget(session);
        }
    }
    for (coap_session_t* session : actions.close) {
        log::info(
            "dtls-new-association",
            {{"peer", address_text(session)},
             {"action", "closing the old session so that the new handshake can start (RFC 6347 §4.2.8)"}});
        coap_session_disconnected(session, COAP_NACK_TLS_FAILED);
    }
}

// libcoap 4.3.1 reports the RST that answers a ping it did not send for keep-alive as a NACK of the ping
// (reason RST), not to the pong handler: that RST is the probe's answer.
void CoapFront::handle_nack(coap_session_t* session, const coap_pdu_t*, const coap_nack_reason_t reason,
                            const coap_mid_t) {
    auto* self = static_cast<CoapFront*>(coap_get_app_data(coap_session_get_context(session)));
    if (reason == COAP_NACK_RST && self->new_associations_.answered(session)) {
        log::warn("dtls-new-association-refused",
                  {{"peer", address_text(session)},
                   {"reason",
                    "the established session answered its ping: the ClientHello did not come from "
                    "its peer"}});
    }
}

void CoapFront::finish_async(coap_resource_t* resource, coap_session_t* session, const coap_pdu_t* request,
                             const coap_string_t* query, coap_pdu_t* response) {
    auto ready = deferred_.take_ready(session, coap_pdu_get_token(request));
    if (!ready) return;
    auto converted = mapping::to_coap_response(ready->request, *ready->response);
    auto answer = converted
                      ? *converted
                      : mapping::coap_error_response(converted.error().status, converted.error().message);
    send_answer(resource, session, request, query, response, answer);
    auto segments = uri_path(request);
    log_request(&ready->request, ready->request.peer, answer, ready->bytes_in,
                ready->response->upstream_status, ready->ticket->arrival(), join_path(segments));
    if (ready->response->close_session) {
        // libcoap sends the answer after this handler returns: the session is closed after that, in the
        // loop, and keeps this request's reference until then.
        to_close_.push_back(session);
        return;
    }
    coap_session_release(session);
}

void CoapFront::close_sessions_after_answers() {
    for (coap_session_t* session : to_close_) {
        log::info("dtls-session-closed",
                  {{"peer", address_text(session)},
                   {"reason", "its voucher-request came through a man in the middle"}});
        coap_session_disconnected(session, COAP_NACK_TLS_FAILED);
        coap_session_release(session);
    }
    to_close_.clear();
}

std::size_t CoapFront::drop_early_datagrams() {
    std::size_t dropped = 0;
    std::uint8_t byte;
    for (int fd : hello_gate_.sockets()) {
        while (::recv(fd, &byte, sizeof byte, MSG_DONTWAIT | MSG_TRUNC) >= 0)
            ++dropped;
    }
    return dropped;
}

void CoapFront::request_drain(std::chrono::steady_clock::time_point deadline) {
    if (drain_requested_.load(std::memory_order_acquire)) return;
    drain_deadline_.store(deadline.time_since_epoch().count(), std::memory_order_relaxed);
    drain_requested_.store(true, std::memory_order_release);
    const std::uint64_t one = 1;
    [[maybe_unused]] auto written = ::write(drain_fd_.get(), &one, sizeof one);
}

Result<void> CoapFront::run() {
    const std::string thread_name = "coap-io-" + std::to_string(config_.index);
    pthread_setname_np(pthread_self(), thread_name.c_str());
    FileDescriptor epoll_fd(epoll_create1(EPOLL_CLOEXEC));
    int coap_fd = coap_context_get_coap_fd(context_.get());
    if (epoll_fd.get() < 0 || coap_fd < 0) {
        return make_error(Status::Internal, std::string("event loop set-up failed: ") + std::strerror(errno));
    }
    // The listening sockets too: once the hello gate holds them, libcoap's fd no longer wakes for them.
    std::vector<int> watched{coap_fd, completions_.fd(), drain_fd_.get()};
    watched.insert(watched.end(), hello_gate_.sockets().begin(), hello_gate_.sockets().end());
    for (int fd : watched) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        if (epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
            return make_error(Status::Internal, std::string("epoll_ctl: ") + std::strerror(errno));
        }
    }

    using Clock = std::chrono::steady_clock;
    std::optional<Clock::time_point> drain_deadline;
    bool drain_timed_out = false;
    while (true) {
        coap_tick_t ticks;
        coap_ticks(&ticks);
        const unsigned next = coap_io_prepare_epoll(context_.get(), ticks);
        int timeout_ms = next == 0 ? 1000 : static_cast<int>(std::min(next, 1000u));
        // Wake up for the next request deadline and the end of the drain too, not up to a second late.
        for (auto wake : {deferred_.next_deadline(), drain_timed_out ? std::nullopt : drain_deadline}) {
            if (!wake) continue;
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(*wake - Clock::now()).count();
            timeout_ms = std::clamp(static_cast<int>(std::min<long long>(left, timeout_ms)), 0, timeout_ms);
        }
        epoll_event events[8];
        int n = epoll_wait(epoll_fd.get(), events, 8, timeout_ms);
        if (n < 0 && errno != EINTR)
            return make_error(Status::Internal, std::string("epoll_wait: ") + std::strerror(errno));
        for (int i = 0; i < n; ++i) {
            if (events[i].data.fd == completions_.fd()) {
                deliver_completions();
            } else if (events[i].data.fd == drain_fd_.get()) {
                std::uint64_t count = 0;
                [[maybe_unused]] auto read = ::read(drain_fd_.get(), &count, sizeof count);
                if (!drain_deadline && drain_requested_.load(std::memory_order_acquire)) {
                    draining_ = true;
                    drain_deadline = Clock::time_point(Clock::duration(drain_deadline_.load()));
                    log::info("front-draining", {{"front", config_.index}, {"in_flight", deferred_.size()}});
                }
            }
        }
        const auto now = Clock::now();
        deferred_.answer_overdue(now, backend_);
        if (drain_deadline && now >= *drain_deadline && !drain_timed_out) {
            drain_timed_out = true;
            const auto answered = deferred_.answer_all(shutting_down_answer());
            drain_timeout_answers_ = answered;
            if (answered > 0)
                log::debug("front-drain-timeout",
                           {{"front", config_.index}, {"answered", "5.03"}, {"requests", answered}});
        }
        // ClientHellos first (dtls_hello_gate.hpp); then libcoap, which reads only what the gate let through,
        // handles retransmissions, and the asyncs just triggered (it sends their answers from inside this
        // call).
        hello_gate_.filter(now);
        coap_io_process(context_.get(), COAP_IO_NO_WAIT);
        close_sessions_after_answers();
        hello_gate_.disarm();
        hello_gate_.expire(now);
        if (hello_gate_.memory_to_return(now)) malloc_trim(0);
        handle_new_associations();
        blocks_.expire(std::chrono::steady_clock::now());
        publish_gauges();
        refused_handshakes::flush();
        flush_libcoap_log_summaries();
        if (drain_deadline && deferred_.empty()) break;
        if (drain_timed_out && now >= *drain_deadline + kDrainSendLimit) {
            drain_unsent_ = deferred_.size();
            break;
        }
    }
    return {};
}

}  // namespace estgw::gateway
