#include "common/pkcs7.hpp"

#include <openssl/objects.h>

#include <algorithm>
#include <string>

#include "common/der.hpp"
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

Result<std::vector<ByteView>> certs_only_outline(ByteView der) {
    constexpr std::uint8_t kSequence = 0x30, kSet = 0x31, kInteger = 0x02, kOid = 0x06, kOctetString = 0x04,
                           kExplicit0 = 0xa0, kImplicit1 = 0xa1;
    static const Bytes kSignedDataOid = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02};
    static const Bytes kDataOid = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01};
    const std::string_view structure = "certs-only";
    auto same = [](ByteView a, const Bytes& b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); };

    DerReader outer(der, structure);
    ESTGW_TRY(content_info, outer.next(kSequence, "ContentInfo"));
    if (auto r = outer.end("the input"); !r) return r.error();
    DerReader info(content_info, structure);
    ESTGW_TRY(content_type, info.next(kOid, "contentType"));
    if (!same(content_type, kSignedDataOid)) return info.error("content type is not signedData");
    ESTGW_TRY(explicit_content, info.next(kExplicit0, "content"));
    if (auto r = info.end("ContentInfo"); !r) return r.error();

    DerReader wrapper(explicit_content, structure);
    ESTGW_TRY(signed_data, wrapper.next(kSequence, "SignedData"));
    if (auto r = wrapper.end("the content"); !r) return r.error();
    DerReader fields(signed_data, structure);
    if (auto r = fields.next(kInteger, "version"); !r) return r.error();
    if (auto r = fields.next(kSet, "digestAlgorithms"); !r) return r.error();
    ESTGW_TRY(encapsulated, fields.next(kSequence, "encapContentInfo"));
    DerReader encap(encapsulated, structure);
    ESTGW_TRY(encap_type, encap.next(kOid, "eContentType"));
    if (!same(encap_type, kDataOid)) return encap.error("encapsulated content type is not id-data");
    if (!encap.at_end()) {
        ESTGW_TRY(econtent, encap.next(kExplicit0, "eContent"));
        DerReader octets(econtent, structure);
        ESTGW_TRY(data, octets.next(kOctetString, "eContent OCTET STRING"));
        if (!data.empty()) return octets.error("encapsulated content present, expected none");
        if (auto r = octets.end("eContent"); !r) return r.error();
    }
    if (auto r = encap.end("encapContentInfo"); !r) return r.error();

    std::vector<ByteView> certificates;
    if (fields.peek_tag() == kExplicit0) {  // [0] IMPLICIT CertificateSet
        ESTGW_TRY(set, fields.next(kExplicit0, "certificates"));
        DerReader each(set, structure);
        while (!each.at_end()) {
            ESTGW_TRY(cert, each.next_element("certificate"));
            if (cert.tag != kSequence) return each.error("a certificate choice other than Certificate");
            if (auto r = check_certificate_outline(cert.whole); !r) {
                return each.error("certificate " + std::to_string(certificates.size() + 1) + ": " +
                                  r.error().message);
            }
            certificates.push_back(cert.whole);
        }
    }
    if (fields.peek_tag() == kImplicit1) {
        if (auto r = fields.next(kImplicit1, "crls"); !r) return r.error();
    }
    ESTGW_TRY(signer_infos, fields.next(kSet, "signerInfos"));
    if (!signer_infos.empty()) return fields.error("signerInfos present, expected none");
    if (auto r = fields.end("SignedData"); !r) return r.error();
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
