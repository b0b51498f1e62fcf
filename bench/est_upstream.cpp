// The tests' RFC 7030 upstream (tests/gateway/fake_est_server.*) as a process of its own, for the
// benchmarks: an HTTPS EST server that requires a client certificate and issues from a CA on disk, with
// keep-alive, optionally writing each answer's head and body in two writes with Nagle's algorithm on, as
// cisco/libest does (--split). Runs until SIGTERM or SIGINT.
//
// Usage: est_upstream --cert F --key F --client-ca F --ca-cert F --ca-key F [--split] [--delay-ms N]
//                     [--port-file F]
//   --delay-ms: each answer waits N ms first (a server that takes that long, without using the CPU for it).
//   Listens on 127.0.0.1, on a free port, which it prints (and writes to --port-file) once it accepts.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <string>

#include "common/pem_file.hpp"
#include "gateway/fake_est_server.hpp"

using namespace estgw;

int main(int argc, char** argv) {
    std::map<std::string, std::string> args;
    bool split = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--split") {
            split = true;
        } else if (a.rfind("--", 0) == 0 && i + 1 < argc) {
            args[a] = argv[++i];
        } else {
            std::fprintf(stderr, "est_upstream: unexpected argument '%s'\n", a.c_str());
            return 2;
        }
    }
    for (const char* required : {"--cert", "--key", "--client-ca", "--ca-cert", "--ca-key"}) {
        if (!args.count(required)) {
            std::fprintf(stderr, "est_upstream: %s is required\n", required);
            return 2;
        }
    }
    auto ca = load_certificates(args["--ca-cert"]);
    auto ca_key = load_private_key(args["--ca-key"]);
    if (!ca || !ca_key) {
        std::fprintf(stderr, "est_upstream: %s\n", (!ca ? ca.error() : ca_key.error()).message.c_str());
        return 2;
    }
    // The signal is taken by sigwait below, not by a handler: every thread started later inherits the mask.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    signal(SIGPIPE, SIG_IGN);

    test::FakeEstServer server(args["--cert"], args["--key"], args["--client-ca"], ca->front().get(),
                               ca_key->get());
    server.set_split_writes(split);
    if (args.count("--delay-ms"))
        server.set_delay(std::chrono::milliseconds(std::atoi(args["--delay-ms"].c_str())));
    const int port = server.start();
    if (args.count("--port-file")) std::ofstream(args["--port-file"]) << port << "\n";
    std::printf("%d\n", port);
    std::fflush(stdout);
    int received = 0;
    sigwait(&stop_signals, &received);
    server.stop();
    return 0;
}
