// --io-threads N: N CoAP fronts (coap_front.hpp), each with its own libcoap context, sockets and thread,
// all bound to every --listen address with SO_REUSEPORT (reuseport_bind.hpp). libcoap 4.3.1 is not
// thread-safe across one context, so the DTLS handshakes of one context all run on one thread; this puts
// every core to work on them.
//
// Why a client's session stays on one front: libcoap 4.3.1 answers a DTLS server session through its
// endpoint's socket (it opens no connected socket per session), and for a SO_REUSEPORT group of unconnected
// UDP sockets the kernel picks the socket by a hash of the source and destination address and port, which
// stays the same while the group does. The group is complete before any front reads: every front binds
// its sockets in start(), and the start-up handshake each one needs runs on a throw-away loopback endpoint
// of its own (CoapFront::knock_on_self), not on the shared addresses.
//
// What stays one for the process: the workers and backend, logging, the metrics (the gauges are sums; the
// estgw_coap_front_* counters show each front), and the limits. --max-handshakes and
// --max-handshakes-per-address count the handshakes of every front (HandshakeTotals). --max-idle-sessions
// is split between the fronts (libcoap applies it per context): together they never hold more.
//
// Signals: SIGTERM/SIGINT are read here, on the thread that calls run(), and every front is told to drain
// with the same deadline; run() returns once every front has answered what it had in flight.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "common/result.hpp"
#include "gateway/backend.hpp"
#include "gateway/coap_front.hpp"

namespace estgw::gateway {

class CoapFronts {
  public:
    // `config` is every front's but for its index.
    CoapFronts(const FrontConfig& config, std::size_t count, Backend& backend);
    ~CoapFronts();
    CoapFronts(const CoapFronts&) = delete;
    CoapFronts& operator=(const CoapFronts&) = delete;

    // Starts each front in turn (contexts, start-up handshakes, endpoints); errors name what failed.
    Result<void> start();

    // Called once on the calling thread when the drain begins, with the time it ends.
    using DrainStarted = std::function<void(std::chrono::steady_clock::time_point drain_deadline)>;

    // Runs every front on its own thread until SIGTERM or SIGINT (which the caller must have blocked in
    // every thread), then drains them all (CoapFront::run). A front whose loop fails makes every other one
    // drain too; the first failure is returned once all have ended.
    Result<void> run(const DrainStarted& drain_started);

  private:
    FrontConfig config_;
    FrontsShared shared_;
    std::vector<std::unique_ptr<CoapFront>> fronts_;
};

}  // namespace estgw::gateway
