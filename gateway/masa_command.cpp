// `estgw masa`: a MASA for labs and tests (BRSKI.md §4). HTTPS is cpp-httplib's SSLServer, which is enough
// for the few registrars of a lab; what it decides comes from brski/masa.hpp, which has no I/O.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <httplib.h>
#include <atomic>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstring>
#include <iostream>
#include <mutex>
#include <thread>

#include "brski/masa.hpp"
#include "common/command_line.hpp"
#include "common/file_descriptor.hpp"
#include "common/log.hpp"
#include "common/pem_file.hpp"
#include "common/small_file.hpp"
#include "common/x509.hpp"
#include "gateway/commands.hpp"
#include "gateway/listen_address_check.hpp"

namespace po = boost::program_options;

namespace estgw::gateway {

namespace {

constexpr const char* kUsage =
    "Usage: estgw masa --listen HOST:PORT --tls-cert F --tls-key F --signing-cert F --signing-key F\n"
    "                  --pledge-ca F [--client-ca F] [--serials F] [--audit F]\n"
    "A MASA for labs and tests (RFC 8995 §5.5, cBRSKI §8): serves POST /.well-known/brski/requestvoucher "
    "over\n"
    "HTTPS (TLS 1.2 or later) and answers a registrar's voucher-request (application/voucher+cose) that "
    "passes\n"
    "every check with a voucher signed by --signing-key, or with a 4xx and a text/plain reason. One log "
    "line\n"
    "per request; SIGTERM or SIGINT stops it. Exit 2 on a bad configuration.";

constexpr std::string_view kPath = "/.well-known/brski/requestvoucher";
constexpr std::size_t kMaxBody = 64 * 1024;  // an RVR with two chains of a few certificates is 2-5 KB
constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";

struct MasaOptions {
    ListenAddress listen;
    std::vector<X509Ptr> tls_chain;
    EvpPkeyPtr tls_key;
    std::vector<X509Ptr> client_cas;  // empty: no client certificate asked for
    std::string audit_file;
};

Result<std::vector<X509Ptr>> certificates_of(const po::variables_map& vm, const char* option) {
    auto certificates = load_certificates(vm[option].as<std::string>());
    if (!certificates)
        return make_error(Status::BadRequest,
                          std::string("--") + option + ": " + certificates.error().message);
    return certificates;
}

Result<EvpPkeyPtr> key_of(const po::variables_map& vm, const char* option) {
    auto key = load_private_key(vm[option].as<std::string>());
    if (!key) return make_error(Status::BadRequest, std::string("--") + option + ": " + key.error().message);
    return key;
}

Result<brski::MasaConfig> load_config(const po::variables_map& vm, MasaOptions& options) {
    auto listen = parse_listen_address(vm["listen"].as<std::string>());
    if (!listen || listen->port == 0) {
        return make_error(
            Status::BadRequest,
            "--listen: " + (listen ? std::string("the port must be 1..65535") : listen.error().message));
    }
    options.listen = *listen;
    ESTGW_TRY(tls_chain, certificates_of(vm, "tls-cert"));
    ESTGW_TRY(tls_key, key_of(vm, "tls-key"));
    if (auto matches = check_key_matches(tls_chain.front().get(), tls_key.get()); !matches) {
        return make_error(Status::BadRequest,
                          "--tls-key does not belong to --tls-cert: " + matches.error().message);
    }
    options.tls_chain = std::move(tls_chain);
    options.tls_key = std::move(tls_key);
    if (vm.count("client-ca")) {
        ESTGW_TRY(client_cas, certificates_of(vm, "client-ca"));
        options.client_cas = std::move(client_cas);
    }
    ESTGW_TRY(signing_chain, certificates_of(vm, "signing-cert"));
    ESTGW_TRY(signing_key, key_of(vm, "signing-key"));
    if (auto matches = check_key_matches(signing_chain.front().get(), signing_key.get()); !matches) {
        return make_error(Status::BadRequest,
                          "--signing-key does not belong to --signing-cert: " + matches.error().message);
    }
    ESTGW_TRY(pledge_cas, certificates_of(vm, "pledge-ca"));
    std::optional<std::set<std::string>> serials;
    if (vm.count("serials")) {
        const std::string file = vm["serials"].as<std::string>();
        auto text = read_small_file(file, "--serials");
        if (!text) return make_error(Status::BadRequest, text.error().message);
        auto parsed = brski::parse_serial_list(*text);
        if (!parsed)
            return make_error(Status::BadRequest, "--serials " + file + ": " + parsed.error().message);
        serials = std::move(*parsed);
    }
    auto config = brski::MasaConfig::create(std::move(pledge_cas), std::move(signing_chain),
                                            std::move(signing_key), std::move(serials));
    // The signing key and certificate were checked above: what is left to refuse is a pledge CA.
    if (!config) return make_error(Status::BadRequest, "--pledge-ca: " + config.error().message);
    if (vm.count("audit")) options.audit_file = vm["audit"].as<std::string>();
    return config;
}

// The audit file (RFC 8995 §5.6: every voucher is recorded): append-only, 0600 when created, each line
// synced before the voucher leaves.
class AuditFile {
  public:
    Result<void> open(const std::string& path) {
        fd_ = FileDescriptor(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
        if (fd_.get() < 0)
            return make_error(Status::BadRequest, "--audit " + path + ": " + std::strerror(errno));
        return {};
    }
    bool is_open() const { return fd_.get() >= 0; }

    Result<void> append(std::string line) {
        line += "\n";
        const std::lock_guard lock(mutex_);
        std::size_t written = 0;
        while (written < line.size()) {
            const ssize_t n = ::write(fd_.get(), line.data() + written, line.size() - written);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0)
                return make_error(Status::Internal, std::string("audit file: ") + std::strerror(errno));
            written += static_cast<std::size_t>(n);
        }
        if (::fsync(fd_.get()) != 0)
            return make_error(Status::Internal, std::string("audit file: ") + std::strerror(errno));
        return {};
    }

  private:
    FileDescriptor fd_{-1};
    std::mutex mutex_;
};

// TLS 1.2 or later with the --tls-cert chain; with --client-ca a verified client certificate (clientAuth) is
// required, without it none is asked for.
bool setup_tls(SSL_CTX& ctx, const MasaOptions& options) {
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_use_certificate(&ctx, options.tls_chain.front().get()) != 1 ||
        SSL_CTX_use_PrivateKey(&ctx, options.tls_key.get()) != 1 || SSL_CTX_check_private_key(&ctx) != 1) {
        return false;
    }
    for (std::size_t i = 1; i < options.tls_chain.size(); ++i) {
        if (SSL_CTX_add1_chain_cert(&ctx, options.tls_chain[i].get()) != 1) return false;
    }
    if (options.client_cas.empty()) {
        SSL_CTX_set_verify(&ctx, SSL_VERIFY_NONE, nullptr);
        return true;
    }
    X509_STORE* store = SSL_CTX_get_cert_store(&ctx);
    for (const X509Ptr& ca : options.client_cas) {
        if (X509_STORE_add_cert(store, ca.get()) != 1 || SSL_CTX_add_client_CA(&ctx, ca.get()) != 1)
            return false;
    }
    SSL_CTX_set_purpose(&ctx, X509_PURPOSE_SSL_CLIENT);
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    return true;
}

// SO_REUSEADDR but not cpp-httplib's SO_REUSEPORT, which would let a second MASA share the port.
void socket_options(socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
}

std::string peer_of(const httplib::Request& req) {
    std::string peer =
        req.remote_addr.find(':') != std::string::npos ? "[" + req.remote_addr + "]" : req.remote_addr;
    return peer + ":" + std::to_string(req.remote_port);
}

std::string client_subject(const httplib::Request& req) {
    const X509* cert = req.ssl != nullptr ? SSL_get0_peer_certificate(req.ssl) : nullptr;
    return cert != nullptr ? name_to_string(X509_get_subject_name(cert)) : "-";
}

void answer_error(httplib::Response& res, const Error& error) {
    res.status = brski::masa_http_status(error.status);
    res.set_content(error.message + "\n", std::string(kTextPlain));
}

class Masa {
  public:
    Masa(brski::MasaConfig config, AuditFile& audit) : config_(std::move(config)), audit_(audit) {}

    void handle(const httplib::Request& req, httplib::Response& res) {
        const auto start = std::chrono::steady_clock::now();
        std::string serial;
        std::optional<Error> refusal;
        auto media_type = brski::negotiate_voucher_media_type(
            req.get_header_value("Content-Type"),
            req.has_header("Accept") ? std::optional<std::string>(all_values(req, "Accept")) : std::nullopt);
        if (!media_type) {
            refusal = media_type.error();
        } else {
            brski::VoucherDecision decision =
                brski::decide_voucher_request(as_bytes(req.body), config_, std::chrono::system_clock::now());
            serial = decision.serial_number;
            if (!decision.voucher) {
                refusal = decision.voucher.error();
            } else if (auto recorded = record(*decision.voucher); !recorded) {
                refusal = make_error(Status::Internal,
                                     "the voucher could not be recorded: " + recorded.error().message);
            } else {
                res.status = 200;
                res.set_content(to_string(decision.voucher->voucher), *media_type);
            }
        }
        if (refusal) answer_error(res, *refusal);
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
        const log::Level level =
            refusal && refusal->status == Status::Internal ? log::Level::Error : log::Level::Info;
        log::write(level, "masa-request",
                   {{"peer", peer_of(req)},
                    {"client", client_subject(req)},
                    {"serial", serial.empty() ? "-" : serial},
                    {"outcome", refusal ? "refused" : "voucher"},
                    {"code", res.status},
                    {"ms", ms.count()},
                    {"reason", refusal ? refusal->message : std::string("-")}});
    }

  private:
    static std::string all_values(const httplib::Request& req, const char* header) {
        std::string out;
        for (std::size_t i = 0; i < req.get_header_value_count(header); ++i)
            out += (i == 0 ? "" : ",") + req.get_header_value(header, i);
        return out;
    }

    Result<void> record(const brski::IssuedVoucher& voucher) {
        if (!audit_.is_open()) return {};
        return audit_.append(brski::audit_line(voucher));
    }

    brski::MasaConfig config_;
    AuditFile& audit_;
};

}  // namespace

int run_masa(const std::vector<std::string>& args) {
    po::options_description desc("estgw masa options");
    // clang-format off
    desc.add_options()
        ("help,h", "print this help and exit")
        ("listen", po::value<std::string>()->required(),
         "HOST:PORT or [IPv6]:PORT to serve HTTPS on (pki init's id-pe-masa-url names localhost:9443)")
        ("tls-cert", po::value<std::string>()->required(),
         "PEM: the MASA's TLS server certificate, then its chain (demo: masa.crt)")
        ("tls-key", po::value<std::string>()->required(), "PEM: the private key of --tls-cert (demo: masa.key)")
        ("signing-cert", po::value<std::string>()->required(),
         "PEM: the voucher signing certificate, then its issuers; all of them go into each voucher's x5bag "
         "(demo: masa-sign.crt)")
        ("signing-key", po::value<std::string>()->required(),
         "PEM: the private key of --signing-cert, P-256 or Ed25519 (demo: masa-sign.key)")
        ("pledge-ca", po::value<std::string>()->required(),
         "PEM: the manufacturer CA(s) whose pledges (IDevIDs) this MASA vouches for; another pledge is 404 "
         "(demo: mfg-ca.crt)")
        ("client-ca", po::value<std::string>(),
         "PEM: require a TLS client certificate (clientAuth) from the registrar, issued by one of these; "
         "without it none is asked for")
        ("serials", po::value<std::string>(),
         "file of the serial-numbers vouched for, one a line, '#' comments; another serial is 404 (default: "
         "any pledge of --pledge-ca)")
        ("audit", po::value<std::string>(),
         "append one JSON line per voucher issued (time, serial, idevid_issuer, registrar_subject, nonce, "
         "pinned_domain_cert_sha256, assertion), synced before the answer; created 0600");
    // clang-format on
    po::variables_map vm;
    if (auto stop = parse_command_line(args, desc, vm, kUsage)) return *stop;

    MasaOptions options;
    auto config = load_config(vm, options);
    if (!config) {
        std::cerr << "estgw masa: " << config.error().message << "\n";
        return kExitUsage;
    }
    AuditFile audit;
    if (!options.audit_file.empty()) {
        if (auto opened = audit.open(options.audit_file); !opened) {
            std::cerr << "estgw masa: " << opened.error().message << "\n";
            return kExitUsage;
        }
    }
    if (auto free = check_address_free(options.listen, Transport::Tcp, "listen"); !free) {
        std::cerr << "estgw masa: " << free.error().message << "\n";
        return kExitUsage;
    }

    // Blocked before any thread starts, so that every thread inherits the mask and sigwait below gets them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    signal(SIGPIPE, SIG_IGN);  // a registrar closing its TLS connection must not kill the process

    httplib::SSLServer server([&options](SSL_CTX& ctx) { return setup_tls(ctx, options); });
    if (!server.is_valid()) {
        std::cerr << "estgw masa: --tls-cert/--tls-key/--client-ca: TLS setup failed: " << openssl_errors()
                  << "\n";
        return kExitUsage;
    }
    Masa masa(std::move(*config), audit);
    server.set_socket_options(socket_options);
    server.set_payload_max_length(kMaxBody);
    server.set_read_timeout(std::chrono::seconds(10));
    server.set_write_timeout(std::chrono::seconds(10));
    server.set_keep_alive_timeout(5);
    server.Post(std::string(kPath),
                [&masa](const httplib::Request& req, httplib::Response& res) { masa.handle(req, res); });
    // cpp-httplib's own answers (unknown path, oversized body) get a text/plain reason too.
    server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return;
        const std::string reason = res.status == 404 ? "only POST " + std::string(kPath) + " is served"
                                   : res.status == 413
                                       ? "a voucher-request is at most " + std::to_string(kMaxBody) + " bytes"
                                       : "HTTP " + std::to_string(res.status);
        res.set_content(reason + "\n", std::string(kTextPlain));
        log::info("masa-request",
                  {{"peer", peer_of(req)}, {"path", req.path}, {"outcome", "refused"}, {"code", res.status}});
    });
    if (!server.bind_to_port(options.listen.host, options.listen.port)) {
        std::cerr << "estgw masa: --listen " << options.listen.text()
                  << ": cannot listen there: " << std::strerror(errno) << "\n";
        return kExitUsage;
    }

    std::atomic<bool> stopping{false};
    std::atomic<bool> listener_ended{false};
    std::thread listener([&] {
        server.listen_after_bind();
        listener_ended.store(true);
        // A listener that ends by itself wakes the main thread, which then exits 1.
        if (!stopping.load()) ::kill(::getpid(), SIGTERM);
    });
    log::info("masa-listening", {{"listen", options.listen.text()},
                                 {"client-ca", options.client_cas.empty() ? "none" : "required"},
                                 {"audit", options.audit_file.empty() ? "-" : options.audit_file}});
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    const bool listener_failed = listener_ended.load();
    stopping.store(true);
    server.stop();
    listener.join();
    log::info("stopped", {{"signal", signal_number == SIGINT ? "SIGINT" : "SIGTERM"}});
    return listener_failed ? kExitFailure : kExitOk;
}

}  // namespace estgw::gateway
