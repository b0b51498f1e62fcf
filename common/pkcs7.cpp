#include "common/pkcs7.hpp"

#include <openssl/objects.h>

#include <string>

#include "common/x509.hpp"

namespace estgw {

namespace {

Error bad_request(std::string message) {
    return make_error(Status::BadRequest, std::move(message));
}

std::string content_type_name(const ASN1_OBJECT* type) {
    const int nid = OBJ_obj2nid(type);
    return nid == NID_undef ? std::string("unknown") : std::string(OBJ_nid2sn(nid));
}

// The certificates field of a certs-only SignedData after checking that it is one (RFC 5272 §4.1: no
// signers, encapContentInfo id-data with the content omitted; an empty OCTET STRING is tolerated).
Result<const STACK_OF(X509) *> certs_only_stack(const PKCS7* p7) {
    if (!PKCS7_type_is_signed(p7)) {
        return bad_request("certs-only: content type " + content_type_name(p7->type) +
                           ", expected signedData");
    }
    const PKCS7_SIGNED* signed_data = p7->d.sign;
    if (signed_data == nullptr) return bad_request("certs-only: signedData content absent");
    if (const int signers = sk_PKCS7_SIGNER_INFO_num(signed_data->signer_info); signers > 0) {
        return bad_request("certs-only: " + std::to_string(signers) + " signerInfo(s), expected none");
    }
    const PKCS7* inner = signed_data->contents;
    if (inner == nullptr || OBJ_obj2nid(inner->type) != NID_pkcs7_data) {
        return bad_request("certs-only: encapsulated content type " +
                           (inner == nullptr ? std::string("absent") : content_type_name(inner->type)) +
                           ", expected id-data");
    }
    if (inner->d.data != nullptr && ASN1_STRING_length(inner->d.data) > 0) {
        return bad_request("certs-only: encapsulated content present, expected none");
    }
    return static_cast<const STACK_OF(X509)*>(signed_data->cert);
}

}  // namespace

Result<Pkcs7Ptr> parse_pkcs7_der(ByteView der) {
    return d2i_exactly<Pkcs7Ptr>(der, d2i_PKCS7, "PKCS#7");
}

Result<std::vector<X509Ptr>> certs_only_certificates(ByteView der) {
    ESTGW_TRY(p7, parse_pkcs7_der(der));
    ESTGW_TRY(stack, certs_only_stack(p7.get()));
    std::vector<X509Ptr> certificates;
    for (int i = 0; i < sk_X509_num(stack); ++i) {
        X509* cert = sk_X509_value(stack, i);
        if (X509_up_ref(cert) != 1)
            return openssl_error(Status::Internal, "certs-only", "X509_up_ref failed");
        certificates.emplace_back(cert);
    }
    return certificates;
}

Result<std::vector<Bytes>> certs_only_certificates_der(ByteView der) {
    ESTGW_TRY(certificates, certs_only_certificates(der));
    std::vector<Bytes> encoded;
    encoded.reserve(certificates.size());
    for (const auto& cert : certificates) {
        ESTGW_TRY(cert_der, certificate_to_der(cert.get()));
        encoded.push_back(std::move(cert_der));
    }
    return encoded;
}

Result<Bytes> make_certs_only_from_parsed(const std::vector<const X509*>& certificates) {
    Pkcs7Ptr p7(PKCS7_new());
    // PKCS7_set_type gives version 1 and empty digestAlgorithms/signerInfos; like `openssl crl2pkcs7`, the
    // encapsulated content is typed id-data and left without content.
    if (!p7 || PKCS7_set_type(p7.get(), NID_pkcs7_signed) != 1) {
        return openssl_error(Status::Internal, "certs-only", "cannot create signedData");
    }
    p7->d.sign->contents->type = OBJ_nid2obj(NID_pkcs7_data);
    for (const X509* cert : certificates) {
        // The certificates field is encoded as SEQUENCE OF by OpenSSL, so the order given here is kept.
        // PKCS7_add_certificate takes its own reference and does not modify the certificate.
        if (PKCS7_add_certificate(p7.get(), const_cast<X509*>(cert)) != 1) {
            return openssl_error(Status::Internal, "certs-only", "cannot add certificate");
        }
    }
    return i2d_bytes(p7.get(), i2d_PKCS7);
}

Result<Bytes> make_certs_only(const std::vector<Bytes>& certificates_der) {
    std::vector<X509Ptr> parsed;
    std::vector<const X509*> certificates;
    for (const Bytes& cert_der : certificates_der) {
        ESTGW_TRY(cert, parse_certificate_der(cert_der));
        certificates.push_back(cert.get());
        parsed.push_back(std::move(cert));
    }
    return make_certs_only_from_parsed(certificates);
}

}  // namespace estgw
