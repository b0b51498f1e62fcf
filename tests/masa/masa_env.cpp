#include "masa/masa_env.hpp"

#include <openssl/rand.h>

#include <csignal>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "common/pem_file.hpp"
#include "support/test_pki.hpp"

namespace estgw::test {

namespace {}  // namespace

std::vector<std::string> masa_arguments(const std::string& pki_dir, int port) {
    return {"--listen",       "127.0.0.1:" + std::to_string(port),
            "--tls-cert",     pki_dir + "/masa.crt",
            "--tls-key",      pki_dir + "/masa.key",
            "--signing-cert", pki_dir + "/masa-sign.crt",
            "--signing-key",  pki_dir + "/masa-sign.key",
            "--pledge-ca",    pki_dir + "/mfg-ca.crt"};
}

RunResult run_masa(const std::vector<std::string>& args) {
    std::vector<std::string> argv{ESTGW_BINARY, "masa"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, std::chrono::seconds(30));
}

MasaEnv::MasaEnv(const std::vector<std::string>& extra, const std::string& pki_dir)
    : pki_dir_(pki_dir.empty() ? dir_.path() + "/pki" : pki_dir) {
    if (pki_dir.empty()) {
        const RunResult init =
            run_command({ESTGW_BINARY, "pki", "init", "--dir", pki_dir_}, std::chrono::seconds(30));
        if (init.exit_code != 0) throw std::runtime_error("pki init failed: " + init.output);
    }
    registrar = load_certificate(pki("server.crt"));
    registrar_key = load_key(pki("server.key"));
    domain_ca = load_certificate(pki("ca.crt"));
    domain_ca_key = load_key(pki("ca.key"));
    pledge = load_certificate(pki("pledge.crt"));
    pledge_key = load_key(pki("pledge.key"));
    mfg_ca = load_certificate(pki("mfg-ca.crt"));
    masa_sign = load_certificate(pki("masa-sign.crt"));

    port_ = free_port(false);
    std::vector<std::string> argv{ESTGW_BINARY, "masa"};
    for (const std::string& arg : masa_arguments(pki_dir_, port_))
        argv.push_back(arg);
    argv.insert(argv.end(), {"--audit", audit()});
    for (const std::string& arg : extra)
        argv.push_back(arg.rfind("@pki/", 0) == 0 ? pki(arg.substr(5)) : arg);
    process_ = std::make_unique<ChildProcess>(argv, dir_.path() + "/masa.log");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (log().find("masa-listening") == std::string::npos) {
        if (!process_->running() || std::chrono::steady_clock::now() > deadline) {
            throw std::runtime_error("estgw masa did not start:\n" + log());
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

MasaEnv::~MasaEnv() {
    if (process_) process_->stop(SIGKILL, std::chrono::seconds(5));
}

int MasaEnv::stop() {
    return process_->stop(SIGTERM, std::chrono::seconds(5));
}

std::string MasaEnv::log() const {
    return process_ ? process_->log() : std::string();
}

VoucherRequestParts MasaEnv::parts() const {
    Bytes nonce(16);
    if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1) throw std::runtime_error("RAND_bytes");
    return voucher_request_parts(registrar.get(), registrar_key.get(), domain_ca.get(), pledge.get(),
                                 pledge_key.get(), mfg_ca.get(), nonce);
}

MasaAnswer MasaEnv::post(ByteView body, const MasaRequest& request) {
    const std::string n = std::to_string(++requests_);
    const std::string in = dir_.path() + "/request-" + n;
    const std::string out = dir_.path() + "/answer-" + n;
    write_file(in, to_string(body));
    // The MASA's certificate is checked as a registrar would (RFC 8995 §5.4): by mfg-ca and for 127.0.0.1.
    std::vector<std::string> argv = {"curl",
                                     "-s",
                                     "-o",
                                     out,
                                     "-w",
                                     "%{http_code} %{content_type}",
                                     "--cacert",
                                     pki("mfg-ca.crt"),
                                     "--data-binary",
                                     "@" + in,
                                     "-H",
                                     "Content-Type: " + request.content_type,
                                     "-H",
                                     request.accept ? "Accept: " + *request.accept : "Accept:"};
    if (request.client_certificate) {
        argv.insert(argv.end(), {"--cert", pki("server.crt"), "--key", pki("server.key")});
    }
    argv.push_back("https://127.0.0.1:" + std::to_string(port_) + "/.well-known/brski/requestvoucher");
    const RunResult r = run_command(argv, std::chrono::seconds(30));
    MasaAnswer answer;
    answer.curl_exit = r.exit_code;
    const std::size_t space = r.output.find(' ');
    answer.status = std::atoi(r.output.substr(0, space).c_str());
    if (space != std::string::npos) answer.content_type = r.output.substr(space + 1);
    answer.body = read_file(out);  // empty when nothing was answered
    return answer;
}

}  // namespace estgw::test
