#include "gateway/gateway_env.hpp"

#include <signal.h>

#include <stdexcept>

#include "support/test_pki.hpp"

namespace estgw::test {

GatewayEnv::GatewayEnv() : EstgwEnv("gateway.log") {
    ca_key = make_key();
    ca = make_self_signed_ca("CN=estgw Test Root CA,O=estgw tests", ca_key.get());
    ca_file = dir.file("ca.crt");
    write_cert_file(ca_file, {ca.get()});

    auto issue = [&](const std::string& name, const std::string& subject, CertOptions options,
                     Credentials& out, EvpPkeyPtr* keep_key = nullptr, X509Ptr* keep_cert = nullptr) {
        EvpPkeyPtr key = make_key();
        X509Ptr cert = make_certificate(subject, key.get(), ca.get(), ca_key.get(), options);
        out.cert = dir.file(name + ".crt");
        out.key = dir.file(name + ".key");
        write_cert_file(out.cert, {cert.get()});
        write_key_file(out.key, key.get());
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
    write_cert_file(foreign_ca_file, {other_ca.get()});
    EvpPkeyPtr foreign_key = make_key();
    X509Ptr foreign = make_certificate("CN=foreign pledge", foreign_key.get(), other_ca.get(),
                                       other_ca_key.get(), pledge_options);
    foreign_pledge.cert = dir.file("foreign.crt");
    foreign_pledge.key = dir.file("foreign.key");
    write_cert_file(foreign_pledge.cert, {foreign.get()});
    write_key_file(foreign_pledge.key, foreign_key.get());

    upstream = std::make_unique<FakeEstServer>(upstream_cert, upstream_key, ca_file, ca.get(), ca_key.get());
    upstream->apply_profile_from_environment();
    upstream_port = upstream->start();
}

GatewayEnv::~GatewayEnv() {
    stop_gateway();
    upstream->stop();
}

void GatewayEnv::start_gateway(const std::vector<std::string>& extra, bool wait_ready) {
    stop_gateway();
    port = free_port(true);
    const std::vector<std::string> options = merge_options(
        {
            {"--mode", "gateway"},
            {"--listen", "127.0.0.1:" + std::to_string(port)},
            {"--cert", gateway_cert},
            {"--key", gateway_key},
            {"--client-ca", ca_file},
            {"--upstream", "https://127.0.0.1:" + std::to_string(upstream_port)},
            {"--upstream-ca", ca_file},
            {"--upstream-cert", ra_cert},
            {"--upstream-key", ra_key},
            {"--root", "/est"},
            {"--workers", "4"},
        },
        extra);
    std::vector<std::string> argv = {ESTGW_BINARY, "serve"};
    argv.insert(argv.end(), options.begin(), options.end());
    launch(argv, wait_ready);
}

void GatewayEnv::stop_gateway() {
    stop_process(SIGTERM, std::chrono::seconds(10));
}

int GatewayEnv::gateway_exit(int signal) {
    int code = process_->stop(signal, std::chrono::seconds(45));
    return code;
}

std::string GatewayEnv::gateway_log() const {
    return process_log();
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
