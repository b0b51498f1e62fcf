#include "certs/csr_policy.hpp"

#include "common/base64.hpp"
#include "common/x509.hpp"

namespace estgw::certs {

bool carries_csr(Operation op) {
    switch (op) {
        case Operation::SimpleEnroll:
        case Operation::SimpleReenroll:
        case Operation::ServerKeyGen:
        case Operation::ServerKeyGenCert:
            return true;
        default:
            return false;
    }
}

namespace {

Result<void> check_tls_unique(const X509_REQ* csr, const PeerIdentity& peer, const CsrPolicy& policy) {
    auto password = csr_challenge_password(csr);
    if (!password) return password.error();
    if (!password->has_value()) {
        if (policy.require_tls_unique) {
            return make_error(Status::Forbidden,
                              "the CSR must carry challengePassword = base64(tls-unique) (RFC 7030 §3.5)");
        }
        return {};
    }
    // RFC 7030 §3.7: the CSR is linked to the client's session with the RA, which the RA checked (estgw's
    // gateway mode does, with this very function); this server never saw that session.
    if (!peer.forwarded_by.empty()) return {};
    if (peer.tls_unique.empty()) {
        return make_error(Status::Forbidden,
                          "the CSR carries challengePassword but this session has no tls-unique");
    }
    if (**password != base64_encode(peer.tls_unique)) {
        // RFC 7030 §3.5: the value links the CSR to this TLS session; a CSR from another session is refused.
        return make_error(Status::Forbidden,
                          "challengePassword does not match this DTLS session's tls-unique");
    }
    return {};
}

Result<void> check_reenroll_identity(const X509_REQ* csr, const PeerIdentity& peer) {
    if (!peer.certificate) {
        return make_error(Status::Forbidden, "re-enrollment needs the DTLS client certificate being renewed");
    }
    auto same = csr_matches_certificate_identity(csr, peer.certificate.get());
    if (!same) return same.error();
    if (!*same) {
        return make_error(
            Status::Forbidden,
            "re-enrollment CSR subject/subjectAltName differ from the client certificate (RFC 7030 "
            "§4.2.2)");
    }
    return {};
}

}  // namespace

Result<CsrWithKey> check_enrollment_request(const EstRequest& request, const CsrPolicy& policy) {
    auto parsed = parse_csr_with_key(request.body);
    if (!parsed) return make_error(Status::BadRequest, "malformed CSR: " + parsed.error().message);
    const X509_REQ* csr = parsed->request.get();
    // RFC 7030 §4.4.1 and RFC 9148 §4.8: for server-side key generation the CSR's key and signature are
    // ignored (the key is replaced), so only simpleenroll and simplereenroll must prove possession.
    bool server_keygen = request.op == Operation::ServerKeyGen || request.op == Operation::ServerKeyGenCert;
    if (!server_keygen) {
        if (auto sig = verify_csr_signature(csr, parsed->public_key.get()); !sig) {
            return make_error(Status::BadRequest, "CSR signature does not verify: " + sig.error().message);
        }
    }
    if (auto linked = check_tls_unique(csr, request.peer, policy); !linked) return linked.error();
    if (request.op == Operation::SimpleReenroll) {
        if (auto same = check_reenroll_identity(csr, request.peer); !same) return same.error();
    }
    return std::move(*parsed);
}

}  // namespace estgw::certs
