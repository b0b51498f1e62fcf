// The direct HTTPS client of the upstream benchmark (bench/upstream.sh): N threads, each with a kept-alive
// connection of its own, sending RFC 7030 simpleenroll requests as fast as the answers come. It is the
// gateway's own upstream client (gateway/upstream_client.*: one write per request, TCP_NODELAY,
// TCP_QUICKACK), so the comparison shows what the gateway adds, not the difference between two clients.
//
// Usage: direct_enroll --upstream URL --ca F --cert F --key F --csr F(DER) --concurrency N --requests M
// Prints one JSON object: {"concurrency":N,"requests":M,"ok":K,"duration_s":..,"ops_per_s":..,"p50":..,...}
// Each connection sends one request first, not counted, so that the measured ones reuse open connections.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client/bench_stats.hpp"
#include "common/base64.hpp"
#include "gateway/upstream_client.hpp"

using namespace estgw;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
    std::map<std::string, std::string> args;
    for (int i = 1; i + 1 < argc; i += 2)
        args[argv[i]] = argv[i + 1];
    for (const char* required :
         {"--upstream", "--ca", "--cert", "--key", "--csr", "--concurrency", "--requests"}) {
        if (!args.count(required)) {
            std::fprintf(stderr, "direct_enroll: %s is required\n", required);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    const int concurrency = std::max(1, std::atoi(args["--concurrency"].c_str()));
    const int requests = std::max(1, std::atoi(args["--requests"].c_str()));
    auto url = gateway::parse_https_url(args["--upstream"]);
    if (!url) {
        std::fprintf(stderr, "direct_enroll: %s\n", url.error().message.c_str());
        return 2;
    }
    gateway::UpstreamClientConfig config;
    config.url = *url;
    config.ca_file = args["--ca"];
    config.cert_file = args["--cert"];
    config.key_file = args["--key"];
    config.max_connections = static_cast<std::size_t>(concurrency);
    config.max_idle_age = std::chrono::milliseconds(60'000);
    auto client = gateway::UpstreamClient::create(config);
    if (!client) {
        std::fprintf(stderr, "direct_enroll: %s\n", client.error().message.c_str());
        return 2;
    }
    std::ifstream csr_file(args["--csr"], std::ios::binary);
    const std::string der((std::istreambuf_iterator<char>(csr_file)), std::istreambuf_iterator<char>());
    mapping::HttpRequest enroll;
    enroll.method = "POST";
    enroll.path = url->path_prefix + "/.well-known/est/simpleenroll";
    enroll.headers = {{"Content-Type", "application/pkcs10"}, {"Content-Transfer-Encoding", "base64"}};
    enroll.body = base64_encode(Bytes(der.begin(), der.end()));

    auto one = [&](std::vector<double>* samples) {
        const auto t0 = Clock::now();
        auto reply = (*client)->call(enroll, t0 + std::chrono::seconds(60));
        if (samples) samples->push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        return reply.failure == gateway::UpstreamFailure::None && reply.response.status == 200;
    };
    // Warm-up: every connection opened and used once, all at the same time.
    {
        std::vector<std::thread> warm;
        for (int t = 0; t < concurrency; ++t)
            warm.emplace_back([&] { one(nullptr); });
        for (auto& t : warm)
            t.join();
    }
    std::atomic<int> next{0};
    std::atomic<unsigned long> ok{0};
    std::mutex merge;
    std::vector<double> all;
    const auto started = Clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < concurrency; ++t) {
        threads.emplace_back([&] {
            std::vector<double> mine;
            while (next.fetch_add(1) < requests) {
                if (one(&mine)) ++ok;
            }
            std::lock_guard lock(merge);
            all.insert(all.end(), mine.begin(), mine.end());
        });
    }
    for (auto& t : threads)
        t.join();
    const double duration = std::chrono::duration<double>(Clock::now() - started).count();
    const auto s = client::summarize_latencies(all);
    std::printf(
        "{\"concurrency\":%d,\"requests\":%d,\"ok\":%lu,\"duration_s\":%.3f,\"ops_per_s\":%.1f,"
        "\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f}}\n",
        concurrency, requests, ok.load(), duration, static_cast<double>(ok.load()) / duration, s.p50, s.p90,
        s.p99, s.max);
    return ok.load() == static_cast<unsigned long>(requests) ? 0 : 1;
}
