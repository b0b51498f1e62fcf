// --trust-forwarded-client-cert (full-server mode, HTTPS front): whom a request speaks for when an RA puts
// its client's certificate in a header (RFC 7030 §3.7), as estgw's gateway mode does with
// --forward-client-cert. Without it a gateway's requests are all the gateway's own, and re-enrollment,
// which compares the CSR with the client certificate (RFC 7030 §4.2.2), cannot work through it.
//
// The trust decision, for a request that carries the header:
//  - Only an RA may speak for another client: the TLS client certificate, which the TLS layer has verified
//    against --client-ca, must carry id-kp-cmcRA. Any other client is refused (403), not ignored: it means
//    to speak for someone else, and taking the request as its own would issue to the wrong identity.
//  - The forwarded certificate must be one this server would take from the client directly: its leaf
//    verifies against --client-ca (the other certificates of the header as untrusted intermediates), now,
//    for TLS client use: what the TLS layer checks. The RA authenticated the client against its own trust
//    anchors, which need not be this server's. Otherwise 403.
//  - A malformed header, or one given twice, is 400 (mapping/forwarded_client_cert.hpp).
// Each refusal is logged with the TLS client's subject. A request without the header is the TLS client's.
#pragma once

#include <string>

#include "common/est.hpp"
#include "common/openssl.hpp"
#include "common/result.hpp"
#include "mapping/http_message.hpp"

namespace estgw::gateway {

class ForwardedClientTrust {
  public:
    // Reads the trust anchors of `client_ca_file` (PEM), the file the TLS layer verifies clients with.
    static Result<ForwardedClientTrust> load(std::string header, const std::string& client_ca_file);

    // The identity `request` speaks for: `tls_peer`, or the client its certificate in the header names,
    // with forwarded_by set to the RA's subject. Thread-safe.
    Result<PeerIdentity> identity(PeerIdentity tls_peer, const mapping::HttpRequest& request) const;

  private:
    ForwardedClientTrust(std::string header, X509StorePtr anchors);
    Result<void> verify(const std::vector<X509Ptr>& chain) const;

    std::string header_;
    X509StorePtr anchors_;  // only read after load(): X509_STORE is safe to verify against from any thread
};

}  // namespace estgw::gateway
