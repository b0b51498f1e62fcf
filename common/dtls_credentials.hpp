// A DTLS certificate, chain and private key, parsed once at start-up and installed on every new DTLS
// session: the server's (gateway/coap_front.cpp) and a client's (client/coap_client.cpp), hence in common/.
//
// Why not let libcoap do it: libcoap 4.3.1 (OpenSSL flavour) applies the configured key to each new session
// in its ClientHello callback, which for PEM files means reading and decoding --cert and --key from disk
// per handshake. Under OpenSSL 3.0 that decoding costs more than the handshake's own ECDHE and signature
// (docs/BENCHMARKS.md, "Profile"). CoapFront gives libcoap no key at all (its per-session set-up then stops
// at once) and installs these pre-parsed objects from the additional-set-up callback, which runs right after.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <string>

#include "common/openssl.hpp"
#include "common/result.hpp"

namespace estgw {

class DtlsCredentials {
  public:
    // cert_file: the leaf, optionally followed by its chain. key_file: the unencrypted PEM key of the leaf.
    // When cert_file holds only the leaf, the chain is taken from trust_file (the issuers of accepted client
    // certificates): every certificate linking the leaf towards a root, the self-signed root itself left out
    // (RFC 5246 §7.4.2: the peer must already have it). Errors name the file and what is wrong.
    static Result<DtlsCredentials> load(const std::string& cert_file, const std::string& key_file,
                                        const std::string& trust_file);

    // Puts the certificate, chain and key on a server-side SSL, replacing whatever was there. Shares the
    // objects (reference counts); nothing is parsed. False if OpenSSL refused.
    bool install(SSL* ssl) const;

    const X509* certificate() const { return certificate_.get(); }
    std::size_t chain_length() const;

  private:
    X509Ptr certificate_;
    EvpPkeyPtr key_;
    X509StackPtr chain_;
};

}  // namespace estgw
