// libcoap's own log lines, in estgw's log (event "libcoap"): at the matching level, without the line
// libcoap writes for the key it is deliberately not given, and throttled per kind, because an outsider can
// make libcoap repeat most of them at will.
#pragma once

#include "common/log.hpp"

namespace estgw::gateway {

// Routes libcoap's log lines into estgw's log: debug level shows libcoap's info lines, otherwise warnings
// and worse.
void route_libcoap_logging(log::Level level);

// Writes the "... and N more in the last 10 s" lines whose period has ended (the CoAP front's loop).
void flush_libcoap_log_summaries();

}  // namespace estgw::gateway
