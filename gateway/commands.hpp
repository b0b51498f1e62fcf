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
int run_masa(const std::vector<std::string>& args);

}  // namespace estgw::gateway
