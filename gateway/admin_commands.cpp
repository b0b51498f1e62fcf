// `estgw pki init` and `estgw certs list`.
#include <boost/program_options.hpp>
#include <iostream>

#include "certs/demo_pki.hpp"
#include "certs/sqlite_store.hpp"
#include "common/command_line.hpp"
#include "gateway/commands.hpp"

namespace po = boost::program_options;

namespace estgw::gateway {

int run_pki_init(const std::vector<std::string>& args) {
    po::options_description desc("estgw pki init options");
    desc.add_options()("help,h", "print this help and exit")(
        "dir", po::value<std::string>()->required(),
        "directory to write the demo PKI into (created if missing)")("force", po::bool_switch(),
                                                                     "replace existing files")(
        "masa-authority", po::value<std::string>()->default_value(certs::kDemoMasaAuthority),
        "HOST:PORT or [IPv6]:PORT of the demo MASA, written into the pledge certificate's id-pe-masa-url "
        "(RFC 8995 §2.3.2) in authority form; where `estgw masa --listen` serves");
    po::variables_map vm;
    const char* usage =
        "Usage: estgw pki init --dir DIR [--force] [--masa-authority HOST:PORT]\n"
        "Writes a demo PKI (all P-256, keys mode 0600): a domain CA, the server's certificate, a "
        "manufacturer CA,\n"
        "an IDevID-style pledge certificate (naming the MASA, no expiry), the MASA's TLS and voucher "
        "signing\n"
        "certificates, the client trust bundle and an estgw.conf for server mode.";
    if (auto stop = parse_command_line(args, desc, vm, usage)) return *stop;
    auto pki = certs::init_demo_pki(vm["dir"].as<std::string>(), vm["force"].as<bool>(),
                                    vm["masa-authority"].as<std::string>());
    if (!pki) {
        std::cerr << "estgw pki init: " << pki.error().message << "\n";
        return pki.error().status == Status::PreconditionFailed || pki.error().status == Status::BadRequest
                   ? kExitUsage
                   : kExitFailure;
    }
    std::cout << "demo PKI written to " << pki->dir.string() << ":\n";
    for (const auto& f : pki->files())
        std::cout << "  " << f.string() << "\n";
    std::cout << "pledge serialNumber: " << pki->pledge_serial_number << "\n"
              << "serve it with: estgw serve --config " << pki->config.string() << "\n"
              << "the pledge's MASA: estgw masa --listen " << vm["masa-authority"].as<std::string>()
              << " --tls-cert " << pki->masa_cert.string() << " --tls-key " << pki->masa_key.string()
              << " --signing-cert " << pki->masa_sign_cert.string() << " --signing-key "
              << pki->masa_sign_key.string() << " --pledge-ca " << pki->mfg_ca_cert.string() << "\n";
    return kExitOk;
}

int run_certs_list(const std::vector<std::string>& args) {
    po::options_description desc("estgw certs list options");
    desc.add_options()("help,h", "print this help and exit")(
        "db", po::value<std::string>()->default_value("./estgw.db"),
        "the issuance database of `estgw serve --mode server`")(
        "limit", po::value<std::size_t>()->default_value(0), "show at most this many, newest first (0: all)")(
        "json", po::bool_switch(), "print a JSON array of objects with every field, for scripts");
    po::variables_map vm;
    const char* usage =
        "Usage: estgw certs list [--db FILE] [--limit N] [--json]\n"
        "One line per issued certificate, newest first, after a line naming the tab-separated columns:\n"
        "serial, subject, not-after, operation, client subject, RA subject ('-' when the client came "
        "directly), issued at.";
    if (auto stop = parse_command_line(args, desc, vm, usage)) return *stop;
    std::string db = vm["db"].as<std::string>();
    if (!std::filesystem::exists(db)) {
        std::cerr << "estgw certs list: no database at " << db << " (see --db)\n";
        return kExitUsage;
    }
    auto store = certs::SqliteStore::open(db, certs::SqliteOptions{.read_only = true});
    if (!store) {
        std::cerr << "estgw certs list: " << store.error().message << "\n";
        return kExitFailure;
    }
    auto records = (*store)->list(vm["limit"].as<std::size_t>());
    if (!records) {
        std::cerr << "estgw certs list: " << records.error().message << "\n";
        return kExitFailure;
    }
    std::cout << (vm["json"].as<bool>() ? certs::format_issuance_json(*records)
                                        : certs::format_issuance_list(*records));
    return kExitOk;
}

}  // namespace estgw::gateway
