#include "support/server_env.hpp"

#include <stdexcept>

#include "common/keys.hpp"
#include "common/pem_file.hpp"
#include "common/pkcs7.hpp"
#include "common/x509.hpp"
#include "mapping/multipart_core.hpp"

namespace estgw::test {

ServerEnv::ServerEnv() : EstgwEnv("server.log") {
    RunResult init = run_command({ESTGW_BINARY, "pki", "init", "--dir", pki}, std::chrono::seconds(30));
    if (init.exit_code != 0) throw std::runtime_error("pki init failed: " + init.output);
    idevid = Credentials{pki + "/pledge.crt", pki + "/pledge.key"};
}

ServerEnv::~ServerEnv() {
    stop();
}

void ServerEnv::start(const std::vector<std::string>& extra) {
    stop();
    port = free_port(true);
    https_port = free_port(false);
    const std::vector<std::string> options =
        merge_options({{"--config", pki + "/estgw.conf"},
                       {"--listen", "127.0.0.1:" + std::to_string(port)},
                       {"--https-listen", "127.0.0.1:" + std::to_string(https_port)},
                       {"--workers", "4"}},
                      extra);
    std::vector<std::string> argv = {ESTGW_BINARY, "serve"};
    argv.insert(argv.end(), options.begin(), options.end());
    launch(argv, true);
}

int ServerEnv::stop(int signal) {
    return stop_process(signal, std::chrono::seconds(30));
}

std::string ServerEnv::log() const {
    return process_log();
}

std::string ServerEnv::csr(const std::string& name, const std::string& subject,
                           const std::vector<std::string>& sans, KeyKind kind, EVP_PKEY* reuse) {
    EvpPkeyPtr fresh = reuse ? nullptr : make_key(kind);
    EVP_PKEY* key = reuse ? reuse : fresh.get();
    write_key_file(dir.file(name + ".key"), key);
    X509ReqPtr req = make_csr(subject, sans, key);
    Bytes der = to_der(req.get());
    write_file(dir.file(name + ".csr"), to_string(der));
    return dir.file(name + ".csr");
}

Credentials ServerEnv::enroll(const std::string& name, const std::string& subject,
                              const std::vector<std::string>& sans) {
    auto r = coap("/.well-known/est/sen",
                  {"-m", "post", "-t", "286", "-A", "287", "-f", csr(name, subject, sans)});
    if (r.code != "2.04") throw std::runtime_error("enroll failed: " + r.output);
    write_cert_file(dir.file(name + ".crt"), as_bytes(r.payload));
    return Credentials{dir.file(name + ".crt"), dir.file(name + ".key")};
}

Credentials ServerEnv::issue_pledge(const std::string& name, const std::string& issuer,
                                    const CertOptions& options) {
    auto ca = load_certificates(pki + "/" + issuer + ".crt");
    auto ca_key = load_private_key(pki + "/" + issuer + ".key");
    if (!ca || !ca_key) throw std::runtime_error("cannot read the CA " + issuer + " in " + pki);
    return write_pledge(name, ca->front().get(), ca_key->get(), options);
}

Credentials ServerEnv::foreign_pledge(const std::string& name) {
    EvpPkeyPtr ca_key = make_key();
    X509Ptr ca = make_self_signed_ca("CN=" + name + " CA", ca_key.get());
    return write_pledge(name, ca.get(), ca_key.get(), {});
}

Credentials ServerEnv::write_pledge(const std::string& name, const X509* issuer, EVP_PKEY* issuer_key,
                                    const CertOptions& options) {
    EvpPkeyPtr key = make_key();
    X509Ptr cert = make_certificate("CN=" + name, key.get(), issuer, issuer_key, options);
    Credentials written{dir.file(name + ".crt"), dir.file(name + ".key")};
    write_cert_file(written.cert, {cert.get()});
    write_key_file(written.key, key.get());
    return written;
}

bool ServerEnv::verifies(const std::string& der) {
    std::string pem = numbered_file("verify-", ".pem");
    write_cert_file(pem, as_bytes(der));
    RunResult r =
        run_command({"openssl", "verify", "-CAfile", pki + "/ca.crt", pem}, std::chrono::seconds(10));
    return r.exit_code == 0 && r.output.find(": OK") != std::string::npos;
}

std::string ServerEnv::generated_key_fault(const CoapOutcome& r, ContentFormat cert_format) {
    if (r.code != "2.04") return "answer " + r.code + ":\n" + r.output;
    auto parts = mapping::decode_multipart_core(as_bytes(r.payload));
    if (!parts) return "not multipart-core: " + parts.error().message;
    if (parts->size() != 2 || (*parts)[0].format != ContentFormat::Pkcs8 ||
        (*parts)[1].format != cert_format || !(*parts)[0].body || !(*parts)[1].body) {
        return "not a PKCS#8 key and a certificate in Content-Format " +
               std::to_string(static_cast<unsigned>(cert_format));
    }
    Bytes cert_der = *(*parts)[1].body;
    if (cert_format == ContentFormat::CertsOnly) {
        auto certs = certs_only_certificates_der(cert_der);
        if (!certs || certs->size() != 1) return "the certs-only part does not hold one certificate";
        cert_der = certs->front();
    }
    if (!verifies(to_string(cert_der))) return "the certificate does not verify against ca.crt";
    auto key = parse_private_key_der(*(*parts)[0].body);
    auto cert = parse_certificate_der(cert_der);
    if (!key || !cert) return "the key or the certificate does not parse";
    if (X509_check_private_key(cert->get(), key->get()) != 1) return "the key is not the certificate's";
    return "";
}

std::string ServerEnv::certs_list(const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {ESTGW_BINARY, "certs", "list", "--db", pki + "/estgw.db"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_command(argv, std::chrono::seconds(10)).output;
}

std::string ServerEnv::curl(const std::string& path, std::string& body, const std::vector<std::string>& extra,
                            bool with_cert) {
    std::string out = numbered_file("curl-");
    std::vector<std::string> argv = {"curl", "-s",           "-o",       out,
                                     "-w",   "%{http_code}", "--cacert", pki + "/ca.crt"};
    if (with_cert) argv.insert(argv.end(), {"--cert", idevid.cert, "--key", idevid.key});
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("https://127.0.0.1:" + std::to_string(https_port) + path);
    RunResult r = run_command(argv, std::chrono::seconds(30));
    body = read_file(out);
    return r.output;
}

}  // namespace estgw::test
