// The CoAP/DTLS front: owns a libcoap context and everything libcoap, on one I/O thread (DESIGN.md
// "Threads"; libcoap 4.3.1 is not thread-safe). With --io-threads N there are N of these (coap_fronts.hpp),
// each with its own context, sockets and thread, sharing the listening addresses through SO_REUSEPORT.
//
// The loop waits in epoll on libcoap's fd, an eventfd fed by workers with finished answers, and an eventfd
// by which CoapFronts asks it to drain (it reads SIGTERM/SIGINT for every front).
// Fast answers (errors, discovery, cached /crts and /att) are piggybacked at once; everything else is
// registered as an async (separate response), handed to the Backend, and answered when its result arrives
// or when its deadline passes first (deferred_answers.hpp).
#pragma once

#include <coap3/coap.h>

#include <atomic>
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
#include "common/file_descriptor.hpp"
#include "common/log.hpp"
#include "common/result.hpp"
#include "gateway/backend.hpp"
#include "gateway/coap_block1.hpp"
#include "gateway/deferred_answers.hpp"
#include "gateway/dtls_handshakes.hpp"
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
    // --io-threads: this front's index (its thread's name, coap-io-<index>, and its metrics label) and how
    // many fronts there are. With more than one, every socket is bound with SO_REUSEPORT and this front
    // holds its share of sessions.max_idle_sessions (idle_session_share).
    unsigned index = 0;
    unsigned fronts = 1;
};

// What the fronts of one process share: the handshakes in progress, which --max-handshakes and
// --max-handshakes-per-address limit in total, and each front's open sessions for the summed gauge.
struct FrontsShared {
    explicit FrontsShared(std::size_t fronts) : sessions_open(fronts) {}
    HandshakeTotals handshakes;
    std::vector<std::atomic<std::size_t>> sessions_open;  // by front index
};

// Front `index`'s share of `total` idle sessions out of `count` fronts: the shares add up to `total`, each
// at least 1 (0 stays 0: no limit).
unsigned idle_session_share(unsigned total, std::size_t count, std::size_t index);

struct CoapContextDeleter {
    void operator()(coap_context_t* c) const noexcept { coap_free_context(c); }
};
using CoapContextPtr = std::unique_ptr<coap_context_t, CoapContextDeleter>;

class CoapFront {
  public:
    CoapFront(FrontConfig config, Backend& backend, FrontsShared& shared);
    ~CoapFront();
    CoapFront(const CoapFront&) = delete;
    CoapFront& operator=(const CoapFront&) = delete;

    // Creates the context, DTLS set-up, endpoints and resources. Errors name what failed.
    Result<void> start();

    // Serves on the calling thread (which it names coap-io-<index>) until request_drain, then drains: new
    // requests get 5.03 + Max-Age, and the requests in flight their answers until the drain deadline has
    // passed; those still waiting then get 5.03 + Max-Age. Returns once all these answers have been sent.
    Result<void> run();

    // Drops the datagrams already waiting in the listening sockets. CoapFronts calls it once every front
    // has bound its sockets: until the SO_REUSEPORT group is complete the kernel may deliver a client's
    // datagram to a socket whose front would not see that client's next ones, and a client answered from
    // there would be stuck (its cookie-bearing ClientHello reaching another front). Dropped, it sends its
    // datagram again, and from then on the client's address and port map to one socket.
    std::size_t drop_early_datagrams();

    // After run(): the requests answered 5.03 when the drain timeout passed, and those whose answers could
    // not be sent before the loop gave up (CoapFronts logs the totals).
    std::size_t drain_timeout_answers() const { return drain_timeout_answers_; }
    std::size_t drain_unsent() const { return drain_unsent_; }

    // Any thread: begins the drain, which ends at `deadline`. Later calls change nothing.
    void request_drain(std::chrono::steady_clock::time_point deadline);

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
    // The start-up handshake (dtls_self_handshake.hpp) on a throw-away endpoint of its own on loopback, made
    // before the --listen endpoints: another front's socket in the SO_REUSEPORT group could receive it
    // there. Afterwards the gate is active (unless it failed, which is logged) and the endpoint gone.
    void knock_on_self(int family);
    Result<void> listen_on(const ListenAddress& listen);
    // Drops what this front keeps for a session that libcoap ends.
    void forget(coap_session_t* session);
    void count_request();
    bool shares_addresses() const { return config_.fronts > 1; }
    unsigned idle_sessions() const {
        return idle_session_share(config_.sessions.max_idle_sessions, config_.fronts, config_.index);
    }

    FrontConfig config_;
    Backend& backend_;
    FrontsShared& shared_;
    FileDescriptor drain_fd_;  // an eventfd: request_drain's wake-up
    std::atomic<bool> drain_requested_{false};
    std::atomic<std::chrono::steady_clock::rep> drain_deadline_{0};  // set before drain_requested_
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
    std::size_t drain_timeout_answers_ = 0, drain_unsent_ = 0;  // for CoapFronts' summary
    std::vector<coap_session_t*> to_close_;                     // each holds a reference until it is closed
};

}  // namespace estgw::gateway
