// Boost.Program_options input from the command line and from --config files, with errors that name the fix:
// the closest known option for an unknown one, the file and line of a value from a file, and the command's
// --help instead of a dump of every option. Shared by the server-side commands (gateway/) and the client
// commands (client/); a library of its own (estgw_command_line) because only the program links Boost.
#pragma once

#include <boost/program_options.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config_file.hpp"
#include "common/result.hpp"

namespace estgw {

// The exit codes of every estgw command: 0 success, 1 failure at run time, 2 bad usage or configuration,
// 3 (client commands) no answer from the server.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitNoAnswer = 3;

// Parses `args` into `vm`. Prints the help (exit 0, even when a required option is missing) or a one-line
// error pointing to --help (exit 2) and returns the exit code when the command must stop there. `usage`
// begins with the synopsis, "Usage: estgw enroll --server ...", whose words before the first option name the
// command in the error. `positional`, when given, names the options that words without a leading "--" fill
// (`estgw pledges show SERIAL`).
std::optional<int> parse_command_line(
    const std::vector<std::string>& args, const boost::program_options::options_description& desc,
    boost::program_options::variables_map& vm, const char* usage,
    const boost::program_options::positional_options_description* positional = nullptr);

// One line for a command-line error of `command` ("estgw enroll"), without the command prefix:
// "unrecognised option '--sever'; did you mean '--server'? See 'estgw enroll --help'."
std::string command_line_error(const boost::program_options::error& error,
                               const boost::program_options::options_description& desc,
                               std::string_view command);

// Where each option stored from a configuration file was set: "demo/estgw.conf:7" (",9" added for each
// further line of a repeatable option).
using ConfigOrigins = std::map<std::string, std::string>;

// Stores `entries` of the file `path` into `vm` as po::store(po::parse_config_file(...)) would: an option
// already on the command line keeps its value, a repeatable one collects the file's lines in order. Errors
// (Status::BadRequest) name the file and line: an unknown option with the closest known one, a value the
// option's type refuses, a single-valued option set twice.
Result<ConfigOrigins> store_config_entries(const std::vector<ConfigEntry>& entries, const std::string& path,
                                           const boost::program_options::options_description& desc,
                                           boost::program_options::variables_map& vm);

}  // namespace estgw
