#include "brski/pvr_checks.hpp"

#include <openssl/err.h>
#include <openssl/sha.h>

#include <utility>

#include "common/cose.hpp"
#include "common/keys.hpp"
#include "common/x509.hpp"

namespace estgw::brski {

namespace {

constexpr std::size_t kNonceMin = 8;
constexpr std::size_t kNonceMax = 32;

// Every refusal names its check first (pvr_checks.hpp), so logs and the journal can be grepped by check.
Error refused(Status status, std::string_view check, const std::string& reason) {
    return make_error(status, std::string(check) + ": " + reason);
}

std::string subject_of(const X509* cert) {
    return name_to_string(X509_get_subject_name(cert));
}

Bytes sha256(ByteView data) {
    Bytes digest(SHA256_DIGEST_LENGTH);
    SHA256(data.data(), data.size(), digest.data());
    return digest;
}

// Check 8 (RFC 8995 §5.2, BRSKI.md D6): each field present must name this registrar; one at least.
Result<std::vector<std::string>> check_proximity(const Voucher& pvr, const X509* registrar_cert) {
    if (!pvr.proximity_registrar_cert && !pvr.proximity_registrar_pubk &&
        !pvr.proximity_registrar_pubk_sha256) {
        return refused(Status::Unauthorized, "proximity",
                       "the voucher-request names no registrar (none of proximity-registrar-cert, -pubk, "
                       "-pubk-sha256)");
    }
    auto cert_der = certificate_to_der(registrar_cert);
    auto spki = public_key_to_der(X509_get0_pubkey(registrar_cert));
    if (!cert_der || !spki) {
        ERR_clear_error();
        return refused(Status::Internal, "proximity", "cannot encode the registrar certificate");
    }
    const std::string elsewhere =
        " names another registrar than this one (" + subject_of(registrar_cert) + "): a man in the middle?";
    std::vector<std::string> matched;
    if (pvr.proximity_registrar_cert) {
        if (*pvr.proximity_registrar_cert != *cert_der) {
            return refused(Status::Unauthorized, "proximity", "proximity-registrar-cert" + elsewhere);
        }
        matched.emplace_back("cert");
    }
    if (pvr.proximity_registrar_pubk) {
        if (*pvr.proximity_registrar_pubk != *spki) {
            return refused(Status::Unauthorized, "proximity", "proximity-registrar-pubk" + elsewhere);
        }
        matched.emplace_back("pubk");
    }
    if (pvr.proximity_registrar_pubk_sha256) {
        if (*pvr.proximity_registrar_pubk_sha256 != sha256(*spki)) {
            return refused(Status::Unauthorized, "proximity", "proximity-registrar-pubk-sha256" + elsewhere);
        }
        matched.emplace_back("pubk-sha256");
    }
    return matched;
}

}  // namespace

Result<AcceptedPvr> check_pledge_voucher_request(ByteView pvr, const X509* idevid,
                                                 const X509* registrar_cert) {
    if (idevid == nullptr || registrar_cert == nullptr) {
        return make_error(Status::Internal,
                          "voucher-request check without a pledge or registrar certificate");
    }
    // 5: well formed. The nonce's length waits for check 9 (pvr_checks.hpp).
    auto message = cose::decode_sign1(pvr);
    if (!message) return refused(Status::BadRequest, "cose", message.error().message);
    if (!message->alg()) {
        return refused(Status::BadRequest, "cose", "the protected header has no integer alg (label 1)");
    }
    auto request = decode(Kind::VoucherRequest, message->payload, NonceLength::Unchecked);
    if (!request) return refused(Status::BadRequest, "cose", "payload: " + request.error().message);

    // 6: signed by the key of the DTLS client certificate; the PVR's own certificates are not looked at.
    if (auto verified = cose::verify_sign1(*message, X509_get0_pubkey(idevid)); !verified) {
        ERR_clear_error();
        return refused(Status::Forbidden, "signature",
                       "not signed correctly with the key of the pledge certificate " + subject_of(idevid) +
                           " (" + verified.error().message + ")");
    }

    // 7
    if (request->assertion != Assertion::Proximity) {
        return refused(Status::Unauthorized, "assertion",
                       "the voucher-request asserts " +
                           (request->assertion ? std::string(assertion_name(*request->assertion))
                                               : std::string("nothing")) +
                           ", not proximity");
    }

    // 8
    ESTGW_TRY(proximity, check_proximity(*request, registrar_cert));

    // 9 (RFC 8995 §5.2: MUST; nonceless vouchers are out of scope, BRSKI.md D13)
    if (!request->nonce) {
        return refused(Status::BadRequest, "nonce",
                       "the voucher-request has no nonce (nonceless vouchers are not "
                       "offered)");
    }
    if (request->nonce->size() < kNonceMin || request->nonce->size() > kNonceMax) {
        return refused(Status::BadRequest, "nonce",
                       "the nonce has " + std::to_string(request->nonce->size()) + " bytes, not 8..32");
    }

    // 10 (RFC 8995 §5.5: the serial-number comes from the certificate, never from the request)
    const std::optional<std::string> serial = idevid_serial_number(idevid);
    if (!serial) {
        return refused(Status::Forbidden, "serial-number",
                       "the pledge certificate " + subject_of(idevid) +
                           " has no subject serialNumber (2.5.4.5) to name the device by (RFC 8995 §2.3.1)");
    }
    if (!request->serial_number) {
        return refused(
            Status::Forbidden, "serial-number",
            "the voucher-request has no serial-number; the pledge certificate says '" + *serial + "'");
    }
    if (*request->serial_number != *serial) {
        return refused(Status::Forbidden, "serial-number",
                       "the voucher-request says '" + *request->serial_number +
                           "', the pledge certificate's serialNumber is '" + *serial + "'");
    }

    AcceptedPvr accepted;
    accepted.nonce = *request->nonce;
    accepted.serial_number = *serial;
    accepted.proximity = std::move(proximity);
    accepted.request = std::move(*request);
    return accepted;
}

bool closes_session(const Error& error) {
    return error.status == Status::Unauthorized;
}

std::optional<std::string> idevid_serial_number(const X509* cert) {
    return subject_serial_number(cert);
}

}  // namespace estgw::brski
