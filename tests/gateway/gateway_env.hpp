// End-to-end environment for gateway tests: a throw-away PKI on disk, the fake RFC 7030 upstream, the real
// estgw binary, and coap-client-openssl as the pledge.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/openssl.hpp"
#include "gateway/fake_est_server.hpp"
#include "support/coap_cli.hpp"
#include "support/estgw_env.hpp"
#include "support/process.hpp"

namespace estgw::test {

// coap() and coap_command() (from EstgwEnv) come from `pledge` and trust `ca_file`.
class GatewayEnv : public EstgwEnv {
  public:
    GatewayEnv();
    ~GatewayEnv() override;

    // Starts estgw in gateway mode with the default options plus `extra` (each "--opt", "value").
    void start_gateway(const std::vector<std::string>& extra = {}, bool wait_ready = true);
    void stop_gateway();
    int gateway_exit(int signal);  // sends the signal, returns the exit code
    std::string gateway_log() const;

    // A DER CSR written to a file: subject/SAN as given, a fresh P-256 key (or the pledge's own key).
    std::string write_csr(const std::string& name, const std::string& subject,
                          const std::vector<std::string>& sans, bool use_pledge_key = false,
                          const std::optional<std::string>& challenge = std::nullopt);

    X509Ptr ca;
    EvpPkeyPtr ca_key;
    X509Ptr pledge_cert;
    EvpPkeyPtr pledge_key;
    Credentials pledge;          // CN=pledge-1 from the test CA, SAN DNS:pledge-1.example
    Credentials foreign_pledge;  // from another CA that the gateway does not trust
    std::string ca_file, gateway_cert, gateway_key, upstream_cert, upstream_key, ra_cert, ra_key,
        foreign_ca_file;
    std::unique_ptr<FakeEstServer> upstream;
    int upstream_port = 0;

  protected:
    const Credentials& default_pledge() const override { return pledge; }
    std::string trust_file() const override { return ca_file; }
};

}  // namespace estgw::test
