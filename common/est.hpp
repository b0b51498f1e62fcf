// The one request type (DESIGN.md): everything between the CoAP front and a backend is said in EST terms.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/openssl.hpp"
#include "common/result.hpp"

namespace estgw {

enum class Operation {
    CaCerts,           // crts  / cacerts
    SimpleEnroll,      // sen   / simpleenroll
    SimpleReenroll,    // sren  / simplereenroll
    CsrAttrs,          // att   / csrattrs
    ServerKeyGen,      // skg   / serverkeygen, certificate as certs-only
    ServerKeyGenCert,  // skc   / serverkeygen, certificate as pkix-cert
    RequestVoucher,    // rv    / requestvoucher (BRSKI)
    VoucherStatus,     // vs    / voucher_status
    EnrollStatus,      // es    / enrollstatus
};

// CoAP Content-Format numbers used by EST-coaps and cBRSKI (RFC 9148 §8.1, RFC 8710, cBRSKI §15.3).
// The HTTP media types live in mapping/content_format.hpp.
enum class ContentFormat : std::uint16_t {
    LinkFormat = 40,
    Json = 50,
    Cbor = 60,
    MultipartCore = 62,
    ServerGeneratedKey = 280,  // CMS EnvelopedData around the key (passed through untouched)
    CertsOnly = 281,
    Pkcs8 = 284,
    CsrAttrs = 285,
    Pkcs10 = 286,
    PkixCert = 287,
    VoucherCose = 836,
};

// What the gateway knows about the authenticated DTLS peer, read once per session.
struct PeerIdentity {
    std::vector<Bytes> chain;  // DER, leaf first; empty when the client sent no certificate
    // chain[0] as OpenSSL parsed it in the handshake, shared read-only by every request of the session (its
    // extension cache filled first, so threads may read it at once); null without a certificate.
    std::shared_ptr<const X509> certificate;
    Bytes tls_unique;     // first Finished message of the handshake (RFC 5929), 12 bytes for DTLS 1.2
    std::string address;  // "[::1]:5683" style, for logs
    std::string subject;  // RFC 2253 subject of chain[0], for logs; empty without a certificate
    // Set when an RA (RFC 7030 §3.7) forwarded this client's certificate over its own authenticated TLS
    // connection (full-server mode, --trust-forwarded-client-cert): the RA's RFC 2253 subject. The fields
    // above then describe the forwarded client, except `address` (the RA's) and `tls_unique` (empty: the
    // client's session was with the RA, which checks the CSR's link to it).
    std::string forwarded_by;
};

struct EstRequest {
    Operation op = Operation::CaCerts;
    std::string label;                            // RFC 7030 §3.2.2 arbitrary label; empty when absent
    std::optional<ContentFormat> accept;          // absent: the resource's default
    std::optional<ContentFormat> content_format;  // of body; absent for GET
    Bytes body;                                   // DER (or CBOR/JSON for BRSKI), reassembled
    PeerIdentity peer;
};

// One part of a multipart-core answer (RFC 8710); body absent means a null part.
struct BodyPart {
    ContentFormat format = ContentFormat::Pkcs8;
    std::optional<Bytes> body;
};

struct EstResponse {
    Status status = Status::Ok;
    ContentFormat format = ContentFormat::CertsOnly;  // meaningful when status is Ok and body/parts present
    Bytes body;                                       // DER, CBOR or JSON; empty for 2.04-without-payload
    std::vector<BodyPart> parts;                      // filled instead of body when format is MultipartCore
    std::optional<std::chrono::seconds> retry_after;  // 202/503 Retry-After → Max-Age
    std::string diagnostic;                           // human-readable, UTF-8; sent as diagnostic payload
    int upstream_status = 0;                          // HTTP status from the upstream (logs); 0 when none
    // The DTLS session is closed once this answer has been sent, and a later request on it gets no answer:
    // a /rv refused as coming through a man in the middle (RFC 8995 §5.2, BRSKI.md §3.2 checks 7-8).
    bool close_session = false;

    static EstResponse error(Status s, std::string diagnostic) {
        EstResponse r;
        r.status = s;
        r.diagnostic = std::move(diagnostic);
        return r;
    }
    static EstResponse from_error(const Error& e) { return error(e.status, e.message); }
};

}  // namespace estgw
