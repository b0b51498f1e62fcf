// `estgw pki init`, `estgw certs list` and `estgw health`.
#include <httplib.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cstdlib>
#include <iostream>

#include "certs/database.hpp"
#include "certs/demo_pki.hpp"
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
    desc.add_options()(
        "db", po::value<std::string>(),
        "the database estgw.conf names: an SQLite file (default: DIR/estgw.db) or a postgresql:// URI");
    po::variables_map vm;
    const char* usage =
        "Usage: estgw pki init --dir DIR [--force] [--masa-authority HOST:PORT] [--db FILE]\n"
        "Writes a demo PKI (all P-256, keys mode 0600): a domain CA, the server's certificate, a "
        "manufacturer CA,\n"
        "an IDevID-style pledge certificate (naming the MASA, no expiry), the MASA's TLS and voucher "
        "signing\n"
        "certificates, the client trust bundle and an estgw.conf for server mode.";
    if (auto stop = parse_command_line(args, desc, vm, usage)) return *stop;
    auto pki = certs::init_demo_pki(vm["dir"].as<std::string>(), vm["force"].as<bool>(),
                                    vm["masa-authority"].as<std::string>(),
                                    vm.count("db") ? vm["db"].as<std::string>() : std::string());
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
        "the issuance database of `estgw serve --mode server`: an SQLite file or a postgresql:// URI")(
        "limit", po::value<std::size_t>()->default_value(0), "show at most this many, newest first (0: all)")(
        "json", po::bool_switch(), "print a JSON array of objects with every field, for scripts");
    po::variables_map vm;
    const char* usage =
        "Usage: estgw certs list [--db FILE|postgresql://URI] [--limit N] [--json]\n"
        "One line per issued certificate, newest first, after a line naming the tab-separated columns:\n"
        "serial, subject, not-after, operation, client subject, RA subject ('-' when the client came "
        "directly), issued at.";
    if (auto stop = parse_command_line(args, desc, vm, usage)) return *stop;
    std::string db = vm["db"].as<std::string>();
    if (!certs::is_postgres_uri(db) && !std::filesystem::exists(db)) {
        std::cerr << "estgw certs list: no database at " << db << " (see --db)\n";
        return kExitUsage;
    }
    auto store = certs::open_database(db, certs::DatabaseOptions{.read_only = true, .connections = 1});
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

namespace {

// "http://host:port[/path]" split for httplib::Client; without a path (or just "/") the health check's.
struct HealthUrl {
    std::string origin, path;
};
std::optional<HealthUrl> parse_health_url(const std::string& url) {
    if (!url.starts_with("http://")) return std::nullopt;
    const std::size_t slash = url.find('/', 7);
    HealthUrl parts{url.substr(0, slash), slash == std::string::npos ? "" : url.substr(slash)};
    if (parts.origin.size() == 7) return std::nullopt;
    if (parts.path.empty() || parts.path == "/") parts.path = "/healthz";
    return parts;
}

}  // namespace

int run_health(const std::vector<std::string>& args) {
    const char* env_url = std::getenv("ESTGW_METRICS_URL");
    const std::string metrics_help =
        "the --metrics-listen address of the estgw to ask, http://HOST:PORT (default: $ESTGW_METRICS_URL, "
        "else " +
        std::string(kDefaultMetricsUrl) + ")";
    po::options_description desc("estgw health options");
    desc.add_options()("help,h", "print this help and exit")(
        "metrics",
        po::value<std::string>()->default_value(env_url && *env_url ? env_url : kDefaultMetricsUrl),
        metrics_help.c_str())("timeout", po::value<unsigned>()->default_value(5),
                              "seconds to wait for the answer");
    po::variables_map vm;
    const char* usage =
        "Usage: estgw health [--metrics URL] [--timeout S]\n"
        "Asks a running `estgw serve --metrics-listen HOST:PORT` for GET /healthz and prints the answer.\n"
        "Exit 0 when it is healthy (200); 1 when it is not (503, with the reason) or does not answer.\n"
        "A container's HEALTHCHECK.";
    if (auto stop = parse_command_line(args, desc, vm, usage)) return *stop;
    const std::string url = vm["metrics"].as<std::string>();
    const auto parts = parse_health_url(url);
    if (!parts) {
        std::cerr << "estgw health: --metrics: '" << url << "' is not http://HOST:PORT[/path]\n";
        return kExitUsage;
    }
    httplib::Client client(parts->origin);
    const auto timeout = std::chrono::seconds(std::max(1u, vm["timeout"].as<unsigned>()));
    client.set_connection_timeout(timeout);
    client.set_read_timeout(timeout);
    auto res = client.Get(parts->path.c_str());
    if (!res) {
        std::cerr << "estgw health: no answer from " << parts->origin << parts->path << ": "
                  << (res.error() == httplib::Error::Connection ? std::string("cannot connect")
                                                                : httplib::to_string(res.error()))
                  << "\n";
        return kExitFailure;
    }
    std::string body = res->body.substr(0, res->body.find('\n'));
    if (res->status == 200) {
        std::cout << "healthy: " << body << "\n";
        return kExitOk;
    }
    std::cout << "unhealthy (" << res->status << "): " << body << "\n";
    return kExitFailure;
}

}  // namespace estgw::gateway
