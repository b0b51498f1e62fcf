// A running `estgw masa` on a free loopback port, with the files of `estgw pki init`, and curl as the
// registrar's HTTPS client.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/openssl.hpp"
#include "support/process.hpp"
#include "support/voucher_requests.hpp"

namespace estgw::test {

struct MasaAnswer {
    int status = 0;  // 0: no HTTP answer (curl could not connect or the TLS handshake failed)
    std::string content_type;
    std::string body;
    int curl_exit = 0;
};

struct MasaRequest {
    std::string content_type = "application/voucher+cose";
    std::optional<std::string> accept = std::string("application/voucher+cose");  // nullopt: no Accept
    bool client_certificate = false;  // present server.crt/key (the registrar) as TLS client certificate
};

class MasaEnv {
  public:
    // Writes a demo PKI into a fresh directory (pki()), then starts `estgw masa` with its MASA files and
    // `extra` options (--audit is always the file audit()); "@pki/" at the start of an option's value stands
    // for that directory. With `pki_dir` the demo PKI there is used instead of a new one.
    explicit MasaEnv(const std::vector<std::string>& extra = {}, const std::string& pki_dir = {});
    ~MasaEnv();
    MasaEnv(const MasaEnv&) = delete;
    MasaEnv& operator=(const MasaEnv&) = delete;

    MasaAnswer post(ByteView body, const MasaRequest& request = {});

    // The RVR parts for the demo pledge through the demo registrar (server.crt), with a fresh nonce.
    VoucherRequestParts parts() const;

    // Sends SIGTERM; the exit code (-1 if it did not exit within 5 s).
    int stop();
    std::string log() const;

    std::string pki(const std::string& file) const { return pki_dir_ + "/" + file; }
    const std::string& pki_dir() const { return pki_dir_; }
    std::string audit() const { return dir_.path() + "/audit.jsonl"; }
    int port() const { return port_; }

    X509Ptr registrar, domain_ca, pledge, mfg_ca, masa_sign;
    EvpPkeyPtr registrar_key, domain_ca_key, pledge_key;

  private:
    TempDir dir_;
    std::string pki_dir_;
    int port_ = 0;
    int requests_ = 0;
    std::unique_ptr<ChildProcess> process_;
};

// Runs `estgw masa` with `args` to completion (for --help and refused configurations).
RunResult run_masa(const std::vector<std::string>& args);

// The PKI file names' shared arguments of a MASA run from `pki_dir`, on `port`.
std::vector<std::string> masa_arguments(const std::string& pki_dir, int port);

}  // namespace estgw::test
