// estgw in full-server mode for end-to-end tests: `estgw pki init` into a temporary directory, then the
// real binary serving DTLS and HTTPS on free loopback ports, with coap-client-openssl, curl and openssl as
// the other side.
#pragma once

#include <signal.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/openssl.hpp"
#include "support/coap_cli.hpp"
#include "support/process.hpp"
#include "support/test_pki.hpp"

namespace estgw::test {

class ServerEnv {
  public:
    ServerEnv();  // runs `estgw pki init --dir <dir>/pki`
    ~ServerEnv();
    ServerEnv(const ServerEnv&) = delete;
    ServerEnv& operator=(const ServerEnv&) = delete;

    // Starts `estgw serve --config pki/estgw.conf` on free ports plus `extra` (each "--opt", "value"; one of
    // the defaults given again replaces it); returns once discovery answers.
    void start(const std::vector<std::string>& extra = {});
    int stop(int signal = SIGTERM);  // the exit code
    std::string log() const;

    // coap-client-openssl against the server, as the IDevID unless `who` says otherwise.
    CoapOutcome coap(const std::string& path, const std::vector<std::string>& args = {},
                     const std::optional<Credentials>& who = std::nullopt);

    // A fresh key (kept on disk, 0600, for later DTLS use) and its CSR; returns the CSR file.
    std::string csr(const std::string& name, const std::string& subject, const std::vector<std::string>& sans,
                    KeyKind kind = KeyKind::P256, EVP_PKEY* reuse = nullptr);

    // Enrolls `name` with the IDevID over /sen (Accept 287); returns the new certificate and key files.
    Credentials enroll(const std::string& name, const std::string& subject,
                       const std::vector<std::string>& sans);

    // `openssl verify -CAfile ca.crt` on a DER certificate.
    bool verifies(const std::string& der);

    std::string certs_list();

    // curl against the HTTPS front; returns "<status>" and fills `body`.
    std::string curl(const std::string& path, std::string& body, const std::vector<std::string>& extra = {},
                     bool with_cert = true);

    TempDir dir;
    std::string pki = dir.file("pki");
    Credentials idevid;
    int port = 0, https_port = 0;
    std::string coap_client = kCoapClientOpenSsl;  // the pledge's DTLS stack for coap()

  private:
    std::unique_ptr<ChildProcess> server_;
    int outputs_ = 0;
};

}  // namespace estgw::test
