// `estgw serve`: wires options, backend and fronts together and runs until SIGTERM/SIGINT.
#include <coap3/coap.h>
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <tuple>
#include <vector>

#include "certs/ca.hpp"
#include "certs/csrattrs.hpp"
#include "certs/database.hpp"
#include "common/log.hpp"
#include "common/pem_file.hpp"
#include "gateway/coap_fronts.hpp"
#include "gateway/commands.hpp"
#include "gateway/https_front.hpp"
#include "gateway/libcoap_log.hpp"
#include "gateway/listen_address_check.hpp"
#include "gateway/local_backend.hpp"
#include "gateway/metrics.hpp"
#include "gateway/metrics_server.hpp"
#include "gateway/serve_options.hpp"
#include "gateway/upstream_backend.hpp"
#include "gateway/version.hpp"

namespace estgw::gateway {

namespace {

// Each deferred request's deadline from its arrival: the upstream's timeout in gateway mode (a request that
// waited for a worker has less of it left for the upstream); in server mode signing is local and short, but
// a voucher-request may wait --masa-timeout for the MASA, and its answer then says so (5.04).
std::chrono::seconds request_timeout(const ServeOptions& o) {
    if (o.mode == Mode::Gateway) return o.upstream.timeout;
    return std::max(std::chrono::seconds(30), o.masa_timeout + std::chrono::seconds(2));
}

FrontConfig front_config(const ServeOptions& o, const Backend& backend) {
    FrontConfig f;
    f.listen = o.listen;
    f.cert_file = o.cert_file;
    f.key_file = o.key_file;
    f.client_ca_file = o.client_ca_file;
    f.keylog_file = o.keylog_file;
    f.sessions = o.sessions;
    f.block_timeout = o.block_timeout;
    f.routes = o.routes;
    for (Operation op : backend.unavailable_operations())
        f.routes.disabled.push_back(op);
    f.discovery.est_root =
        o.routes.est_roots.empty() ? std::string(mapping::kWellKnownEstRoot) : o.routes.est_roots.front();
    f.discovery.brski_root = o.routes.brski_roots.empty() ? std::string(mapping::kWellKnownBrskiRoot)
                                                          : o.routes.brski_roots.front();
    f.discovery.labels = o.routes.labels;
    f.discovery.include_brski = true;
    std::erase_if(f.discovery.enabled, [&](Operation op) {
        return std::find(f.routes.disabled.begin(), f.routes.disabled.end(), op) != f.routes.disabled.end();
    });
    f.request_timeout = request_timeout(o);
    f.drain_timeout = o.drain_timeout.value_or(f.request_timeout + std::chrono::seconds(5));
    return f;
}

// How long the workers still get after the drain, once their upstream calls have been aborted (they then
// return within milliseconds; only a name lookup cannot be interrupted).
constexpr std::chrono::milliseconds kAbandonAfter{500};

// Stops the workers once the fronts have answered every request. A job that has not started is dropped. In
// server mode a started job runs to its end however long that takes: it may have issued a certificate,
// which must be in the store before the process stops (signing is local and short). In gateway mode
// (Backend::jobs_may_be_abandoned) one that is still running after kAbandonAfter is left behind, and the
// process ends without destroying what it uses. False then.
bool stop_workers(Backend& backend, WorkerPool& pool) {
    backend.abandon_work();
    if (!backend.jobs_may_be_abandoned()) {
        pool.stop();
        return true;
    }
    return pool.stop_within(kAbandonAfter) && !backend.work_left_behind();
}

// estgw_worker_queue_depth reads the pool (and the backend's own queues: the gateway's upstream threads')
// while it serves, and nothing after.
class QueueDepthGauge {
  public:
    QueueDepthGauge(const WorkerPool& pool, const Backend& backend) {
        metrics::estgw_metrics().worker_queue_depth.read_from(
            [&pool, &backend] { return static_cast<double>(pool.queued() + backend.queued_jobs()); });
    }
    ~QueueDepthGauge() { metrics::estgw_metrics().worker_queue_depth.read_from({}); }
    QueueDepthGauge(const QueueDepthGauge&) = delete;
    QueueDepthGauge& operator=(const QueueDepthGauge&) = delete;
};

// Gateway mode is healthy while the upstream answers: the background refresh of /crts and /att calls it once
// per --crts-refresh, so an HTTP response (of any status) within that period and the call's own time limit
// shows it reachable.
HealthCheck upstream_health(const UpstreamBackend& backend, const ServeOptions& o) {
    return [&backend, window = o.crts_refresh + o.upstream.timeout]() -> Health {
        const auto last = backend.last_upstream_response();
        if (!last) return {false, "the upstream has not answered yet"};
        const auto since = std::chrono::steady_clock::now() - *last;
        if (since <= window) return {};
        return {false, "no answer from the upstream for " +
                           std::to_string(std::chrono::duration_cast<std::chrono::seconds>(since).count()) +
                           " s"};
    };
}

// Server mode is healthy while the issuance store can be read (a look-up that finds nothing).
HealthCheck store_health(certs::IssuanceStore& store) {
    return [&store]() -> Health {
        if (auto found = store.find("00"); !found)
            return {false, "the issuance store cannot be read: " + found.error().message};
        return {};
    };
}

// Runs the CoAP fronts (and the HTTPS front when configured) until a signal; returns the exit code. In
// order: the drain (the fronts answer every request, the background work stops), the HTTPS front's
// connections closed, the workers stopped, then "stopped", which is the last line the process logs.
int serve_fronts(const ServeOptions& o, Backend& backend, WorkerPool& pool, const char* mode_name,
                 const std::string& detail, const HealthCheck& backend_health) {
    const FrontConfig coap_config = front_config(o, backend);
    CoapFronts fronts(coap_config, o.io_threads, backend);
    if (auto started = fronts.start(); !started) {
        std::cerr << "estgw serve: " << started.error().message << "\n";
        return started.error().status == Status::BadRequest ? kExitUsage : kExitFailure;
    }
    std::unique_ptr<HttpsFront> https;
    if (o.https_listen) {
        HttpsFrontConfig h;
        h.listen = *o.https_listen;
        h.cert_file = o.cert_file;
        h.key_file = o.key_file;
        h.client_ca_file = o.client_ca_file;
        h.routes = coap_config.routes;
        h.trust_forwarded_client_cert = o.trust_forwarded_client_cert;
        h.limits = o.https_limits;
        h.request_timeout = coap_config.request_timeout;
        https = std::make_unique<HttpsFront>(h, backend);
        if (auto started = https->start(); !started) {
            std::cerr << "estgw serve: " << started.error().message << "\n";
            return kExitFailure;
        }
    }
    // /healthz: the fronts run (and have not begun to stop), and the backend reaches what it depends on.
    std::atomic<bool> draining{false};
    metrics::estgw_metrics().build_info.set({ESTGW_VERSION_STRING}, 1);
    QueueDepthGauge queue_depth(pool, backend);
    std::unique_ptr<MetricsServer> metrics_server;  // stopped before the gauge's source goes
    if (o.metrics_listen) {
        metrics_server = std::make_unique<MetricsServer>(*o.metrics_listen, [&]() -> Health {
            if (draining.load()) return {false, "draining: estgw is shutting down"};
            return backend_health();
        });
        if (auto started = metrics_server->start(); !started) {
            std::cerr << "estgw serve: " << started.error().message << "\n";
            return kExitFailure;
        }
    }
    log::info("started", {{"mode", mode_name},
                          {"detail", detail},
                          {"workers", o.workers},
                          {"io_threads", o.io_threads},
                          {"version", ESTGW_VERSION_STRING}});
    auto ran = fronts.run([&](std::chrono::steady_clock::time_point drain_deadline) {
        draining.store(true);
        if (https) https->begin_drain(drain_deadline);
        backend.stop_background_work();
    });
    draining.store(true);  // also when the loop failed
    if (metrics_server) metrics_server->stop();
    if (!ran) log::error("event-loop-failed", {{"error", ran.error().message}});
    if (https) {
        https->begin_drain(std::chrono::steady_clock::now());  // when the loop failed before a signal
        https->stop();
    }
    const int code = ran ? kExitOk : kExitFailure;
    if (!stop_workers(backend, pool)) {
        log::warn(
            "workers-abandoned",
            {{"reason", "still waiting for the upstream after the drain; their answers are discarded"}});
        log::info("stopped", {});
        std::_Exit(code);  // the abandoned threads still use the backend, the client and the pool
    }
    log::info("stopped", {});
    return code;
}

int serve_gateway(const ServeOptions& o) {
    auto client = UpstreamClient::create(o.upstream);
    if (!client) {
        std::cerr << "estgw serve: " << client.error().message << "\n";
        return kExitUsage;
    }
    WorkerPool pool(o.workers, o.queue_limit);
    UpstreamBackendConfig config;
    config.upstream_threads = o.upstream_connections;
    config.queue_limit = o.queue_limit;
    config.mapping = o.upstream_mapping;
    config.crts_refresh = o.crts_refresh;
    config.labels = o.routes.labels;
    UpstreamBackend backend(config, **client, pool);
    return serve_fronts(o, backend, pool, "gateway",
                        o.upstream.url.host + ":" + std::to_string(o.upstream.url.port),
                        upstream_health(backend, o));
}

// POST /rv when --cert can sign voucher-requests (id-kp-cmcRA); otherwise null, and one line says why.
Result<std::unique_ptr<VoucherRegistrar>> voucher_registrar(const ServeOptions& o,
                                                            certs::PledgeJournal* journal) {
    auto chain = load_certificates(o.cert_file);
    if (!chain) return make_error(Status::BadRequest, "--cert: " + chain.error().message);
    if (auto why = voucher_requests_unavailable(chain->front().get())) {
        log::info("voucher-requests-off", {{"reason", *why}});
        return std::unique_ptr<VoucherRegistrar>();
    }
    VoucherRegistrarConfig config;
    config.cert_file = o.cert_file;
    config.key_file = o.key_file;
    config.client_ca_file = o.client_ca_file;
    config.domain_ca_file = o.ca_cert_file;
    config.masa_url = o.masa_url;
    config.masa.ca_file = o.masa_ca_file;
    config.masa.cert_file = o.masa_cert_file.empty() ? o.cert_file : o.masa_cert_file;
    config.masa.key_file = o.masa_key_file.empty() ? o.key_file : o.masa_key_file;
    config.masa.timeout = o.masa_timeout;
    config.masa.max_connections = o.workers;
    auto registrar = VoucherRegistrar::create(std::move(config), journal);
    if (!registrar) return registrar.error();
    log::info("voucher-requests-on",
              {{"masa_url", o.masa_url.empty() ? std::string("(from the IDevIDs only)") : o.masa_url},
               {"masa_ca", o.masa_ca_file.empty() ? std::string("(system trust store)") : o.masa_ca_file},
               {"journal", journal ? "on" : "off"}});
    return registrar;
}

int serve_server(const ServeOptions& o) {
    auto key_policy = certs::KeyPolicy::parse(o.key_types);
    if (!key_policy) {
        std::cerr << "estgw serve: --key-types: " << key_policy.error().message << "\n";
        return kExitUsage;
    }
    auto ca = certs::IssuingCa::load(o.ca_cert_file, o.ca_key_file);
    if (!ca) {
        std::cerr << "estgw serve: --ca-cert/--ca-key: " << ca.error().message << "\n";
        return kExitUsage;
    }
    certs::CsrAttrsOptions attrs_options{o.require_tls_unique};
    auto attrs = o.csrattrs_file.empty() ? certs::default_csr_attributes(attrs_options)
                                         : certs::load_csr_attributes(o.csrattrs_file, attrs_options);
    if (!attrs) {
        std::cerr << "estgw serve: --csrattrs: " << attrs.error().message << "\n";
        return kExitUsage;
    }
    std::vector<certs::SymmetricKey> keks;
    if (!o.kek_file.empty()) {
        auto loaded = certs::load_symmetric_keys(o.kek_file);
        if (!loaded) {
            std::cerr << "estgw serve: --kek-file: " << loaded.error().message << "\n";
            return kExitUsage;
        }
        keks = std::move(*loaded);
    }
    // One database connection per worker at most: the workers are what insert at once.
    auto store = certs::open_database(o.db_file, certs::DatabaseOptions{.connections = o.workers});
    if (!store) {
        std::cerr << "estgw serve: --db: " << store.error().message << "\n";
        return kExitUsage;
    }
    // The database keeps the pledge journal too (certs/journal.hpp).
    certs::PledgeJournal* journal = store->get();
    auto registrar = voucher_registrar(o, journal);
    if (!registrar) {
        std::cerr << "estgw serve: " << registrar.error().message << "\n";
        return kExitUsage;
    }
    WorkerPool pool(o.workers, o.queue_limit);
    LocalBackendConfig config;
    config.voucher_registrar = registrar->get();
    config.policy.require_tls_unique = o.require_tls_unique;
    config.key_policy = *key_policy;
    config.profile.validity_days = static_cast<int>(o.validity_days);
    config.csr_attributes = std::move(*attrs);
    config.symmetric_keys = std::move(keks);
    config.journal = journal;
    config.require_voucher = o.require_voucher;
    auto backend = LocalBackend::create(std::move(config), *ca, **store, pool);
    if (!backend) {
        std::cerr << "estgw serve: " << backend.error().message << "\n";
        return kExitFailure;
    }
    // serve_fronts stops the pool: every job that started finishes (and records) before the store closes.
    return serve_fronts(o, **backend, pool, "server", "db=" + certs::redact_database(o.db_file),
                        store_health(**store));
}

}  // namespace

int run_serve(const std::vector<std::string>& args) {
    auto parsed = parse_serve_options(args, std::cout);
    if (!parsed) {
        std::cerr << "estgw serve: " << parsed.error().message << "\n";
        return kExitUsage;
    }
    if (parsed->help) return kExitOk;
    const ServeOptions& o = parsed->options;
    log::set_level(o.log_level);
    if (!parsed->ignored_config_options.empty()) {
        std::string names;
        for (const auto& name : parsed->ignored_config_options)
            names += (names.empty() ? "" : " ") + name;
        const char* mode = o.mode == Mode::Gateway ? "gateway" : "server";
        log::warn("config-options-ignored",
                  {{"file", parsed->config_file},
                   {"options", names},
                   {"detail", std::string("not used in ") + mode + " mode, set by --mode"}});
    }
    // Before anything else starts: an address another process holds would be shared, not refused.
    std::vector<std::tuple<ListenAddress, Transport, const char*>> addresses;
    for (const auto& listen : o.listen)
        addresses.emplace_back(listen, Transport::Udp, "listen");
    if (o.https_listen) addresses.emplace_back(*o.https_listen, Transport::Tcp, "https-listen");
    if (o.metrics_listen) addresses.emplace_back(*o.metrics_listen, Transport::Tcp, "metrics-listen");
    for (const auto& [address, transport, option] : addresses) {
        if (auto free = check_address_free(address, transport, option); !free) {
            std::cerr << "estgw serve: " << free.error().message << "\n";
            return kExitUsage;
        }
    }

    // SIGTERM/SIGINT are read from a signalfd by CoapFronts::run; block them before any thread starts so that
    // every thread inherits the mask.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    signal(SIGPIPE, SIG_IGN);  // a peer closing a TLS connection must not kill the process

    coap_startup();
    route_libcoap_logging(o.log_level);
    int rc = o.mode == Mode::Gateway ? serve_gateway(o) : serve_server(o);
    coap_cleanup();
    return rc;
}

}  // namespace estgw::gateway
