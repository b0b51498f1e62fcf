// The CoAP/DTLS front: owns the libcoap context and everything libcoap, on one I/O thread (DESIGN.md
// "Threads"; libcoap 4.3.1 is not thread-safe).
//
// The loop waits in epoll on libcoap's fd, an eventfd fed by workers with finished answers, and a signalfd.
// Fast answers (errors, discovery, cached /crts and /att) are piggybacked at once; everything else is
// registered as an async (separate response), handed to the Backend, and answered when its result arrives
// or when its deadline passes first (deferred_answers.hpp).
#pragma once

#include <coap3/coap.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/dtls_credentials.hpp"
#include "common/est.hpp"
#include "common/log.hpp"
#include "common/result.hpp"
#include "gateway/backend.hpp"
#include "gateway/coap_block1.hpp"
#include "gateway/deferred_answers.hpp"
#include "gateway/dtls_hello_gate.hpp"
#include "gateway/dtls_new_association.hpp"
#include "gateway/event_queue.hpp"
#include "gateway/serve_options.hpp"
#include "mapping/coap_response.hpp"
#include "mapping/link_format.hpp"
#include "mapping/paths.hpp"

namespace estgw::gateway {

struct FrontConfig {
    std::vector<ListenAddress> listen;
    std::string cert_file, key_file, client_ca_file;
    std::string keylog_file;  // debug only
    mapping::RouteConfig routes;
    mapping::DiscoveryConfig discovery;
    std::chrono::seconds request_timeout{30};  // each deferred request's deadline, from its arrival
    std::chrono::seconds drain_timeout{35};
    SessionLimits sessions;
    std::chrono::seconds block_timeout{30};  // an incomplete Block1 body with no new block is dropped
};

struct CoapContextDeleter {
    void operator()(coap_context_t* c) const noexcept { coap_free_context(c); }
};
using CoapContextPtr = std::unique_ptr<coap_context_t, CoapContextDeleter>;

class CoapFront {
  public:
    CoapFront(FrontConfig config, Backend& backend);
    ~CoapFront();
    CoapFront(const CoapFront&) = delete;
    CoapFront& operator=(const CoapFront&) = delete;

    // Creates the context, DTLS set-up, endpoints and resources. Errors name what failed.
    Result<void> start();

    // Called on the I/O thread when the drain begins, with the time it ends.
    using DrainStarted = std::function<void(std::chrono::steady_clock::time_point drain_deadline)>;

    // Serves until SIGTERM or SIGINT (which the caller must have blocked in every thread), then drains:
    // new requests get 5.03 + Max-Age, and the requests in flight their answers until drain_timeout has
    // passed; those still waiting then get 5.03 + Max-Age. Returns once all these answers have been sent.
    Result<void> run(const DrainStarted& drain_started);

  private:
    struct Completion {
        DeferredAnswers::Key key;
        std::uint64_t serial;
        EstResponse response;
    };

    static void handle_request(coap_resource_t* resource, coap_session_t* session, const coap_pdu_t* request,
                               const coap_string_t* query, coap_pdu_t* response);
    static void handle_discovery(coap_resource_t* resource, coap_session_t* session,
                                 const coap_pdu_t* request, const coap_string_t* query, coap_pdu_t* response);
    static int handle_event(coap_session_t* session, coap_event_t event);
    static void handle_nack(coap_session_t* session, const coap_pdu_t* sent, const coap_nack_reason_t reason,
                            const coap_mid_t mid);
    static int tls_setup(void* tls_session, coap_dtls_pki_t* setup);

    void on_request(coap_resource_t* resource, coap_session_t* session, const coap_pdu_t* request,
                    const coap_string_t* query, coap_pdu_t* response);
    void finish_async(coap_resource_t* resource, coap_session_t* session, const coap_pdu_t* request,
                      const coap_string_t* query, coap_pdu_t* response);
    void deliver_completions();
    // Closes the sessions whose answers asked for it (EstResponse::close_session), once those are sent.
    void close_sessions_after_answers();
    // The gauges of metrics.hpp that only the I/O thread can read (sessions, handshakes), once per loop.
    void publish_gauges();
    void handle_new_associations();
    const PeerIdentity& peer_for(coap_session_t* session);
    Result<void> add_resources();
    void start_hello_gate(const coap_address_t& address);

    FrontConfig config_;
    Backend& backend_;
    std::optional<DtlsCredentials> credentials_;  // before context_: sessions may use them until it is freed
    CoapContextPtr context_;
    std::vector<std::string> resource_paths_;  // storage that outlives the resources' str_const copies
    std::unordered_map<coap_session_t*, PeerIdentity> peers_;
    std::unordered_set<coap_session_t*> sessions_;  // the DTLS server sessions libcoap holds
    DtlsNewAssociationWatch new_associations_;
    DtlsHelloGate hello_gate_;
    DeferredAnswers deferred_;
    EventQueue<Completion> completions_;
    Block1Receiver blocks_;
    bool draining_ = false;
    std::vector<coap_session_t*> to_close_;  // each holds a reference until it is closed
};

}  // namespace estgw::gateway
