// `estgw bench`: a load generator for EST-coaps servers. N DTLS sessions are kept busy at once by
// C = min(N, 4 × cores) threads, each owning one libcoap context that multiplexes its share of the sessions
// (client/bench_worker.cpp). For sen and sren each thread builds one CSR up front and sends it every time,
// so the run measures the server, not the client's key generation.
#include <sys/resource.h>

#include <boost/program_options.hpp>
#include <fstream>
#include <iostream>
#include <thread>

#include "certs/keygen.hpp"
#include "client/bench_stats.hpp"
#include "client/bench_worker.hpp"
#include "client/client_csr.hpp"
#include "client/client_options.hpp"
#include "client/commands.hpp"
#include "mapping/resources.hpp"

namespace po = boost::program_options;

namespace estgw::client {

namespace {

// clang-format off
constexpr const char* kUsage =
    "Usage: estgw bench --server coaps://HOST[:PORT][/root] --cert FILE --key FILE --ca FILE\n"
    "                   [--op sen|crts|sren] [--concurrency N] [--requests M] [--new-session-per-request]\n"
    "                   [--hold SECONDS] [--serials FILE]\n"
    "                   [--block SIZE] [--timeout SECONDS] [--json]\n"
    "\n"
    "Keeps N DTLS client sessions busy at once, each with one request in flight, until M requests have been\n"
    "answered; then reports throughput (successful operations per second), the latency of successful\n"
    "operations (nearest-rank p50, p90, p99 and max over every sample) and errors by CoAP code, or by why no\n"
    "answer came (timeout, dtls, unreachable, reset), with the cause OpenSSL gave for a failed DTLS\n"
    "handshake (\"dtls: the server refused our certificate (--cert): ...\"). Sessions are opened and their\n"
    "handshakes completed before the clock starts; --new-session-per-request opens a fresh session for every\n"
    "request and counts its handshake in the latency. sen sends one CSR per thread (subject and\n"
    "subjectAltName of --cert, a P-256 key made up front) again and again; sren sends a renewal CSR signed\n"
    "with --key, so --cert must be a certificate the server issued. --json prints the same report as one JSON\n"
    "object. --serials FILE (sen, sren) writes the serial number of every certificate received, one per line\n"
    "in uppercase hex as `openssl x509 -serial` and `estgw certs list` print it; an answer with a success code\n"
    "but no readable certificate then counts as the error no-certificate.\n"
    "\n"
    "Exit status: 0 every request succeeded; 1 some failed (the report says which); 2 bad usage or\n"
    "configuration; 3 the server name does not resolve.";
// clang-format on

constexpr std::string_view kBenchOps[] = {"sen", "crts", "sren"};
constexpr unsigned kMaxConcurrency = 10000;

int fail(int exit_code, const std::string& message) {
    std::cerr << "estgw bench: " << message << "\n";
    return exit_code;
}

// Each session holds a socket: 1000 sessions exceed the usual soft limit of 1024 descriptors.
void raise_descriptor_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

// The request one thread sends: the operation's path and formats, with its own CSR for sen and sren.
Result<CoapRequest> thread_request(const mapping::Resource& resource, const ClientOptions& client) {
    CoapRequest r;
    r.method = resource.method == mapping::CoapMethod::Get ? COAP_REQUEST_CODE_GET : COAP_REQUEST_CODE_POST;
    r.path = path_segments(client.url.root);
    r.path.emplace_back(resource.short_name);
    r.block_size = client.block_size;
    if (resource.request_formats.empty()) return r;
    r.content_format = static_cast<unsigned>(resource.request_formats[0]);
    ESTGW_TRY(cert, read_certificate_file(client.identity.cert_file));
    EvpPkeyPtr key;
    if (resource.op == Operation::SimpleReenroll) {
        ESTGW_TRY(current, read_private_key_file(client.identity.key_file));  // renew (RFC 7030 §4.2.2)
        key = std::move(current);
    } else {
        ESTGW_TRY(fresh, certs::generate_key(certs::KeyType{}));
        key = std::move(fresh);
    }
    ESTGW_TRY(csr, build_csr(key.get(), X509_get_subject_name(cert.get()), subject_alt_name(cert.get())));
    r.body = std::move(csr);
    return r;
}

}  // namespace

int run_bench(const std::vector<std::string>& args) {
    po::options_description desc("estgw bench options");
    desc.add_options()("help,h", "print this help and exit");
    add_client_options(desc);
    // clang-format off
    desc.add_options()
        ("op", po::value<std::string>()->default_value("sen"), "sen, crts or sren")
        ("concurrency", po::value<unsigned>()->default_value(1), "N: sessions kept busy at once (1 to 10000)")
        ("requests", po::value<unsigned long>()->default_value(100), "M: requests in all")
        ("new-session-per-request", po::bool_switch(), "a new DTLS session (handshake) for every request")
        ("hold", po::value<unsigned>()->default_value(0), "keep the sessions open and idle this many seconds after the run (memory measurements)")
        ("json", po::bool_switch(), "print the report as one JSON object")
        ("serials", po::value<std::string>(), "FILE: write the serial of every certificate received (sen, sren), one per line, uppercase hex");
    // clang-format on
    po::variables_map vm;
    if (auto stop = parse_command_line(args, desc, vm, kUsage)) return *stop;
    auto client = read_client_options(vm);
    if (!client) return fail(kExitUsage, client.error().message + " (see estgw bench --help)");
    if (client->identity.ca_file.empty()) return fail(kExitUsage, "--ca is required");
    const std::string op = vm["op"].as<std::string>();
    if (std::find(std::begin(kBenchOps), std::end(kBenchOps), op) == std::end(kBenchOps))
        return fail(kExitUsage, "--op: '" + op + "' is not one of sen, crts, sren");
    const mapping::Resource& resource = *mapping::find_resource_by_short_name(mapping::Family::Est, op);
    const unsigned concurrency = vm["concurrency"].as<unsigned>();
    const unsigned long requests = vm["requests"].as<unsigned long>();
    if (concurrency == 0 || concurrency > kMaxConcurrency)
        return fail(kExitUsage, "--concurrency: 1 to " + std::to_string(kMaxConcurrency));
    if (requests == 0) return fail(kExitUsage, "--requests: at least 1");
    const std::string serials_file = vm.count("serials") ? vm["serials"].as<std::string>() : std::string();
    if (!serials_file.empty() && resource.op == Operation::CaCerts)
        return fail(kExitUsage, "--serials: only sen and sren answer with a certificate");
    std::ofstream serials_out;
    if (!serials_file.empty()) {
        // Opened before the run, so that a path that cannot be written fails before any request.
        serials_out.open(serials_file, std::ios::trunc);
        if (!serials_out) return fail(kExitUsage, "--serials: cannot write " + serials_file);
    }

    CoapLibrary library(LOG_ERR);
    raise_descriptor_limit();
    auto server = resolve_server(client->url);
    if (!server) return fail(kExitNoAnswer, server.error().message);
    BenchPlan plan{*server,
                   client->identity,
                   resource.success_code,
                   vm["new-session-per-request"].as<bool>(),
                   client->timeout,
                   std::chrono::seconds(vm["hold"].as<unsigned>()),
                   !serials_file.empty()};

    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    const unsigned threads = std::min(concurrency, 4 * cores);
    std::vector<CoapRequest> thread_requests;
    for (unsigned t = 0; t < threads; ++t) {
        auto request = thread_request(resource, *client);
        if (!request) return fail(kExitUsage, request.error().message);
        thread_requests.push_back(std::move(*request));
    }

    RequestBudget budget(static_cast<long>(requests));
    std::latch ready(threads), start(1);
    std::vector<WorkerOutcome> outcomes(threads);
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t) {
        unsigned sessions = concurrency / threads + (t < concurrency % threads ? 1 : 0);
        workers.emplace_back([&, t, sessions] {
            try {
                outcomes[t] = run_bench_worker(plan, thread_requests[t], sessions, budget, ready, start);
            } catch (const std::exception& e) {
                outcomes[t].setup_error = make_error(Status::Internal, e.what());
            }
        });
    }
    ready.wait();
    const auto started = std::chrono::steady_clock::now();
    start.count_down();
    for (auto& w : workers)
        w.join();
    // The run ends with the last request, not with --hold.
    auto finished = started;
    for (const auto& o : outcomes)
        finished = std::max(finished, o.finished);

    BenchReport report;
    report.op = op;
    report.concurrency = concurrency;
    report.requests = requests;
    report.new_session_per_request = plan.new_session_per_request;
    report.duration_s = std::chrono::duration<double>(finished - started).count();
    for (auto& o : outcomes) {
        if (o.setup_error) return fail(kExitUsage, o.setup_error->message);
        report.ok += o.ok;
        report.latencies_ms.insert(report.latencies_ms.end(), o.latencies_ms.begin(), o.latencies_ms.end());
        for (const auto& [key, count] : o.errors)
            report.errors[key] += count;
        report.causes.insert(o.causes.begin(), o.causes.end());
        for (const auto& serial : o.serials)
            serials_out << serial << '\n';
    }
    if (!serials_file.empty()) {
        serials_out.close();
        if (!serials_out) return fail(kExitFailure, "--serials: writing " + serials_file + " failed");
    }
    std::cout << (vm["json"].as<bool>() ? format_json(report) + "\n" : format_text(report));
    return report.errors.empty() ? kExitOk : kExitFailure;
}

}  // namespace estgw::client
