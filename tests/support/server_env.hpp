// estgw in full-server mode for end-to-end tests: `estgw pki init` into a temporary directory, then the
// real binary serving DTLS and HTTPS on free loopback ports, with coap-client-openssl, curl and openssl as
// the other side.
#pragma once

#include <signal.h>

#include <string>
#include <vector>

#include "common/est.hpp"
#include "common/openssl.hpp"
#include "support/coap_cli.hpp"
#include "support/estgw_env.hpp"
#include "support/process.hpp"
#include "support/test_pki.hpp"

namespace estgw::test {

// coap() (from EstgwEnv) comes from the IDevID and trusts pki/ca.crt.
class ServerEnv : public EstgwEnv {
  public:
    ServerEnv();  // runs `estgw pki init --dir <dir>/pki`
    ~ServerEnv() override;

    // Starts `estgw serve --config pki/estgw.conf` on free ports plus `extra` (each "--opt", "value"; one of
    // the defaults given again replaces it); returns once discovery answers.
    void start(const std::vector<std::string>& extra = {});
    int stop(int signal = SIGTERM);  // the exit code
    std::string log() const;

    // A fresh key (kept on disk, 0600, for later DTLS use) and its CSR; returns the CSR file.
    std::string csr(const std::string& name, const std::string& subject, const std::vector<std::string>& sans,
                    KeyKind kind = KeyKind::P256, EVP_PKEY* reuse = nullptr);

    // Enrolls `name` with the IDevID over /sen (Accept 287); returns the new certificate and key files.
    Credentials enroll(const std::string& name, const std::string& subject,
                       const std::vector<std::string>& sans);

    // A pledge identity written to <name>.crt and <name>.key: a fresh key, and a certificate for
    // "CN=<name>" made with `options` by pki/<issuer>.crt with its key ("mfg-ca" issues
    // IDevIDs, "ca" domain certificates).
    Credentials issue_pledge(const std::string& name, const std::string& issuer,
                             const CertOptions& options = {});
    // The same from a CA of its own, which the server does not trust.
    Credentials foreign_pledge(const std::string& name);

    // `openssl verify -CAfile ca.crt` on a DER certificate.
    bool verifies(const std::string& der);

    // What is wrong with a /skg or /skc answer, empty when nothing is: it must be 2.04 with multipart-core
    // holding a PKCS#8 key, then the certificate in `cert_format` (certs-only or pkix-cert) that verifies()
    // and whose public key is the generated key's.
    std::string generated_key_fault(const CoapOutcome& r, ContentFormat cert_format);

    // `estgw certs list` on the server's database, with `extra` options such as "--json".
    std::string certs_list(const std::vector<std::string>& extra = {});

    // curl against the HTTPS front; returns "<status>" and fills `body`.
    std::string curl(const std::string& path, std::string& body, const std::vector<std::string>& extra = {},
                     bool with_cert = true);

    std::string pki = dir.file("pki");
    Credentials idevid;
    int https_port = 0;

  protected:
    const Credentials& default_pledge() const override { return idevid; }
    std::string trust_file() const override { return pki + "/ca.crt"; }

  private:
    Credentials write_pledge(const std::string& name, const X509* issuer, EVP_PKEY* issuer_key,
                             const CertOptions& options);
};

}  // namespace estgw::test
