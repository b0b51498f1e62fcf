// Boost.Program_options input from the command line and from --config files, with errors that name the fix:
// the closest known option for an unknown one, the file and line of a value from a file, and the command's
// --help instead of a dump of every option.
#pragma once

#include <boost/program_options.hpp>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/config_file.hpp"
#include "common/result.hpp"

namespace estgw::gateway {

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

}  // namespace estgw::gateway
