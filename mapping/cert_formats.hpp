// Certificate representation conversions between CoAP Content-Formats 281 (certs-only PKCS#7), 287 (one
// pkix-cert) and lists of 287 (multipart-core, CF 62): pure functions over DER (RFC 9148 §4.3, RFC 7030
// §4.1.3 and §4.2.3, cBRSKI §6.7.5 and §6.8; digest §6).
#pragma once

#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/openssl.hpp"
#include "common/result.hpp"

namespace estgw::mapping {

// The certificates of a DER certs-only PKCS#7 as they appear in it, found by its outline (common/pkcs7)
// without decoding any: this runs on the CoAP I/O thread. Not certs-only: Status::UpstreamFailed
// "<what> is not a certs-only PKCS#7: ...".
Result<std::vector<Bytes>> certificates_of_certs_only(ByteView certs_only_der, std::string_view what);

// The issued certificate of an enroll answer (Accept 287 on /sen, /sren, /skc). RFC 7030 §4.2.3 says the
// certs-only holds only that certificate; some EST servers append their chain, so when there are several the
// answer is the unique certificate that issued none of the others (the bottom of the chain). No certificate,
// several candidates, or a body that is not certs-only: Status::UpstreamFailed. A single certificate is
// returned without being parsed.
Result<Bytes> issued_certificate_from_certs_only(ByteView certs_only_der);

// A certs-only PKCS#7 holding exactly this certificate (287 → 281). A body that is not one DER certificate
// is Status::UpstreamFailed.
Result<Bytes> certs_only_from_certificate(ByteView certificate_der);

// The CA that issues this client's certificates, out of a /cacerts bundle (Accept 287 on /crts; RFC 9148 does
// not say which certificate, cBRSKI §6.8 says this one):
//   1. a bundle of one certificate: that certificate (not parsed);
//   2. the issuer of the client's own certificate (peer_certificate, the DTLS client certificate), if it is
//   in
//      the bundle: a client with an LDevID from this CA;
//   3. otherwise the unique certificate that issued no other certificate in the bundle (the bottom CA; a
//      self-signed certificate does not count as issuing itself).
// Several candidates (the domain deliberately uses several trust anchors, or a key rollover is in progress)
// or none: Status::NotAcceptable, 4.06 as cBRSKI §6.8 asks. An empty or unparseable bundle:
// Status::UpstreamFailed. Identical certificates are counted once.
Result<Bytes> select_issuing_ca(const std::vector<Bytes>& bundle, const X509* peer_certificate);

// The path from select_issuing_ca up to the root (cBRSKI §6.7.5, Accept 62 on /crts): the issuing CA, its
// issuer in the bundle, and so on until a self-issued certificate or one whose issuer is not in the bundle.
// Certificates of the bundle that are not on this path are left out. Errors as select_issuing_ca.
Result<std::vector<Bytes>> issuing_ca_chain(const std::vector<Bytes>& bundle, const X509* peer_certificate);

}  // namespace estgw::mapping
