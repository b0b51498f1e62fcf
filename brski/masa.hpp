// The MASA's decision on one registrar voucher-request (RVR), for `estgw masa`: a lab and test MASA
// (BRSKI.md §4; RFC 8995 §5.5–5.6; cBRSKI §8, §9.2.1, §9.2.3). No sockets, files or threads: the caller
// passes the request's media types and bytes, the configuration and the time, and gets the voucher or an
// Error whose Status is the HTTP answer (masa_http_status) and whose message is the text/plain reason.
//
// The checks, in the order of BRSKI.md §4 (the first failure decides):
//   415  Content-Type not application/voucher+cose (or the old application/voucher-cose+cbor)
//   406  Accept missing, or naming neither (nor */* or application/*)
//   400  not a COSE_Sign1, a payload that is not a voucher-request, no serial-number, no x5bag/x5chain, a
//        certificate in it that does not parse
//   403  no certificate of the bag verifies the RVR signature, or the one that does lacks id-kp-cmcRA
//   404  no end-entity certificate of the bag chains to a --pledge-ca: not a device of this manufacturer
//   403  no nonce: nonceless vouchers are not offered (BRSKI.md D13)
//   403  no prior-signed-voucher-request (PVR): only proximity vouchers are issued
//   400  a PVR that is not a COSE_Sign1 with a voucher-request payload
//   403  the PVR signature does not verify with the IDevID; its assertion is not proximity; it has none of
//        proximity-registrar-cert/-pubk/-pubk-sha256, or one that does not match the RVR signer; the
//        serial-number of RVR, PVR and IDevID subject differ; idevid-issuer is not the IDevID's AKI; the
//        nonces of RVR and PVR differ
//   404  the serial-number is not in the --serials allowlist
// The voucher: {2451: {assertion 2, created-on now, domain-cert-revocation-checks false, nonce,
// pinned-domain-cert, serial-number}}, pinned-domain-cert being the lowest-level CA of the registrar's chain
// in the bag (its issuer), or the registrar certificate itself when the bag has no issuer of it (§5.5.2: a
// domain CA it does not know is a temporary trust anchor). Signed with the signing key, protected {1: alg},
// unprotected {32: the signing certificate and its issuers}, tag 18.
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "brski/voucher.hpp"
#include "common/bytes.hpp"
#include "common/openssl.hpp"
#include "common/result.hpp"

namespace estgw::brski {

inline constexpr std::string_view kVoucherMediaType = "application/voucher+cose";
// The name IANA's earlier temporary registration of CF 836 had; OT-Registrar still sends it (BRSKI.md §0).
inline constexpr std::string_view kVoucherMediaTypeOld = "application/voucher-cose+cbor";

struct MasaConfig {
    std::vector<X509Ptr> pledge_cas;               // --pledge-ca: trust anchors of the IDevIDs vouched for
    std::optional<std::set<std::string>> serials;  // --serials: the devices vouched for; unset: any
    EvpPkeyPtr signing_key;
    std::vector<Bytes> signing_chain;  // DER: the signing certificate, then its issuers (the x5bag)

    // Checks and assembles a configuration: every pledge CA is a CA certificate, the key belongs to the
    // first certificate of `signing_certificates`, and the chain is that certificate followed by those of
    // the others that issued it, its issuer and so on, in that order (the rest are left out). Status
    // BadRequest with a message naming the problem.
    static Result<MasaConfig> create(std::vector<X509Ptr> pledge_cas,
                                     std::vector<X509Ptr> signing_certificates, EvpPkeyPtr signing_key,
                                     std::optional<std::set<std::string>> serials = std::nullopt);
};

// The media type of the answer, from the request's Content-Type and Accept (nullopt: no Accept header).
// Parameters and case are ignored; Accept is a list of media ranges with optional q (q=0 excludes). The
// answer takes the name the request's Content-Type used, unless Accept names only the other one.
// UnsupportedFormat (415) or NotAcceptable (406).
Result<std::string> negotiate_voucher_media_type(std::string_view content_type,
                                                 const std::optional<std::string>& accept);

// What was vouched for: the audit record and the log line.
struct IssuedVoucher {
    Bytes voucher;  // the COSE_Sign1, the body of the 200 answer
    std::string created_on;
    std::string serial_number;
    std::string idevid_issuer;      // the IDevID's issuer name (RFC 2253 form)
    std::string registrar_subject;  // the RVR signer's subject (RFC 2253 form)
    Bytes nonce;
    Bytes pinned_domain_cert_sha256;
    Assertion assertion = Assertion::Proximity;
};

struct VoucherDecision {
    // The serial-number of the RVR as soon as it could be read (for the log line of a refusal); empty before.
    std::string serial_number;
    Result<IssuedVoucher> voucher = make_error(Status::Internal, "voucher-request not processed");
};

// Runs every check above except the media types on the RVR `body` and signs the voucher, created `now`.
VoucherDecision decide_voucher_request(ByteView body, const MasaConfig& config,
                                       std::chrono::system_clock::time_point now);

// The audit file's line for a voucher (without the newline): a JSON object with time, serial,
// idevid_issuer, registrar_subject, nonce (hex), pinned_domain_cert_sha256 (hex) and assertion.
std::string audit_line(const IssuedVoucher& voucher);

// The --serials file: one serial-number per line; '#' starts a comment, blanks around a serial and empty
// lines are ignored. A serial with inner spaces or control characters is BadRequest naming its line.
Result<std::set<std::string>> parse_serial_list(std::string_view text);

// The HTTP status of an answer refused with `status`: 400, 403, 404, 406, 415, else 500.
int masa_http_status(Status status);

// RFC 3339 UTC with seconds ("2026-12-05T11:34:35Z"), as yang:date-and-time wants it.
std::string rfc3339_utc(std::chrono::system_clock::time_point time);

}  // namespace estgw::brski
