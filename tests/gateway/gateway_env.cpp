#include "gateway/gateway_env.hpp"

#include <sys/stat.h>

#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/keys.hpp"
#include "common/pem.hpp"
#include "support/test_pki.hpp"

namespace estgw::test {

namespace {

void write_cert(const std::string& path, const X509* cert, const X509* chain_next = nullptr) {
    std::string pem = pem_encode(to_der(cert), "CERTIFICATE");
    if (chain_next) pem += pem_encode(to_der(chain_next), "CERTIFICATE");
    write_file(path, pem);
}

void write_key(const std::string& path, const EVP_PKEY* key) {
    auto der = private_key_to_pkcs8_der(key);
    if (!der) throw std::runtime_error(der.error().message);
    write_file(path, pem_encode(*der, "PRIVATE KEY"));
    ::chmod(path.c_str(), 0600);
}

}  // namespace

GatewayEnv::GatewayEnv() {
    ca_key = make_key();
    ca = make_self_signed_ca("CN=estgw Test Root CA,O=estgw tests", ca_key.get());
    ca_file = dir.file("ca.crt");
    write_cert(ca_file, ca.get());

    auto issue = [&](const std::string& name, const std::string& subject, CertOptions options,
                     Credentials& out, EvpPkeyPtr* keep_key = nullptr, X509Ptr* keep_cert = nullptr) {
        EvpPkeyPtr key = make_key();
        X509Ptr cert = make_certificate(subject, key.get(), ca.get(), ca_key.get(), options);
        out.cert = dir.file(name + ".crt");
        out.key = dir.file(name + ".key");
        write_cert(out.cert, cert.get());
        write_key(out.key, key.get());
        if (keep_key) *keep_key = std::move(key);
        if (keep_cert) *keep_cert = std::move(cert);
    };
    Credentials gw, up, ra;
    CertOptions server_options;
    server_options.sans = {"DNS:localhost", "IP:127.0.0.1", "IP:::1"};
    server_options.extended_key_usage = "serverAuth,clientAuth,1.3.6.1.5.5.7.3.28";
    issue("gateway", "CN=estgw gateway", server_options, gw);
    issue("upstream", "CN=upstream EST server", server_options, up);
    CertOptions ra_options;
    ra_options.extended_key_usage = "clientAuth,1.3.6.1.5.5.7.3.28";
    issue("ra", "CN=estgw RA", ra_options, ra);
    CertOptions pledge_options;
    pledge_options.sans = {"DNS:pledge-1.example"};
    pledge_options.extended_key_usage = "clientAuth";
    issue("pledge", "CN=pledge-1,O=estgw tests", pledge_options, pledge, &pledge_key, &pledge_cert);
    gateway_cert = gw.cert;
    gateway_key = gw.key;
    upstream_cert = up.cert;
    upstream_key = up.key;
    ra_cert = ra.cert;
    ra_key = ra.key;

    EvpPkeyPtr other_ca_key = make_key();
    X509Ptr other_ca = make_self_signed_ca("CN=Untrusted CA", other_ca_key.get());
    foreign_ca_file = dir.file("foreign-ca.crt");
    write_cert(foreign_ca_file, other_ca.get());
    EvpPkeyPtr foreign_key = make_key();
    X509Ptr foreign = make_certificate("CN=foreign pledge", foreign_key.get(), other_ca.get(),
                                       other_ca_key.get(), pledge_options);
    foreign_pledge.cert = dir.file("foreign.crt");
    foreign_pledge.key = dir.file("foreign.key");
    write_cert(foreign_pledge.cert, foreign.get());
    write_key(foreign_pledge.key, foreign_key.get());

    upstream = std::make_unique<FakeEstServer>(upstream_cert, upstream_key, ca_file, ca.get(), ca_key.get());
    upstream_port = upstream->start();
}

GatewayEnv::~GatewayEnv() {
    stop_gateway();
    upstream->stop();
}

void GatewayEnv::start_gateway(const std::vector<std::string>& extra, bool wait_ready) {
    stop_gateway();
    port = free_port(true);
    std::vector<std::string> argv = {ESTGW_BINARY,      "serve",
                                     "--mode",          "gateway",
                                     "--listen",        "127.0.0.1:" + std::to_string(port),
                                     "--cert",          gateway_cert,
                                     "--key",           gateway_key,
                                     "--client-ca",     ca_file,
                                     "--upstream-ca",   ca_file,
                                     "--upstream-cert", ra_cert,
                                     "--upstream-key",  ra_key,
                                     "--root",          "/est",
                                     "--workers",       "4"};
    bool has_upstream = false;
    for (const auto& e : extra)
        has_upstream = has_upstream || e == "--upstream";
    if (!has_upstream) {
        argv.push_back("--upstream");
        argv.push_back("https://127.0.0.1:" + std::to_string(upstream_port));
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    gateway_ = std::make_unique<ChildProcess>(argv, dir.file("gateway.log"));
    if (!wait_ready) return;
    // Ready when discovery answers (the endpoint is up and DTLS works).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
        if (!gateway_->running()) throw std::runtime_error("estgw exited at start:\n" + gateway_log());
        if (coap("/.well-known/core").code == "2.05") return;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("estgw did not become ready:\n" + gateway_log());
}

void GatewayEnv::stop_gateway() {
    if (gateway_) gateway_->stop(SIGTERM, std::chrono::seconds(10));
    gateway_.reset();
}

int GatewayEnv::gateway_exit(int signal) {
    int code = gateway_->stop(signal, std::chrono::seconds(45));
    return code;
}

std::string GatewayEnv::gateway_log() const {
    return read_file(dir.file("gateway.log"));
}

std::vector<std::string> GatewayEnv::coap_command(const std::string& path,
                                                  const std::vector<std::string>& args,
                                                  const std::optional<Credentials>& who,
                                                  const std::string& out_file) {
    const Credentials& c = who ? *who : pledge;
    std::vector<std::string> argv = {"coap-client-openssl", "-v", "7", "-B", "30", "-R", ca_file};
    if (!c.cert.empty()) {
        argv.insert(argv.end(), {"-c", c.cert, "-j", c.key});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"-o", out_file, "coaps://127.0.0.1:" + std::to_string(port) + path});
    return argv;
}

CoapOutcome GatewayEnv::coap(const std::string& path, const std::vector<std::string>& args,
                             const std::optional<Credentials>& who) {
    std::string out = dir.file("out-" + std::to_string(++outputs_));
    RunResult run = run_command(coap_command(path, args, who, out), std::chrono::seconds(60));
    CoapOutcome outcome = parse_outcome(run.output);
    outcome.payload = read_file(out);
    return outcome;
}

CoapOutcome GatewayEnv::parse_outcome(const std::string& output) {
    CoapOutcome o;
    o.output = output;
    // "v:1 t:ACK c:2.05 i:43c5 {01} [ ETag:0x01, Content-Format:281, Block2:0/M/64 ] :: 'text'"
    static const std::regex kLine(
        R"(v:1 t:(CON|NON|ACK|RST) c:([0-9])\.([0-9]{2}) i:[0-9a-f]+ \{[0-9a-f]*\} \[([^\]]*)\]( :: (.*))?)");
    std::set<std::string> block_numbers;
    std::istringstream lines(output);
    std::string line;
    while (std::getline(lines, line)) {
        std::smatch m;
        if (!std::regex_search(line, m, kLine)) continue;
        std::string code = m[2].str() + "." + m[3].str();
        if (code == "0.00") continue;  // empty ACK of a separate response
        o.code = code;
        o.options.clear();
        std::istringstream opts(m[4].str());
        std::string opt;
        while (std::getline(opts, opt, ',')) {
            auto colon = opt.find(':');
            if (colon == std::string::npos) continue;
            auto trim = [](std::string s) {
                s.erase(0, s.find_first_not_of(' '));
                s.erase(s.find_last_not_of(' ') + 1);
                return s;
            };
            o.options[trim(opt.substr(0, colon))] = trim(opt.substr(colon + 1));
        }
        if (o.options.count("Block2")) {
            block_numbers.insert(o.options["Block2"].substr(0, o.options["Block2"].find('/')));
        }
        std::string tail = m[6].str();
        o.diagnostic =
            tail.size() >= 2 && tail.front() == '\'' ? tail.substr(1, tail.size() - 2) : std::string();
    }
    o.blocks_received = static_cast<int>(block_numbers.size());
    return o;
}

std::string GatewayEnv::write_csr(const std::string& name, const std::string& subject,
                                  const std::vector<std::string>& sans, bool use_pledge_key,
                                  const std::optional<std::string>& challenge) {
    EvpPkeyPtr fresh = use_pledge_key ? nullptr : make_key();
    X509ReqPtr csr = make_csr(subject, sans, use_pledge_key ? pledge_key.get() : fresh.get(), challenge);
    std::string path = dir.file(name + ".csr.der");
    Bytes der = to_der(csr.get());
    write_file(path, std::string(der.begin(), der.end()));
    return path;
}

}  // namespace estgw::test
