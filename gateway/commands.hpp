// The server-side estgw subcommands; the client ones (enroll, bench) are in client/commands.hpp. Each takes
// its arguments (without the command words) and returns the exit code (common/command_line.hpp).
#pragma once

#include <string>
#include <vector>

#include "common/command_line.hpp"

namespace estgw::gateway {

int run_serve(const std::vector<std::string>& args);
int run_pki_init(const std::vector<std::string>& args);
int run_certs_list(const std::vector<std::string>& args);
int run_pledges_list(const std::vector<std::string>& args);
int run_pledges_show(const std::vector<std::string>& args);
int run_masa(const std::vector<std::string>& args);
int run_health(const std::vector<std::string>& args);

// Where `estgw health` asks without --metrics or $ESTGW_METRICS_URL.
inline constexpr const char* kDefaultMetricsUrl = "http://127.0.0.1:9464";

}  // namespace estgw::gateway
