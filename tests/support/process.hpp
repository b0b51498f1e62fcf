// Child processes for end-to-end tests: the real estgw binary and coap-client-openssl.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace estgw::test {

struct RunResult {
    int exit_code = -1;  // -1 when killed by the timeout or a signal
    std::string output;  // stdout and stderr interleaved
    bool timed_out = false;
};

// Runs argv[0] (looked up in PATH) to completion, stdin from /dev/null, killing it after `timeout`.
RunResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

// One command-line option and its value: {"--workers", "4"}.
using Option = std::pair<std::string, std::string>;
// `defaults` flattened, each value replaced by the same option's in `extra` ("--name", "value", ...), then
// the other options of `extra` in their order. estgw's option parser refuses a single-valued option given
// twice, so a test's override has to replace the default rather than follow it; an option repeated in
// `extra` keeps its last value. Throws when `extra` ends with an option that has no value.
std::vector<std::string> merge_options(std::vector<Option> defaults, const std::vector<std::string>& extra);

// A long-running child whose stdout and stderr go to `log_file`. Killed (SIGKILL) on destruction unless it
// was stopped first.
class ChildProcess {
  public:
    ChildProcess(const std::vector<std::string>& argv, const std::string& log_file);
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const { return pid_; }
    bool running();
    // Sends `signal` and waits up to `timeout` for the exit; returns the exit code, or -1 if it had to be
    // killed or died from a signal.
    int stop(int signal, std::chrono::milliseconds timeout);
    // Waits for the process to exit by itself; -1 on timeout (the process keeps running).
    int wait_exit(std::chrono::milliseconds timeout);
    std::string log() const;

  private:
    pid_t pid_ = -1;
    int status_ = 0;
    bool exited_ = false;
    std::string log_file_;
};

// A port that was free on 127.0.0.1 a moment ago, for UDP (DTLS) or TCP (HTTPS).
int free_port(bool udp);

// A fresh directory under TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
  public:
    TempDir();
    ~TempDir();
    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

  private:
    std::string path_;
};

void write_file(const std::string& path, const std::string& contents);
std::string read_file(const std::string& path);

}  // namespace estgw::test
