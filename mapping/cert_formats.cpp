#include "mapping/cert_formats.hpp"

#include <algorithm>
#include <string>

#include "common/der.hpp"
#include "common/pkcs7.hpp"
#include "common/x509.hpp"

namespace estgw::mapping {

namespace {

struct Certificate {
    Bytes der;
    X509Ptr x509;
};

// Parses every certificate once; identical DER is kept once so a repeated certificate never looks like a
// second candidate.
Result<std::vector<Certificate>> parse_bundle(const std::vector<Bytes>& bundle, std::string_view what) {
    std::vector<Certificate> certs;
    for (const Bytes& der : bundle) {
        if (std::any_of(certs.begin(), certs.end(), [&](const Certificate& c) { return c.der == der; }))
            continue;
        auto x509 = parse_certificate_der(der);
        if (!x509) {
            return make_error(Status::UpstreamFailed,
                              std::string(what) + " holds a malformed certificate: " + x509.error().message);
        }
        certs.push_back(Certificate{der, std::move(x509).value()});
    }
    return certs;
}

// True if certs[i] issued some other certificate of the set.
bool issued_another(const std::vector<Certificate>& certs, std::size_t i) {
    for (std::size_t j = 0; j < certs.size(); ++j) {
        if (j != i && is_issued_by(certs[j].x509.get(), certs[i].x509.get())) return true;
    }
    return false;
}

// Indices of the certificates that issued no other certificate of the set.
std::vector<std::size_t> bottom_certificates(const std::vector<Certificate>& certs) {
    std::vector<std::size_t> bottom;
    for (std::size_t i = 0; i < certs.size(); ++i) {
        if (!issued_another(certs, i)) bottom.push_back(i);
    }
    return bottom;
}

// Index of the issuing CA in certs (non-empty), per the rules of select_issuing_ca.
Result<std::size_t> issuing_ca_index(const std::vector<Certificate>& certs, const X509* peer_certificate) {
    if (certs.size() == 1) return std::size_t{0};
    if (peer_certificate) {
        for (std::size_t i = 0; i < certs.size(); ++i) {
            if (is_issued_by(peer_certificate, certs[i].x509.get())) return i;
        }
    }
    auto bottom = bottom_certificates(certs);
    if (bottom.size() == 1) return bottom.front();
    return make_error(Status::NotAcceptable,
                      "the CA certificates hold " + std::to_string(bottom.size()) +
                          " candidate issuing CAs for this client; a single pkix-cert (287) cannot be chosen "
                          "(cBRSKI §6.8): ask for 281");
}

}  // namespace

Result<std::vector<Bytes>> certificates_of_certs_only(ByteView certs_only_der, std::string_view what) {
    // The outline only: this runs on the CoAP I/O thread, and one certificate needs no parsing at all.
    auto outline = certs_only_outline(certs_only_der);
    if (!outline) {
        return make_error(Status::UpstreamFailed,
                          std::string(what) + " is not a certs-only PKCS#7: " + outline.error().message);
    }
    std::vector<Bytes> ders;
    for (ByteView cert : *outline)
        ders.emplace_back(cert.begin(), cert.end());
    return ders;
}

// A bundle of one: nothing to choose, so the certificate is checked by its outline only (this runs on the
// CoAP I/O thread, where parsing a certificate costs more than the rest of the request).
Result<Bytes> single_certificate(const std::vector<Bytes>& bundle) {
    if (auto outline = check_certificate_outline(bundle.front()); !outline) {
        return make_error(Status::UpstreamFailed, "the CA certificates: " + outline.error().message);
    }
    return bundle.front();
}

Result<Bytes> issued_certificate_from_certs_only(ByteView certs_only_der) {
    ESTGW_TRY(ders, certificates_of_certs_only(certs_only_der, "the enroll answer"));
    if (ders.size() == 1) return std::move(ders.front());
    ESTGW_TRY(certs, parse_bundle(ders, "the enroll answer"));
    if (certs.size() == 1) return std::move(certs.front().der);
    auto bottom = bottom_certificates(certs);
    if (bottom.size() == 1) return std::move(certs[bottom.front()].der);
    return make_error(Status::UpstreamFailed, "the enroll answer holds " + std::to_string(certs.size()) +
                                                  " certificates and no single issued one (RFC 7030 §4.2.3)");
}

Result<Bytes> certs_only_from_certificate(ByteView certificate_der) {
    // make_certs_only parses each certificate, so a body that is not one is caught here too.
    auto certs_only = make_certs_only({Bytes(certificate_der.begin(), certificate_der.end())});
    if (!certs_only) {
        return make_error(Status::UpstreamFailed,
                          "the answer is not one DER certificate (pkix-cert): " + certs_only.error().message);
    }
    return std::move(certs_only).value();
}

Result<Bytes> select_issuing_ca(const std::vector<Bytes>& bundle, const X509* peer_certificate) {
    if (bundle.size() == 1) return single_certificate(bundle);
    ESTGW_TRY(certs, parse_bundle(bundle, "the CA certificates"));
    if (certs.empty())
        return make_error(Status::UpstreamFailed, "the CA certificates answer holds no certificate");
    ESTGW_TRY(index, issuing_ca_index(certs, peer_certificate));
    return std::move(certs[index].der);
}

Result<std::vector<Bytes>> issuing_ca_chain(const std::vector<Bytes>& bundle, const X509* peer_certificate) {
    if (bundle.size() == 1) {
        ESTGW_TRY(only, single_certificate(bundle));
        return std::vector<Bytes>{std::move(only)};
    }
    ESTGW_TRY(certs, parse_bundle(bundle, "the CA certificates"));
    if (certs.empty())
        return make_error(Status::UpstreamFailed, "the CA certificates answer holds no certificate");
    ESTGW_TRY(current, issuing_ca_index(certs, peer_certificate));
    std::vector<bool> used(certs.size(), false);
    std::vector<Bytes> chain;
    while (true) {
        used[current] = true;
        chain.push_back(certs[current].der);
        if (is_self_issued(certs[current].x509.get())) break;
        // `used` stops cross-certified loops (OldWithNew / NewWithOld during a rollover, RFC 4210 §4.4).
        std::size_t next = certs.size();
        for (std::size_t i = 0; i < certs.size() && next == certs.size(); ++i) {
            if (!used[i] && is_issued_by(certs[current].x509.get(), certs[i].x509.get())) next = i;
        }
        if (next == certs.size()) break;
        current = next;
    }
    return chain;
}

}  // namespace estgw::mapping
