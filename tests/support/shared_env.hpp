// A GoogleTest suite whose tests share one started environment (an estgw process with its PKI), created
// before the suite's first test and stopped after its last. On a failure the process's log is printed.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <thread>

#include "gateway/gateway_env.hpp"
#include "support/server_env.hpp"

namespace estgw::test {

inline void start_env(ServerEnv& env) {
    env.start();
}
// The gateway fetches the upstream's CA certificates in the background once it runs, and answers /crts
// with 5.03 + Max-Age until it has them (a pledge retries): the shared suites start once that is over, so
// that no test depends on how fast a loaded machine does it.
inline void start_env(GatewayEnv& env) {
    env.start_gateway();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (env.coap("/.well-known/est/crts").code == "5.03" && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
}
inline std::string env_log(const ServerEnv& env) {
    return env.log();
}
inline std::string env_log(const GatewayEnv& env) {
    return env.gateway_log();
}

// Suite: the deriving fixture (CRTP, so that every suite has an environment of its own).
template <class Suite, class Env>
class SharedEnvTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        env_ = std::make_unique<Env>();
        start_env(*env_);
    }
    static void TearDownTestSuite() { env_.reset(); }
    void TearDown() override {
        if (HasFailure()) std::cerr << "---- estgw log ----\n" << env_log(*env_) << "\n";
    }
    Env& env() { return *env_; }

    static inline std::unique_ptr<Env> env_;
};

}  // namespace estgw::test
