// Command-line options shared by the client commands (`estgw enroll`, `estgw bench`): where the server is,
// who we are over DTLS, block size and answer timeout.
#pragma once

#include <boost/program_options.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "gateway/coap_client.hpp"

namespace estgw::gateway {

struct ClientOptions {
    CoapsUrl url;
    DtlsIdentity identity;  // ca_file empty when --ca was not given
    std::optional<unsigned> block_size;
    std::chrono::seconds timeout{30};
};

// --server, --cert, --key, --ca, --block, --timeout.
void add_client_options(boost::program_options::options_description& desc);

// Checks them: a coaps URL, readable files, a valid block size, a timeout of at least one second. Errors are
// Status::BadRequest naming the option. --ca may be missing (the caller decides whether that is allowed).
Result<ClientOptions> read_client_options(const boost::program_options::variables_map& vm);

// Parses `args` into `vm`. Prints the help (exit 0, even when a required option is missing) or a one-line
// error pointing to --help (exit 2) and returns the exit code when the command must stop there. `usage`
// begins with the synopsis, "Usage: estgw enroll --server ...", whose words before the first option name the
// command in the error.
std::optional<int> parse_command_line(const std::vector<std::string>& args,
                                      const boost::program_options::options_description& desc,
                                      boost::program_options::variables_map& vm, const char* usage);

}  // namespace estgw::gateway
