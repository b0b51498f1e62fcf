#include "gateway/forwarded_client.hpp"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "common/log.hpp"
#include "common/pem_file.hpp"
#include "common/x509.hpp"
#include "mapping/forwarded_client_cert.hpp"

namespace estgw::gateway {

ForwardedClientTrust::ForwardedClientTrust(std::string header, X509StorePtr anchors)
    : header_(std::move(header)), anchors_(std::move(anchors)) {}

Result<ForwardedClientTrust> ForwardedClientTrust::load(std::string header,
                                                        const std::string& client_ca_file) {
    auto certificates = load_certificates(client_ca_file);
    if (!certificates) return certificates.error();
    X509StorePtr anchors(X509_STORE_new());
    if (!anchors) return openssl_error(Status::Internal, "--trust-forwarded-client-cert", "X509_STORE_new");
    for (const X509Ptr& cert : *certificates) {
        // X509_STORE_add_cert takes its own reference.
        if (X509_STORE_add_cert(anchors.get(), cert.get()) != 1) {
            return openssl_error(Status::Internal, "--trust-forwarded-client-cert", "X509_STORE_add_cert");
        }
    }
    return ForwardedClientTrust(std::move(header), std::move(anchors));
}

Result<void> ForwardedClientTrust::verify(const std::vector<X509Ptr>& chain) const {
    X509StackPtr untrusted(sk_X509_new_null());
    if (!untrusted)
        return openssl_error(Status::Internal, "forwarded client certificate", "sk_X509_new_null");
    for (std::size_t i = 1; i < chain.size(); ++i) {
        if (X509_up_ref(chain[i].get()) != 1 || sk_X509_push(untrusted.get(), chain[i].get()) <= 0) {
            return openssl_error(Status::Internal, "forwarded client certificate", "sk_X509_push");
        }
    }
    X509StoreCtxPtr context(X509_STORE_CTX_new());
    if (!context ||
        X509_STORE_CTX_init(context.get(), anchors_.get(), chain.front().get(), untrusted.get()) != 1) {
        return openssl_error(Status::Internal, "forwarded client certificate", "X509_STORE_CTX_init");
    }
    // What an OpenSSL TLS server checks on a client certificate (its purpose included: a certificate whose
    // extendedKeyUsage excludes clientAuth could not have been presented directly either).
    X509_STORE_CTX_set_default(context.get(), "ssl_client");
    const bool verified = X509_verify_cert(context.get()) == 1;
    const int error = X509_STORE_CTX_get_error(context.get());
    ERR_clear_error();
    if (!verified) {
        return make_error(Status::Forbidden, std::string("does not verify against --client-ca: ") +
                                                 X509_verify_cert_error_string(error));
    }
    return {};
}

Result<PeerIdentity> ForwardedClientTrust::identity(PeerIdentity tls_peer,
                                                    const mapping::HttpRequest& request) const {
    auto refuse = [&](const Error& error) -> Error {
        log::warn("forwarded-client-cert-refused",
                  {{"peer", tls_peer.address},
                   {"client", tls_peer.subject.empty() ? std::string("-") : tls_peer.subject},
                   {"header", header_},
                   {"status", std::string(status_name(error.status))},
                   {"reason", error.message}});
        return make_error(error.status, header_ + ": " + error.message);
    };
    auto forwarded = mapping::forwarded_client_chain(request, header_);
    if (!forwarded) return refuse(forwarded.error());
    if (!forwarded->has_value()) return tls_peer;
    if (!has_extended_key_usage(tls_peer.certificate.get(), NID_cmcRA)) {
        return refuse(make_error(
            Status::Forbidden,
            "only an RA (a TLS client certificate with id-kp-cmcRA, RFC 7030 §3.7) may "
            "forward another client's certificate; " +
                (tls_peer.subject.empty() ? std::string("this client") : tls_peer.subject) + " is not one"));
    }
    if (tls_peer.subject.empty()) {  // forwarded_by must name it, in the store too
        return refuse(
            make_error(Status::Forbidden, "an RA forwarding a certificate needs a subject of its own"));
    }
    std::vector<X509Ptr> chain;
    for (const Bytes& der : **forwarded) {
        auto cert = parse_certificate_der(der);  // the parser has accepted it already
        if (!cert) return refuse(cert.error());
        chain.push_back(std::move(*cert));
    }
    const std::string subject = name_to_string(X509_get_subject_name(chain.front().get()));
    if (auto verified = verify(chain); !verified) {
        return refuse(make_error(verified.error().status,
                                 "forwarded client certificate " + subject + " " + verified.error().message));
    }
    PeerIdentity client;
    client.chain = std::move(**forwarded);
    client.certificate = share_certificate(std::move(chain.front()));
    client.subject = subject;
    client.address = std::move(tls_peer.address);
    client.forwarded_by = tls_peer.subject;
    return client;
}

}  // namespace estgw::gateway
