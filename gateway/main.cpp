// estgw: EST-coaps (RFC 9148) gateway and registrar.
#include <coap3/coap.h>
#include <signal.h>

#include <iostream>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "gateway/coap_front.hpp"
#include "gateway/serve_options.hpp"
#include "gateway/upstream_backend.hpp"
#include "gateway/version.hpp"

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr const char* kUsage =
    "Usage: estgw [--help] [--version] <command> [options]\n"
    "\n"
    "estgw lets constrained devices enroll for X.509 certificates over CoAP and DTLS (EST-coaps,\n"
    "RFC 9148), in front of an RFC 7030 EST server.\n"
    "\n"
    "Commands:\n"
    "  serve     serve EST-coaps over DTLS (`estgw serve --help` lists every option)\n"
    "\n"
    "Options:\n"
    "  -h, --help       print this help and exit\n"
    "  -V, --version    print the version and exit\n";

// libcoap logs to stderr in its own format; keep it quiet unless estgw itself is at debug level.
void configure_libcoap_logging(estgw::log::Level level) {
    coap_set_log_level(level == estgw::log::Level::Debug ? LOG_INFO : LOG_WARNING);
    coap_dtls_set_log_level(level == estgw::log::Level::Debug ? LOG_INFO : LOG_WARNING);
}

int serve(const std::vector<std::string>& args) {
    using namespace estgw;
    auto parsed = gateway::parse_serve_options(args, std::cout);
    if (!parsed) {
        std::cerr << "estgw serve: " << parsed.error().message << "\n";
        return kExitUsage;
    }
    if (parsed->help) return 0;
    gateway::ServeOptions& o = parsed->options;
    log::set_level(o.log_level);

    // SIGTERM/SIGINT are read from a signalfd by the I/O thread; block them before any thread starts so that
    // every thread inherits the mask.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    signal(SIGPIPE, SIG_IGN);  // a peer closing a TLS connection must not kill the process

    coap_startup();
    configure_libcoap_logging(o.log_level);
    int rc = 0;
    {
        gateway::UpstreamClient client(o.upstream);
        gateway::WorkerPool pool(o.workers, o.queue_limit);
        gateway::UpstreamBackendConfig backend_config;
        backend_config.mapping = o.upstream_mapping;
        backend_config.crts_refresh = o.crts_refresh;
        backend_config.labels = o.labels;
        gateway::UpstreamBackend backend(backend_config, client, pool);

        gateway::FrontConfig front_config;
        front_config.listen = o.listen;
        front_config.cert_file = o.cert_file;
        front_config.key_file = o.key_file;
        front_config.client_ca_file = o.client_ca_file;
        front_config.keylog_file = o.keylog_file;
        front_config.routes = o.routes;
        for (Operation op : backend.unavailable_operations())
            front_config.routes.disabled.push_back(op);
        front_config.discovery.est_root =
            o.routes.est_roots.empty() ? std::string(mapping::kWellKnownEstRoot) : o.routes.est_roots.front();
        front_config.discovery.brski_root = o.routes.brski_roots.empty()
                                                ? std::string(mapping::kWellKnownBrskiRoot)
                                                : o.routes.brski_roots.front();
        front_config.discovery.labels = o.labels;
        front_config.discovery.include_brski = true;
        std::erase_if(front_config.discovery.enabled, [&](Operation op) {
            return std::find(front_config.routes.disabled.begin(), front_config.routes.disabled.end(), op) !=
                   front_config.routes.disabled.end();
        });
        front_config.drain_timeout = o.upstream.timeout + std::chrono::seconds(5);

        gateway::CoapFront front(front_config, backend);
        if (auto started = front.start(); !started) {
            std::cerr << "estgw serve: " << started.error().message << "\n";
            rc = started.error().status == Status::BadRequest ? kExitUsage : kExitFailure;
        } else {
            log::info("started",
                      {{"mode", "gateway"},
                       {"upstream", o.upstream.url.host + ":" + std::to_string(o.upstream.url.port)},
                       {"workers", o.workers},
                       {"version", ESTGW_VERSION_STRING}});
            if (auto ran = front.run(); !ran) {
                log::error("event-loop-failed", {{"error", ran.error().message}});
                rc = kExitFailure;
            }
        }
        pool.drain();
    }
    coap_cleanup();
    return rc;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) {
        std::cerr << kUsage;
        return kExitUsage;
    }
    const std::string& first = args.front();
    if (first == "--version" || first == "-V") {
        std::cout << "estgw " << ESTGW_VERSION_STRING << "\n";
        return 0;
    }
    if (first == "--help" || first == "-h" || first == "help") {
        std::cout << kUsage;
        return 0;
    }
    if (first == "serve") {
        try {
            return serve(std::vector<std::string>(args.begin() + 1, args.end()));
        } catch (const std::exception& e) {
            std::cerr << "estgw serve: " << e.what() << "\n";
            return kExitFailure;
        }
    }
    std::cerr << "estgw: unknown command '" << first << "'\nTry 'estgw --help'.\n";
    return kExitUsage;
}
