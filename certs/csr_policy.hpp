// Checks on an enrollment request that need the DTLS peer, shared by gateway and full-server mode.
//
// A gateway's upstream only sees the gateway's RA certificate (RFC 9148 §5, RFC 7030 §3.7), so the checks
// that an EST server would make against its TLS client are made here, before anything is forwarded.
#pragma once

#include "common/csr_with_key.hpp"
#include "common/est.hpp"
#include "common/openssl.hpp"
#include "common/result.hpp"

namespace estgw::certs {

struct CsrPolicy {
    // Reject CSRs that carry no challengePassword (RFC 7030 §3.5; listed in csrattrs when set).
    bool require_tls_unique = false;
};

// For sen, sren, skg and skc (other operations pass unchanged):
//  - the body is a CSR → else 4.00; for sen and sren its self-signature verifies (proof of possession,
//    RFC 7030 §4.2.1) → else 4.00 (skg/skc ignore the CSR's key and signature, RFC 7030 §4.4.1);
//  - a challengePassword, when present, equals base64 of the session's tls-unique (RFC 7030 §3.5) →
//  else 4.03; for a client certificate an RA forwarded (PeerIdentity::forwarded_by) its presence is
//  enough, as the session it links to was the RA's (RFC 7030 §3.7);
//  - for sren, the CSR subject and subjectAltName equal those of the DTLS client certificate
//    (RFC 7030 §4.2.2) → else 4.03.
// Returns the parsed CSR and its key (parse_csr_with_key: X509_REQ_get0_pubkey on it is null) so callers need
// not parse it again.
Result<CsrWithKey> check_enrollment_request(const EstRequest& request, const CsrPolicy& policy);

// True for the operations whose body is a PKCS#10 CSR.
bool carries_csr(Operation op);

}  // namespace estgw::certs
