// Several coap-client requests at once against a gateway, each timed from its start to its answer, for the
// tests of deadlines and shutdown.
#pragma once

#include <chrono>
#include <future>
#include <string>
#include <vector>

#include "gateway/gateway_env.hpp"

namespace estgw::test {

struct TimedOutcome {
    CoapOutcome outcome;
    std::chrono::steady_clock::duration took{};
};

// Starts `count` enrollments (sen) through `env`'s gateway at once; get() each for its outcome.
inline std::vector<std::future<TimedOutcome>> start_enrollments(GatewayEnv& env, int count,
                                                                const std::string& name) {
    const std::string csr = env.write_csr(name, "CN=pledge-1,O=estgw tests", {"DNS:pledge-1.example"});
    std::vector<std::future<TimedOutcome>> runs;
    for (int i = 0; i < count; ++i) {
        // Built here, on one thread: the environment's file counter is not thread-safe.
        const std::string out = env.dir.file(name + "-" + std::to_string(i) + ".out");
        auto argv = env.coap_command("/est/sen", {"-m", "post", "-t", "286", "-f", csr, "-B", "30"},
                                     std::nullopt, out);
        runs.push_back(std::async(std::launch::async, [argv, out] {
            const auto started = std::chrono::steady_clock::now();
            TimedOutcome timed;
            timed.outcome = run_coap_client(argv, out);
            timed.took = std::chrono::steady_clock::now() - started;
            return timed;
        }));
    }
    return runs;
}

inline double seconds(std::chrono::steady_clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

}  // namespace estgw::test
