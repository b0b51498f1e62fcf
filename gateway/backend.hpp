// What the CoAP front hands requests to (DESIGN.md "Backends"): the upstream relay in gateway mode, the local
// CA in full-server mode. Requests and answers are in EST terms only.
#pragma once

#include <functional>
#include <optional>

#include "common/est.hpp"

namespace estgw::gateway {

class Backend {
  public:
    virtual ~Backend() = default;

    // GET resources (crts, att) are answered at once, never as a separate response: libcoap 4.3.1 clients
    // fail on deferred multi-block GET answers (PLATFORM-NOTES). Called on the I/O thread: must not block.
    virtual EstResponse answer_now(const EstRequest& request) = 0;

    // Everything else. `done` is called exactly once, from any thread (normally a worker); when the backend
    // is overloaded it is called at once with 5.03 + Max-Age. Called on the I/O thread: must not block.
    virtual void submit(EstRequest request, std::function<void(EstResponse)> done) = 0;

    // Operations this backend cannot serve in its configuration (answered 4.04 and not advertised).
    virtual std::vector<Operation> unavailable_operations() const { return {}; }
};

}  // namespace estgw::gateway
