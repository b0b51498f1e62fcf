// Refusing an address another socket already holds. libcoap 4.3.1 binds its UDP endpoints with SO_REUSEADDR,
// which on Linux lets a second process share the port and silently take part of the traffic: a second
// registrar would then issue from its own database. (The HTTPS listener, once cpp-httplib's with SO_REUSEPORT
// too, now sets SO_REUSEADDR only; its address is probed all the same, for one message either way.) A probe
// socket bound without those options fails where another socket holds the address, IPv4, IPv6 and the [::]
// wildcard against a specific address alike.
#pragma once

#include <string_view>

#include "common/result.hpp"
#include "gateway/serve_options.hpp"

namespace estgw::gateway {

enum class Transport { Udp, Tcp };

// Status::BadRequest naming `option`, the address and what holds it (or why it cannot be bound at all).
// The probe is closed again before returning, so that the real listener can bind.
Result<void> check_address_free(const ListenAddress& address, Transport transport, std::string_view option);

}  // namespace estgw::gateway
