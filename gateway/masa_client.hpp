// HTTPS to the MASAs of the pledges' manufacturers (BRSKI.md §3.5; RFC 8995 §5.4-5.5, cBRSKI §7.1-7.4):
// POST <base>/requestvoucher with the registrar voucher-request, Content-Type and Accept
// application/voucher+cose, a binary body.
//
// Each MASA origin (host and port) gets its own UpstreamClient, built at its first voucher-request on the
// worker thread that makes it (never on the CoAP I/O thread: building one reads the trust store and creates
// TLS contexts) and kept for the process's life: its connections stay open between requests (keep-alive,
// TCP_NODELAY) and its deadlines and shutdown abort are the upstream client's.
//
// TLS: a MASA origin has one SSL_CTX (its UpstreamClient's), made at first use, which every connection to it
// shares. The host name (or IP address) of the MASA URL is verified in the handshake, and a name is sent as
// SNI (gateway/upstream_connection.cpp).
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/bytes.hpp"
#include "common/result.hpp"
#include "gateway/upstream_client.hpp"

namespace estgw::gateway {

struct MasaClientConfig {
    std::string ca_file;  // --masa-ca; empty: the system's trust store
    std::string cert_file,
        key_file;  // our TLS client identity (--masa-cert/--masa-key, default --cert/--key)
    std::chrono::seconds timeout{30};  // --masa-timeout: one voucher-request, connecting included
    std::size_t max_connections = 4;   // per MASA origin: one per worker thread is enough
};

class MasaClient {
  public:
    // Reads the files once to check them (errors name the option, Status::BadRequest); every MASA origin's
    // client reads them again at its first use.
    static Result<std::unique_ptr<MasaClient>> create(MasaClientConfig config);

    // Blocking; worker threads only. `base` is the MASA's https://host[:port]/path base (masa_url.hpp); the
    // request goes to <base>/requestvoucher and ends by `deadline` (or sooner, by the --masa-timeout from
    // now). A failure to set up the origin's client is reported as a TLS failure naming the cause.
    UpstreamReply request_voucher(const HttpsUrl& base, const Bytes& rvr,
                                  std::chrono::steady_clock::time_point deadline);

    // For shutdown, from any thread: calls in progress and later ones fail at once
    // (UpstreamFailure::Aborted).
    void abort_calls();

    const MasaClientConfig& config() const { return config_; }

    class Passkey {
        friend class MasaClient;
        Passkey() = default;
    };
    MasaClient(Passkey, MasaClientConfig config) : config_(std::move(config)) {}

  private:
    Result<UpstreamClient*> client_for(const HttpsUrl& base);

    MasaClientConfig config_;
    std::mutex mutex_;
    std::map<std::pair<std::string, int>, std::unique_ptr<UpstreamClient>> clients_;
    std::atomic<bool> aborted_{false};
};

// The names messages use for a MASA connection (--masa-url, --masa-ca, ...).
UpstreamNames masa_names();

}  // namespace estgw::gateway
