#include "gateway/serve_options.hpp"

#include <boost/program_options.hpp>
#include <charconv>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "common/command_line.hpp"
#include "common/openssl.hpp"
#include "common/pem.hpp"
#include "common/pem_file.hpp"
#include "common/x509.hpp"
#include "mapping/content_format.hpp"

namespace po = boost::program_options;

namespace estgw::gateway {

std::string ListenAddress::text() const {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<ListenAddress> parse_listen_address(std::string_view text) {
    ListenAddress a;
    std::string_view port;
    if (!text.empty() && text.front() == '[') {
        std::size_t close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return make_error(Status::BadRequest, "'" + std::string(text) + "' is not [IPv6]:PORT");
        }
        a.host = std::string(text.substr(1, close - 1));
        port = text.substr(close + 2);
    } else {
        std::size_t colon = text.rfind(':');
        if (colon == std::string_view::npos || text.find(':') != colon) {
            return make_error(
                Status::BadRequest,
                "'" + std::string(text) + "' is not HOST:PORT (write IPv6 addresses as [::1]:5684)");
        }
        a.host = std::string(text.substr(0, colon));
        port = text.substr(colon + 1);
    }
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), a.port);
    if (a.host.empty() || ec != std::errc{} || end != port.data() + port.size() || a.port < 0 ||
        a.port > 65535) {
        return make_error(Status::BadRequest, "'" + std::string(text) + "' has no valid host and port");
    }
    return a;
}

namespace {

Error option_error(std::string_view option, std::string message) {
    return make_error(Status::BadRequest, "--" + std::string(option) + ": " + message);
}

Result<std::string> read_file(std::string_view option, const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return option_error(option, "cannot read '" + path + "': " + std::strerror(errno));
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

Result<void> check_certificate_file(std::string_view option, const std::string& path) {
    if (auto certificates = load_certificates(path); !certificates)
        return option_error(option, certificates.error().message);
    return {};
}

// The key must be readable and belong to the first certificate of the chain file.
Result<void> check_key_matches(std::string_view key_option, const std::string& key_path,
                               const std::string& cert_path) {
    auto key = load_private_key(key_path);
    if (!key) return option_error(key_option, key.error().message);
    auto certificates = load_certificates(cert_path);
    if (!certificates) return option_error(key_option, certificates.error().message);
    if (auto matches = estgw::check_key_matches(certificates->front().get(), key->get()); !matches) {
        return option_error(key_option,
                            "'" + key_path + "' does not match the certificate in '" + cert_path + "'");
    }
    return {};
}

constexpr const char* kUsage =
    "Usage: estgw serve [--config FILE] [--mode gateway|server] [options]\n"
    "\n"
    "Serves EST-coaps over DTLS until SIGTERM or SIGINT. The options come from the command line and\n"
    "from the --config file (one 'name = value' a line, '#' for comments); the command line wins.\n"
    "The mode is gateway unless --mode server or 'mode = server' says otherwise. An option marked\n"
    "'gateway:' or 'server:' below is refused in the other mode, except from a --config file whose\n"
    "mode --mode overrides: then it is ignored with a warning.";

constexpr const char* kHowToStart =
    "no configuration given. Start it with\n"
    "  estgw serve --config FILE   the options in FILE, one 'name = value' a line\n"
    "  ./estgw.sh run              a demo registrar: writes demo/ (PKI, estgw.conf) and serves it\n"
    "The mode is gateway (in front of the RFC 7030 EST server given with --upstream) unless\n"
    "--mode server or 'mode = server' in FILE says otherwise. 'estgw serve --help' lists every option.";

// Where the options came from, beyond their values.
struct OptionSources {
    bool mode_on_command_line = false;
    std::string config_file;  // empty without --config
    ConfigOrigins config_origins;
};

// The options of `vm` checked and turned into ServeOptions. Errors name the option: "--workers: ...".
Result<ParsedCommand> read_serve_options(const po::variables_map& vm, const po::options_description& desc,
                                         const OptionSources& sources);

// An error about an option that came from the --config file names its place instead of the command-line
// spelling: "'workers' in estgw.conf:3: must be ..." for option_error's "--workers: must be ...".
Error with_origin(Error error, const ConfigOrigins& origins) {
    if (!error.message.starts_with("--")) return error;
    const std::size_t colon = error.message.find(": ");
    if (colon == std::string::npos) return error;
    const auto origin = origins.find(error.message.substr(2, colon - 2));
    if (origin == origins.end()) return error;
    error.message = "'" + origin->first + "' in " + origin->second + error.message.substr(colon);
    return error;
}

// The table marks the options of one mode by starting their description with "gateway: " or "server: ".
std::optional<Mode> mode_of(const po::option_description& option) {
    if (option.description().starts_with("gateway: ")) return Mode::Gateway;
    if (option.description().starts_with("server: ")) return Mode::Server;
    return std::nullopt;
}

}  // namespace

Result<ParsedCommand> parse_serve_options(const std::vector<std::string>& args, std::ostream& help_out) {
    if (args.empty()) return make_error(Status::BadRequest, kHowToStart);
    std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
    const HttpsLimits https;  // the defaults
    po::options_description desc("estgw serve options");
    // clang-format off
    desc.add_options()
        ("help,h", "print this help and exit")
        ("config", po::value<std::string>(), "INI-style file with any of these options (name = value); the command line overrides it")
        ("mode", po::value<std::string>()->default_value("gateway"), "gateway (relay to an RFC 7030 EST server) or server (local CA)")
        ("listen", po::value<std::vector<std::string>>(), "HOST:PORT to serve CoAP over DTLS on, repeatable; default [::]:5684")
        ("cert", po::value<std::string>(), "DTLS server certificate (PEM; may be followed by its chain)")
        ("key", po::value<std::string>(), "private key of --cert (PEM, unencrypted)")
        ("client-ca", po::value<std::string>(), "PEM bundle of the issuers whose client certificates are accepted")
        ("root", po::value<std::vector<std::string>>(), "extra EST root such as /est, repeatable; /.well-known/est is always served")
        ("brski-root", po::value<std::vector<std::string>>(), "extra BRSKI root such as /b, repeatable; /.well-known/brski is always served")
        ("label", po::value<std::vector<std::string>>(), "CA label served as <root>/<label>/<op> and passed upstream, repeatable")
        ("max-body", po::value<std::size_t>()->default_value(16384), "largest request body in bytes; larger ones get 4.13 with Size1, at the first Block1 block that shows it")
        ("block-timeout", po::value<unsigned>()->default_value(30), "seconds an incomplete Block1 body is kept without a new block before it is dropped")
        ("workers", po::value<std::size_t>()->default_value(cores), "worker threads for signing and CSR checks (default: cores); in gateway mode the upstream calls run on --upstream-connections threads of their own")
        ("io-threads", po::value<std::size_t>()->default_value(cores), "CoAP I/O threads, each with its own libcoap context and sockets on every --listen address (SO_REUSEPORT: the kernel keeps a client address:port on one of them); DTLS handshakes run on these. The limits on handshakes and idle sessions are totals (default: cores)")
        ("queue-limit", po::value<std::size_t>()->default_value(1024), "requests waiting for a worker before new ones get 5.03 + Max-Age")
        ("drain-timeout", po::value<unsigned>(), "seconds after SIGTERM/SIGINT for the requests in flight to be answered; those left then get 5.03 + Max-Age (default: --upstream-timeout + 5 in gateway mode, 35 in server mode)")
        ("max-handshakes", po::value<unsigned>()->default_value(1000), "DTLS handshakes in progress at once (after the cookie exchange); beyond it the oldest gives way to a new one")
        ("max-handshakes-per-address", po::value<unsigned>(), "DTLS handshakes in progress at once from one IP address, so that one address cannot take all of --max-handshakes; further ClientHellos from it are dropped until one ends (default: a quarter of --max-handshakes)")
        ("handshake-timeout", po::value<unsigned>()->default_value(8), "seconds a DTLS handshake may take after the cookie exchange before it is ended")
        ("max-idle-sessions", po::value<unsigned>()->default_value(10000), "established DTLS sessions with nothing in flight; beyond it the least recently used is closed (0: no limit)")
        ("idle-timeout", po::value<unsigned>()->default_value(300), "seconds after which an idle DTLS session is closed")
        ("udp-receive-buffer", po::value<std::size_t>()->default_value(4 << 20), "bytes of socket receive buffer for each --listen address, so bursts of handshakes are not dropped (0: system default)")
        ("upstream", po::value<std::string>(), "gateway: RFC 7030 server, https://host:port[/prefix]; default prefix /.well-known/est")
        ("upstream-ca", po::value<std::string>(), "gateway: PEM trust anchors for the upstream certificate (its host name is verified)")
        ("upstream-cert", po::value<std::string>(), "gateway: our RA certificate towards the upstream (should carry id-kp-cmcRA)")
        ("upstream-key", po::value<std::string>(), "gateway: private key of --upstream-cert")
        ("upstream-user", po::value<std::string>(), "gateway: HTTP Basic user, sent pre-emptively")
        ("upstream-password-file", po::value<std::string>(), "gateway: file holding the HTTP Basic password (first line)")
        ("forward-client-cert", po::value<std::string>(), "gateway: header that carries the pledge certificate upstream (URL-encoded PEM)")
        ("upstream-connections", po::value<std::size_t>()->default_value(32), "gateway: upstream requests in flight at once, each on a kept-alive HTTPS connection opened when first needed; more wait in the queue (--queue-limit)")
        ("upstream-timeout", po::value<unsigned>()->default_value(30), "gateway: seconds from a request's arrival (its wait for a worker included) to its answer; then 5.04, or 5.03 + Max-Age when too many requests were queued")
        ("crts-refresh", po::value<unsigned>()->default_value(300), "gateway: seconds between refreshes of the cached /crts and /att answers")
        ("ca-cert", po::value<std::string>(), "server: issuing CA certificate (PEM; may be followed by its chain)")
        ("ca-key", po::value<std::string>(), "server: private key of --ca-cert")
        ("db", po::value<std::string>()->default_value("./estgw.db"), "server: the database recording every issued certificate and pledge journey: an SQLite file, or a postgresql://USER:PASSWORD@HOST:PORT/DB URI (libpq; several servers may share one PostgreSQL, docs/SCALING.md)")
        ("https-listen", po::value<std::string>(), "server: also serve RFC 7030 over HTTPS on HOST:PORT (client certificates required)")
        ("https-handshake-timeout", po::value<unsigned>()->default_value(https.handshake_timeout.count()), "server: seconds from accepting an HTTPS connection to the end of its TLS handshake; then it is closed")
        ("https-header-timeout", po::value<unsigned>()->default_value(https.header_timeout.count()), "server: seconds for an HTTPS request head to arrive in full, from the handshake's end or the head's first byte; the body then has as long again, and so has the client to take the answer")
        ("https-keepalive-timeout", po::value<unsigned>()->default_value(https.keepalive_timeout.count()), "server: seconds an HTTPS connection may wait between requests before it is closed")
        ("https-max-connections", po::value<unsigned>()->default_value(https.max_connections), "server: HTTPS connections open at once, in any stage; more are refused (lowered to what the open file limit allows)")
        ("https-max-connections-per-address", po::value<unsigned>()->default_value(https.max_connections_per_address), "server: HTTPS connections open at once from one IPv4 address or IPv6 /64; more from there are refused (an RA or gateway in front needs its pool: estgw gateway opens --upstream-connections + 1)")
        ("trust-forwarded-client-cert", po::value<std::string>(), "server: header in which an RA (TLS client with id-kp-cmcRA) forwards its client's certificate, verified against --client-ca (a gateway's --forward-client-cert)")
        ("validity-days", po::value<unsigned>()->default_value(365), "server: lifetime of issued certificates in days")
        ("csrattrs", po::value<std::string>(), "server: DER or PEM CsrAttrs answered on /att (default: P-256 key, extensionRequest)")
        ("key-types", po::value<std::string>()->default_value("p256,p384,ed25519,rsa2048"), "server: keys accepted in CSRs: p256, p384, ed25519, rsaN (RSA of at least N bits)")
        ("kek-file", po::value<std::string>(), "server: shared AES keys (lines '<id-hex> <key-hex>') for CSRs asking for an encrypted key with DecryptKeyIdentifier")
        ("masa-url", po::value<std::string>(), "server: MASA for IDevIDs without an id-pe-masa-url extension: host[:port] (then https://host[:port]/.well-known/brski) or an https:// base URL; /requestvoucher is appended. Without it such pledges get 4.04 on /rv")
        ("masa-ca", po::value<std::string>(), "server: PEM trust anchors for MASA server certificates (host name verified, SNI sent); default: the system's trust store")
        ("masa-cert", po::value<std::string>(), "server: our TLS client certificate towards MASAs (default: --cert)")
        ("masa-key", po::value<std::string>(), "server: private key of --masa-cert (default: --key)")
        ("masa-timeout", po::value<unsigned>()->default_value(30), "server: seconds a voucher-request may take at the MASA, connecting included; then 5.04 to the pledge")
        ("require-tls-unique", po::bool_switch(), "server: reject CSRs without challengePassword = base64(tls-unique) and ask for it in csrattrs")
        ("require-voucher", po::bool_switch(), "server: refuse enrollment (sen, skg, skc; 4.03) over a client certificate not issued by --ca-cert (an IDevID) unless a voucher was issued to it through this registrar; default off")
        ("metrics-listen", po::value<std::string>(), "HOST:PORT to serve /metrics (Prometheus text format) and /healthz on, over plain HTTP; off by default")
        ("log-level", po::value<std::string>()->default_value("info"), "debug, info, warn, error or off")
        ("keylog-file", po::value<std::string>(), "DEBUG ONLY: append DTLS secrets to this file for tshark; never in production");
    // clang-format on

    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(desc).run(), vm);
    } catch (const po::error& e) {
        return make_error(Status::BadRequest, command_line_error(e, desc, "estgw serve"));
    }
    if (vm.count("help")) {
        help_out << kUsage << "\n\n" << desc;
        ParsedCommand parsed;
        parsed.help = true;
        return parsed;
    }
    OptionSources sources;
    sources.mode_on_command_line = vm.count("mode") && !vm["mode"].defaulted();
    if (vm.count("config")) {
        sources.config_file = vm["config"].as<std::string>();
        ESTGW_TRY(entries, read_config_file(sources.config_file));
        ESTGW_TRY(origins, store_config_entries(entries, sources.config_file, desc, vm));
        sources.config_origins = std::move(origins);
    }
    try {
        po::notify(vm);
    } catch (const po::error& e) {
        return make_error(Status::BadRequest, e.what());
    }
    auto parsed = read_serve_options(vm, desc, sources);
    if (!parsed) return with_origin(parsed.error(), sources.config_origins);
    parsed->config_file = sources.config_file;
    return parsed;
}

namespace {

// The --https-* limits; set without --https-listen they would silently do nothing, so that is an error.
Result<HttpsLimits> read_https_limits(const po::variables_map& vm, bool https_listen) {
    using Seconds = std::chrono::seconds;
    struct Bounded {
        const char* name;
        unsigned min, max;
        const char* unit;
        void (*set)(HttpsLimits&, unsigned);
    };
    // clang-format off
    constexpr Bounded kOptions[] = {
        {"https-handshake-timeout",           1, 3600,    " seconds", [](HttpsLimits& l, unsigned v) { l.handshake_timeout = Seconds(v); }},
        {"https-header-timeout",              1, 3600,    " seconds", [](HttpsLimits& l, unsigned v) { l.header_timeout = Seconds(v); }},
        {"https-keepalive-timeout",           1, 3600,    " seconds", [](HttpsLimits& l, unsigned v) { l.keepalive_timeout = Seconds(v); }},
        {"https-max-connections",             1, 1000000, "",         [](HttpsLimits& l, unsigned v) { l.max_connections = v; }},
        {"https-max-connections-per-address", 1, 1000000, "",         [](HttpsLimits& l, unsigned v) { l.max_connections_per_address = v; }},
    };
    // clang-format on
    HttpsLimits limits;
    for (const Bounded& option : kOptions) {
        if (!https_listen && !vm[option.name].defaulted())
            return option_error(option.name, "needs --https-listen: it limits the HTTPS front");
        const unsigned value = vm[option.name].as<unsigned>();
        if (value < option.min || value > option.max) {
            return option_error(option.name, "must be between " + std::to_string(option.min) + " and " +
                                                 std::to_string(option.max) + option.unit);
        }
        option.set(limits, value);
    }
    return limits;
}

// The registrar's options towards MASAs. The files are checked here; a --masa-url is checked when the
// registrar is built (it may not be used: /rv needs a --cert with id-kp-cmcRA).
Result<void> read_masa_options(const po::variables_map& vm, ServeOptions& o) {
    if (vm.count("masa-url")) {
        o.masa_url = vm["masa-url"].as<std::string>();
        if (o.masa_url.empty()) return option_error("masa-url", "needs a host[:port] or an https:// URL");
    }
    if (vm.count("masa-ca")) {
        o.masa_ca_file = vm["masa-ca"].as<std::string>();
        if (auto r = check_certificate_file("masa-ca", o.masa_ca_file); !r) return r.error();
    }
    if (vm.count("masa-cert") != vm.count("masa-key")) {
        return option_error(vm.count("masa-cert") ? "masa-key" : "masa-cert",
                            "--masa-cert and --masa-key go together");
    }
    if (vm.count("masa-cert")) {
        o.masa_cert_file = vm["masa-cert"].as<std::string>();
        o.masa_key_file = vm["masa-key"].as<std::string>();
        if (auto r = check_certificate_file("masa-cert", o.masa_cert_file); !r) return r.error();
        if (auto r = check_key_matches("masa-key", o.masa_key_file, o.masa_cert_file); !r) return r.error();
    }
    const unsigned timeout = vm["masa-timeout"].as<unsigned>();
    if (timeout == 0 || timeout > 3600)
        return option_error("masa-timeout", "must be between 1 and 3600 seconds");
    o.masa_timeout = std::chrono::seconds(timeout);
    return {};
}

Result<ParsedCommand> read_serve_options(const po::variables_map& vm, const po::options_description& desc,
                                         const OptionSources& sources) {
    ParsedCommand parsed;
    ServeOptions& o = parsed.options;

    std::string mode = vm["mode"].as<std::string>();
    if (mode == "gateway") {
        o.mode = Mode::Gateway;
    } else if (mode == "server") {
        o.mode = Mode::Server;
    } else {
        return option_error("mode", "'" + mode + "' is neither gateway nor server");
    }

    std::vector<std::string> listen = vm.count("listen") ? vm["listen"].as<std::vector<std::string>>()
                                                         : std::vector<std::string>{"[::]:5684"};
    for (const auto& l : listen) {
        auto a = parse_listen_address(l);
        if (!a) return option_error("listen", a.error().message);
        o.listen.push_back(*a);
    }

    // An option of the other mode is a mistake worth stopping for (a server with --upstream would silently
    // issue from its own CA instead of relaying). A --config file run in the other mode on purpose, with
    // --mode on the command line, keeps working: its options of the other mode are set aside with a warning.
    for (const auto& option : desc.options()) {
        const std::string& name = option->long_name();
        const auto mode_of_option = mode_of(*option);
        if (!mode_of_option || *mode_of_option == o.mode || !vm.count(name) || vm[name].defaulted()) continue;
        if (sources.mode_on_command_line && sources.config_origins.count(name)) {
            parsed.ignored_config_options.push_back(name);
            continue;
        }
        return option_error(name, std::string("is not used in ") +
                                      (o.mode == Mode::Gateway ? "gateway" : "server") + " mode");
    }

    for (const char* required : {"cert", "key", "client-ca"}) {
        if (!vm.count(required)) {
            return option_error(required, "is required (the DTLS server identity and the client issuers)");
        }
    }
    o.cert_file = vm["cert"].as<std::string>();
    o.key_file = vm["key"].as<std::string>();
    o.client_ca_file = vm["client-ca"].as<std::string>();
    if (auto r = check_certificate_file("cert", o.cert_file); !r) return r.error();
    if (auto r = check_key_matches("key", o.key_file, o.cert_file); !r) return r.error();
    if (auto r = check_certificate_file("client-ca", o.client_ca_file); !r) return r.error();

    if (vm.count("root")) o.routes.est_roots = vm["root"].as<std::vector<std::string>>();
    if (vm.count("brski-root")) o.routes.brski_roots = vm["brski-root"].as<std::vector<std::string>>();
    o.routes.max_body = vm["max-body"].as<std::size_t>();
    const unsigned block_timeout = vm["block-timeout"].as<unsigned>();
    if (block_timeout == 0 || block_timeout > 86400)
        return option_error("block-timeout", "must be between 1 and 86400 seconds");
    o.block_timeout = std::chrono::seconds(block_timeout);
    // Checked here rather than by validate_route_config, whose error would be reported against --root.
    if (vm.count("label")) {
        for (const auto& label : vm["label"].as<std::vector<std::string>>()) {
            if (!mapping::is_valid_label(label)) {
                return option_error(
                    "label",
                    "'" + label +
                        "' is not a valid label (1-64 of A-Z a-z 0-9 - . _ ~, not an operation name)");
            }
            o.routes.labels.push_back(label);
        }
    }
    auto routes = mapping::validate_route_config(o.routes);
    if (!routes) return option_error("root", routes.error().message);
    o.routes = *routes;

    o.workers = vm["workers"].as<std::size_t>();
    if (o.workers == 0 || o.workers > 1024) return option_error("workers", "must be between 1 and 1024");
    o.io_threads = vm["io-threads"].as<std::size_t>();
    if (o.io_threads == 0 || o.io_threads > 256)
        return option_error("io-threads", "must be between 1 and 256");
    o.queue_limit = vm["queue-limit"].as<std::size_t>();
    if (o.queue_limit == 0) return option_error("queue-limit", "must be at least 1");
    if (vm.count("drain-timeout")) {
        const unsigned drain = vm["drain-timeout"].as<unsigned>();
        if (drain > 3600) return option_error("drain-timeout", "must be between 0 and 3600 seconds");
        o.drain_timeout = std::chrono::seconds(drain);
    }
    o.sessions.max_handshakes = vm["max-handshakes"].as<unsigned>();
    if (o.sessions.max_handshakes == 0 || o.sessions.max_handshakes > 1000000)
        return option_error("max-handshakes", "must be between 1 and 1000000");
    // A quarter by default: one address (a CoAP proxy, a NAT, a test bench) may run many handshakes, but
    // never all of them.
    o.sessions.max_handshakes_per_address = vm.count("max-handshakes-per-address")
                                                ? vm["max-handshakes-per-address"].as<unsigned>()
                                                : std::max(1u, o.sessions.max_handshakes / 4);
    if (o.sessions.max_handshakes_per_address == 0 ||
        o.sessions.max_handshakes_per_address > o.sessions.max_handshakes) {
        return option_error("max-handshakes-per-address", "must be between 1 and --max-handshakes");
    }
    const unsigned handshake_timeout = vm["handshake-timeout"].as<unsigned>();
    if (handshake_timeout == 0 || handshake_timeout > 300)
        return option_error("handshake-timeout", "must be between 1 and 300 seconds");
    o.sessions.handshake_timeout = std::chrono::seconds(handshake_timeout);
    o.sessions.max_idle_sessions = vm["max-idle-sessions"].as<unsigned>();
    const unsigned idle_timeout = vm["idle-timeout"].as<unsigned>();
    if (idle_timeout == 0 || idle_timeout > 86400)
        return option_error("idle-timeout", "must be between 1 and 86400 seconds");
    o.sessions.idle_timeout = std::chrono::seconds(idle_timeout);
    o.sessions.udp_receive_buffer = vm["udp-receive-buffer"].as<std::size_t>();
    if (o.sessions.udp_receive_buffer != 0 &&
        (o.sessions.udp_receive_buffer < 4096 || o.sessions.udp_receive_buffer > (std::size_t{1} << 30))) {
        return option_error("udp-receive-buffer",
                            "must be 0 (system default) or between 4096 and 1073741824");
    }

    if (vm.count("metrics-listen")) {
        auto a = parse_listen_address(vm["metrics-listen"].as<std::string>());
        if (!a) return option_error("metrics-listen", a.error().message);
        o.metrics_listen = *a;
    }

    auto level = log::parse_level(vm["log-level"].as<std::string>());
    if (!level)
        return option_error("log-level", "'" + vm["log-level"].as<std::string>() + "' is not a level");
    o.log_level = *level;
    if (vm.count("keylog-file")) o.keylog_file = vm["keylog-file"].as<std::string>();

    if (o.mode == Mode::Gateway) {
        if (!vm.count("upstream")) return option_error("upstream", "is required in gateway mode");
        auto url = parse_https_url(vm["upstream"].as<std::string>());
        if (!url) return option_error("upstream", url.error().message);
        o.upstream.url = *url;
        if (!url->path_prefix.empty()) o.upstream_mapping.est_prefix = url->path_prefix;
        if (!vm.count("upstream-ca")) {
            return option_error("upstream-ca",
                                "is required in gateway mode (trust for the upstream certificate)");
        }
        o.upstream.ca_file = vm["upstream-ca"].as<std::string>();
        // The upstream's files are read once, when serve builds the upstream client (exit 2 naming the
        // option).
        if (vm.count("upstream-cert") != vm.count("upstream-key")) {
            return option_error(vm.count("upstream-cert") ? "upstream-key" : "upstream-cert",
                                "--upstream-cert and --upstream-key go together");
        }
        if (vm.count("upstream-cert")) {
            o.upstream.cert_file = vm["upstream-cert"].as<std::string>();
            o.upstream.key_file = vm["upstream-key"].as<std::string>();
        }
        if (vm.count("upstream-user") != vm.count("upstream-password-file")) {
            return option_error("upstream-password-file",
                                "--upstream-user and --upstream-password-file go together");
        }
        if (vm.count("upstream-user")) {
            o.upstream_mapping.basic_user = vm["upstream-user"].as<std::string>();
            ESTGW_TRY(secret,
                      read_file("upstream-password-file", vm["upstream-password-file"].as<std::string>()));
            std::string password = secret.substr(0, secret.find_first_of("\r\n"));
            if (password.empty())
                return option_error("upstream-password-file", "the file's first line is empty");
            o.upstream_mapping.basic_password = password;
        }
        if (vm.count("forward-client-cert")) {
            o.upstream_mapping.forward_client_cert_header = vm["forward-client-cert"].as<std::string>();
        }
        unsigned timeout = vm["upstream-timeout"].as<unsigned>();
        if (timeout == 0) return option_error("upstream-timeout", "must be at least 1 second");
        o.upstream.timeout = std::chrono::seconds(timeout);
        o.upstream_connections = vm["upstream-connections"].as<std::size_t>();
        if (o.upstream_connections == 0 || o.upstream_connections > 4096)
            return option_error("upstream-connections", "must be between 1 and 4096");
        // Each upstream thread's, and the /crts and /att refresher's.
        o.upstream.max_connections = o.upstream_connections + 1;
        unsigned refresh = vm["crts-refresh"].as<unsigned>();
        if (refresh == 0) return option_error("crts-refresh", "must be at least 1 second");
        o.crts_refresh = std::chrono::seconds(refresh);
    }
    if (o.mode == Mode::Server) {
        for (const char* required : {"ca-cert", "ca-key"}) {
            if (!vm.count(required))
                return option_error(required, "is required in server mode (the issuing CA)");
        }
        o.ca_cert_file = vm["ca-cert"].as<std::string>();
        o.ca_key_file = vm["ca-key"].as<std::string>();
        // Read once, when serve loads the CA (exit 2 naming --ca-cert/--ca-key), not here too.
        o.db_file = vm["db"].as<std::string>();
        if (o.db_file.empty()) return option_error("db", "needs a file name or a postgresql:// URI");
        if (vm.count("https-listen")) {
            auto a = parse_listen_address(vm["https-listen"].as<std::string>());
            if (!a) return option_error("https-listen", a.error().message);
            o.https_listen = *a;
        }
        ESTGW_TRY(limits, read_https_limits(vm, o.https_listen.has_value()));
        o.https_limits = limits;
        if (vm.count("trust-forwarded-client-cert")) {
            const std::string header = vm["trust-forwarded-client-cert"].as<std::string>();
            if (!o.https_listen) {
                return option_error("trust-forwarded-client-cert",
                                    "needs --https-listen: only the HTTPS front reads headers");
            }
            if (!mapping::is_token(header)) {
                return option_error("trust-forwarded-client-cert",
                                    "'" + header + "' is not an HTTP header name (RFC 9110 §5.1 token)");
            }
            o.trust_forwarded_client_cert = header;
        }
        o.validity_days = vm["validity-days"].as<unsigned>();
        if (o.validity_days == 0 || o.validity_days > 36500) {
            return option_error("validity-days", "must be between 1 and 36500");
        }
        if (vm.count("csrattrs")) {
            o.csrattrs_file = vm["csrattrs"].as<std::string>();  // read once, when serve loads it
        }
        o.key_types = vm["key-types"].as<std::string>();
        o.require_tls_unique = vm["require-tls-unique"].as<bool>();
        o.require_voucher = vm["require-voucher"].as<bool>();
        if (vm.count("kek-file")) o.kek_file = vm["kek-file"].as<std::string>();
        if (auto masa = read_masa_options(vm, o); !masa) return masa.error();
    }
    return parsed;
}

}  // namespace

}  // namespace estgw::gateway
