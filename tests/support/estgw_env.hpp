// What the end-to-end environments (ServerEnv, GatewayEnv) share around the one estgw process each runs:
// the temporary directory, the process itself and when it counts as ready, and coap-client as the pledge.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/coap_cli.hpp"
#include "support/process.hpp"

namespace estgw::test {

// Runs the estgw binary with `args` (after the program name) to completion.
RunResult run_estgw(const std::vector<std::string>& args,
                    std::chrono::milliseconds timeout = std::chrono::seconds(30));

class EstgwEnv {
  public:
    virtual ~EstgwEnv() = default;
    EstgwEnv(const EstgwEnv&) = delete;
    EstgwEnv& operator=(const EstgwEnv&) = delete;

    // Runs one request. `args` are coap-client options such as {"-m", "post", "-t", "286"}; without `who`
    // the request comes from the environment's pledge.
    CoapOutcome coap(const std::string& path, const std::vector<std::string>& args = {},
                     const std::optional<Credentials>& who = std::nullopt);
    // What coap() runs, with the body going to `out_file`: for requests that must be sent at once.
    std::vector<std::string> coap_command(const std::string& path, const std::vector<std::string>& args,
                                          const std::optional<Credentials>& who, const std::string& out_file);

    // The running estgw's process id, for reading /proc; -1 when none runs.
    pid_t pid() const { return process_ ? process_->pid() : -1; }

    // Sends `signal` to the estgw process without waiting for it to exit.
    void send_signal(int signal);
    // Waits for the estgw process to exit: its exit code, or -1 when it still runs after `timeout`.
    int wait_exit(std::chrono::milliseconds timeout);

    TempDir dir;
    int port = 0;                                  // estgw's DTLS port
    std::string coap_client = kCoapClientOpenSsl;  // the pledge's DTLS stack for coap()

  protected:
    // The process's output goes to dir/`log_name`.
    explicit EstgwEnv(const std::string& log_name);

    // The identity coap() uses when not told otherwise, and the trust anchors it checks estgw's
    // certificate against.
    virtual const Credentials& default_pledge() const = 0;
    virtual std::string trust_file() const = 0;

    // Starts `argv`, replacing process_. With `wait_ready` it returns once discovery answers 2.05, which
    // needs both the endpoint and the DTLS credentials to work, and throws with the log when the process
    // exits first or takes longer than 15 s.
    void launch(const std::vector<std::string>& argv, bool wait_ready);
    // Sends `signal` and waits up to `timeout` for the exit (then SIGKILL); the exit code, 0 when none ran.
    int stop_process(int signal, std::chrono::milliseconds timeout);
    std::string process_log() const;
    // A fresh name in dir, "<prefix><n><suffix>" with a counter shared by every caller, so that no answer
    // a test may still read is overwritten.
    std::string numbered_file(const std::string& prefix, const std::string& suffix = "");

    std::unique_ptr<ChildProcess> process_;

  private:
    std::string log_file_;
    int outputs_ = 0;
};

}  // namespace estgw::test
