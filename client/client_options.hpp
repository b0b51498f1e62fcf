// Command-line options shared by the client commands (`estgw enroll`, `estgw bench`): where the server is,
// who we are over DTLS, block size and answer timeout.
#pragma once

#include <boost/program_options.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "client/coap_client.hpp"

namespace estgw::client {

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

}  // namespace estgw::client
