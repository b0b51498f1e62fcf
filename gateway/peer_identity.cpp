#include "gateway/peer_identity.hpp"

#include "common/x509.hpp"

namespace estgw::gateway {

PeerIdentity read_peer_identity(const SSL* ssl, std::string address) {
    PeerIdentity peer;
    peer.address = std::move(address);
    if (!ssl) return peer;
    X509Ptr leaf(SSL_get1_peer_certificate(ssl));
    if (leaf) {
        if (auto der = certificate_to_der(leaf.get())) peer.chain.push_back(std::move(*der));
        peer.subject = name_to_string(X509_get_subject_name(leaf.get()));
        // On the server side the stack excludes the leaf (SSL_get_peer_cert_chain(3)); be safe either way.
        STACK_OF(X509)* rest = SSL_get_peer_cert_chain(ssl);
        for (int i = 0; rest && i < sk_X509_num(rest); ++i) {
            X509* c = sk_X509_value(rest, i);
            if (X509_cmp(c, leaf.get()) == 0) continue;
            if (auto der = certificate_to_der(c)) peer.chain.push_back(std::move(*der));
        }
        peer.certificate = share_certificate(std::move(leaf));
    }
    if (SSL_version(ssl) != TLS1_3_VERSION) {
        std::uint8_t finished[64];
        std::size_t n = SSL_session_reused(const_cast<SSL*>(ssl))
                            ? SSL_get_finished(ssl, finished, sizeof finished)
                            : SSL_get_peer_finished(ssl, finished, sizeof finished);
        peer.tls_unique.assign(finished, finished + std::min(n, sizeof finished));
    }
    return peer;
}

}  // namespace estgw::gateway
