// `estgw pledge`: the command line of the simulated cBRSKI pledge (client/pledge_flow.hpp).
#include <unistd.h>
#include <boost/program_options.hpp>
#include <iostream>

#include "client/commands.hpp"
#include "client/pledge_flow.hpp"

namespace po = boost::program_options;

namespace estgw::client {

namespace {

// clang-format off
constexpr const char* kUsage =
    "Usage: estgw pledge --server coaps://HOST[:PORT][/root] --idevid FILE --key FILE --masa-anchor FILE\n"
    "                    [--out DIR] [--max-wait SECONDS] [--timeout SECONDS]\n"
    "\n"
    "A simulated constrained-BRSKI pledge (cBRSKI, RFC 8995): from its factory identity (IDevID) to a domain\n"
    "certificate (LDevID), trusting the server only as far as a voucher from its manufacturer (MASA) says.\n"
    "  dtls     DTLS with the IDevID; the server's certificate is accepted provisionally and kept\n"
    "  rv       POST /.well-known/brski/rv: a voucher request signed with the IDevID key (proximity, a fresh\n"
    "           nonce, the server's certificate, our serialNumber); after 5.03 + Max-Age (at most 60 s, within\n"
    "           --max-wait) the identical request is sent again\n"
    "  voucher  checked: Content-Format 836; COSE signature by --masa-anchor (or by a certificate of the\n"
    "           voucher's x5bag issued under it); assertion verified, logged or proximity; serial-number ours;\n"
    "           idevid-issuer, when present, our IDevID's authority key identifier; nonce ours; a pin the\n"
    "           server matches (its chain verifies up to pinned-domain-cert, or its key is the one pinned)\n"
    "  vs       POST /vs: the voucher status; a refused voucher is reported with the check that failed\n"
    "  sen      POST <root>/sen: a new P-256 key, a CSR with the IDevID subject unchanged (Accept 287)\n"
    "  crts     GET <root>/crts (Accept 62), unless the pinned CA is a root that signed the new certificate,\n"
    "           which must then chain to one of the CAs returned\n"
    "  es       POST /es over a new DTLS session made with the new certificate (the enrollment status; a\n"
    "           failure after sen is reported over the first session)\n"
    "Each step prints one line when it ends: what, its result, milliseconds. Written to --out: voucher.cose,\n"
    "domain-ca.pem (the pinned CA, or the /crts CAs), cert.pem, key.pem (mode 0600).\n"
    "\n"
    "Exit status: 0 enrolled; 1 refused (the message names the step and the CoAP code or the voucher check);\n"
    "2 bad usage or unusable files; 3 no answer (unreachable, DTLS handshake failed, timeout).";
// clang-format on

int fail(const std::string& message) {
    std::cerr << "estgw pledge: " << message << " (see estgw pledge --help)\n";
    return kExitUsage;
}

}  // namespace

int run_pledge(const std::vector<std::string>& args) {
    po::options_description desc("estgw pledge options");
    // clang-format off
    desc.add_options()
        ("help,h", "print this help and exit")
        ("server", po::value<std::string>(),
         "coaps://HOST[:PORT][/root]: the registrar; port 5684 by default; the root is the EST root "
         "(/.well-known/est by default), the BRSKI resources are always under /.well-known/brski")
        ("idevid", po::value<std::string>(),
         "our factory certificate (PEM, chain allowed), with serialNumber in its subject")
        ("key", po::value<std::string>(), "its private key (PEM)")
        ("masa-anchor", po::value<std::string>(),
         "the manufacturer's voucher trust anchor(s) (PEM): the MASA signing certificate, or the CA that "
         "issued it (then the voucher must carry the signing certificate in its x5bag, which a registrar "
         "normally strips)")
        ("out", po::value<std::string>()->default_value("."), "directory for the results (created if missing)")
        ("max-wait", po::value<unsigned>()->default_value(300),
         "longest total wait, in seconds, for the answers 5.03 + Max-Age to one request")
        ("timeout", po::value<unsigned>()->default_value(30), "seconds to wait for each answer");
    // clang-format on
    po::variables_map vm;
    if (auto stop = parse_command_line(args, desc, vm, kUsage)) return *stop;
    for (const char* required : {"server", "idevid", "key", "masa-anchor"}) {
        if (!vm.count(required)) return fail(std::string("the option '--") + required + "' is required");
    }
    PledgeOptions o;
    auto url = parse_coaps_url(vm["server"].as<std::string>());
    if (!url) return fail(url.error().message);
    o.url = std::move(*url);
    o.idevid_file = vm["idevid"].as<std::string>();
    o.key_file = vm["key"].as<std::string>();
    o.masa_anchor_file = vm["masa-anchor"].as<std::string>();
    for (const auto& [option, file] : {std::pair{"--idevid", o.idevid_file}, std::pair{"--key", o.key_file},
                                       std::pair{"--masa-anchor", o.masa_anchor_file}}) {
        if (::access(file.c_str(), R_OK) != 0) return fail(std::string(option) + ": cannot read " + file);
    }
    o.out_dir = vm["out"].as<std::string>();
    o.max_wait = std::chrono::seconds(vm["max-wait"].as<unsigned>());
    const unsigned timeout = vm["timeout"].as<unsigned>();
    if (timeout == 0) return fail("--timeout: at least 1 second");
    o.timeout = std::chrono::seconds(timeout);
    return run_pledge_flow(o);
}

}  // namespace estgw::client
