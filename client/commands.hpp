// The pledge-side estgw subcommands (enroll, bench, pledge), dispatched by gateway/main.cpp like the
// server-side ones. Each takes its arguments (without the command word) and returns the exit code
// (common/command_line.hpp; 3 when the server did not answer).
#pragma once

#include <string>
#include <vector>

#include "common/command_line.hpp"

namespace estgw::client {

int run_enroll(const std::vector<std::string>& args);
int run_bench(const std::vector<std::string>& args);
int run_pledge(const std::vector<std::string>& args);

}  // namespace estgw::client
