// Boost.Program_options input from the command line, with errors that name the fix: the closest known option
// for an unknown one, and the command's --help instead of a dump of every option.
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <string_view>

namespace estgw::gateway {

// One line for a command-line error of `command` ("estgw enroll"), without the command prefix:
// "unrecognised option '--sever'; did you mean '--server'? See 'estgw enroll --help'."
std::string command_line_error(const boost::program_options::error& error,
                               const boost::program_options::options_description& desc,
                               std::string_view command);

}  // namespace estgw::gateway
