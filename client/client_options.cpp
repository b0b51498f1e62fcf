#include "client/client_options.hpp"

#include <unistd.h>

namespace po = boost::program_options;

namespace estgw::client {

void add_client_options(po::options_description& desc) {
    // clang-format off
    desc.add_options()
        ("server", po::value<std::string>(),
         "coaps://HOST[:PORT][/root]: the EST-coaps server; port 5684 and root /.well-known/est by default")
        ("cert", po::value<std::string>(),
         "our DTLS client certificate (PEM, chain allowed): the IDevID, or the certificate being renewed")
        ("key", po::value<std::string>(), "its private key (PEM)")
        ("ca", po::value<std::string>(),
         "the trust anchors the server's certificate must chain to (PEM bundle); the certificate must also "
         "name the --server host (IP address or DNS name in subjectAltName)")
        ("block", po::value<unsigned>(),
         "Block-wise size for requests (Block1) and answers (early Block2): 16, 32, ..., 1024 (default: "
         "libcoap's, 1024 or what fits)")
        ("timeout", po::value<unsigned>()->default_value(30), "seconds to wait for each answer");
    // clang-format on
}

Result<ClientOptions> read_client_options(const po::variables_map& vm) {
    for (const char* required : {"server", "cert", "key"}) {
        if (!vm.count(required))
            return make_error(Status::BadRequest, std::string("the option '--") + required + "' is required");
    }
    ClientOptions out;
    ESTGW_TRY(url, parse_coaps_url(vm["server"].as<std::string>()));
    out.url = std::move(url);
    out.identity.cert_file = vm["cert"].as<std::string>();
    out.identity.key_file = vm["key"].as<std::string>();
    if (vm.count("ca")) out.identity.ca_file = vm["ca"].as<std::string>();
    out.identity.server_name = out.url.host;
    for (const auto& [option, file] :
         {std::pair{"--cert", out.identity.cert_file}, std::pair{"--key", out.identity.key_file},
          std::pair{"--ca", out.identity.ca_file}}) {
        if (!file.empty() && ::access(file.c_str(), R_OK) != 0)
            return make_error(Status::BadRequest, std::string(option) + ": cannot read " + file);
    }
    if (vm.count("block")) {
        unsigned size = vm["block"].as<unsigned>();
        if (!valid_block_size(size))
            return make_error(Status::BadRequest, "--block: " + std::to_string(size) +
                                                      " is not one of 16, 32, 64, 128, 256, 512, 1024");
        out.block_size = size;
    }
    unsigned timeout = vm["timeout"].as<unsigned>();
    if (timeout == 0) return make_error(Status::BadRequest, "--timeout: at least 1 second");
    out.timeout = std::chrono::seconds(timeout);
    return out;
}

}  // namespace estgw::client
