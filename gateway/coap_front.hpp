// The CoAP/DTLS front: owns the libcoap context and everything libcoap, on one I/O thread (DESIGN.md
// "Threads"; libcoap 4.3.1 is not thread-safe).
//
// The loop waits in epoll on libcoap's fd, an eventfd fed by workers with finished answers, and a signalfd.
// Fast answers (errors, discovery, cached /crts and /att) are piggybacked at once; everything else is
// registered as an async (separate response), handed to the Backend, and answered when its result arrives.
#pragma once

#include <coap3/coap.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/est.hpp"
#include "common/log.hpp"
#include "common/result.hpp"
#include "gateway/backend.hpp"
#include "gateway/coap_block1.hpp"
#include "gateway/dtls_credentials.hpp"
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
    std::chrono::seconds drain_timeout{35};
    SessionLimits sessions;
    std::chrono::seconds block_timeout{30};  // an incomplete Block1 body with no new block is dropped
};

// Routes libcoap's own log lines into estgw's log (event "libcoap") at the matching level: debug level
// shows libcoap's info lines, otherwise warnings and worse.
void route_libcoap_logging(log::Level level);

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

    // Serves until SIGTERM or SIGINT (which the caller must have blocked in every thread), then drains the
    // requests in flight (up to drain_timeout) and returns.
    Result<void> run();

  private:
    struct PendingKey {
        coap_session_t* session;
        Bytes token;
        bool operator<(const PendingKey& o) const {
            return session != o.session ? session < o.session : token < o.token;
        }
    };
    struct Pending {
        EstRequest request;  // without body: what the answer conversion needs
        std::optional<EstResponse> response;
        std::chrono::steady_clock::time_point started;
        std::size_t bytes_in = 0;
    };
    struct Completion {
        PendingKey key;
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
    DtlsNewAssociationWatch new_associations_;
    DtlsHelloGate hello_gate_;
    std::map<PendingKey, Pending> pending_;
    EventQueue<Completion> completions_;
    Block1Receiver blocks_;
    bool draining_ = false;
};

}  // namespace estgw::gateway
