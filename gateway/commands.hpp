// The estgw subcommands. Each takes its arguments (without the command words) and returns the exit code:
// 0 success, 1 failure at run time, 2 bad usage or configuration, 3 (client commands) no answer from the
// server.
#pragma once

#include <string>
#include <vector>

namespace estgw::gateway {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitNoAnswer = 3;

int run_serve(const std::vector<std::string>& args);
int run_pki_init(const std::vector<std::string>& args);
int run_certs_list(const std::vector<std::string>& args);
int run_enroll(const std::vector<std::string>& args);
int run_bench(const std::vector<std::string>& args);
int run_health(const std::vector<std::string>& args);

// Where `estgw health` asks without --metrics or $ESTGW_METRICS_URL.
inline constexpr const char* kDefaultMetricsUrl = "http://127.0.0.1:9464";

}  // namespace estgw::gateway
