#include "support/estgw_env.hpp"

#include <signal.h>

#include <stdexcept>
#include <thread>

namespace estgw::test {

RunResult run_estgw(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
    std::vector<std::string> argv = {ESTGW_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, timeout);
}

EstgwEnv::EstgwEnv(const std::string& log_name) : log_file_(dir.file(log_name)) {}

CoapOutcome EstgwEnv::coap(const std::string& path, const std::vector<std::string>& args,
                           const std::optional<Credentials>& who) {
    const std::string out = numbered_file("out-");
    return run_coap_client(coap_command(path, args, who, out), out);
}

std::vector<std::string> EstgwEnv::coap_command(const std::string& path, const std::vector<std::string>& args,
                                                const std::optional<Credentials>& who,
                                                const std::string& out_file) {
    return coap_client_command("coaps://127.0.0.1:" + std::to_string(port) + path, args,
                               who ? *who : default_pledge(), trust_file(), out_file, coap_client);
}

void EstgwEnv::launch(const std::vector<std::string>& argv, bool wait_ready) {
    process_ = std::make_unique<ChildProcess>(argv, log_file_);
    if (!wait_ready) return;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
        if (!process_->running()) throw std::runtime_error("estgw exited at start:\n" + process_log());
        if (coap("/.well-known/core").code == "2.05") return;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("estgw did not become ready:\n" + process_log());
}

int EstgwEnv::stop_process(int signal, std::chrono::milliseconds timeout) {
    const int code = process_ ? process_->stop(signal, timeout) : 0;
    process_.reset();
    return code;
}

void EstgwEnv::send_signal(int signal) {
    if (process_) ::kill(process_->pid(), signal);
}

int EstgwEnv::wait_exit(std::chrono::milliseconds timeout) {
    return process_ ? process_->wait_exit(timeout) : 0;
}

std::string EstgwEnv::process_log() const {
    return read_file(log_file_);
}

std::string EstgwEnv::numbered_file(const std::string& prefix, const std::string& suffix) {
    return dir.file(prefix + std::to_string(++outputs_) + suffix);
}

}  // namespace estgw::test
