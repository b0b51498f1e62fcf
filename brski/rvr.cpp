#include "brski/rvr.hpp"

#include <openssl/err.h>
#include <openssl/sha.h>

#include <utility>

#include "brski/masa.hpp"
#include "common/cose.hpp"
#include "common/pem_file.hpp"
#include "common/x509.hpp"

namespace estgw::brski {

namespace {

Error cannot_build(Status status, const std::string& reason) {
    return make_error(status, "registrar voucher-request: " + reason);
}

// A DER TLV (X.690 §8.1.3: short length form below 128, else the fewest length octets).
Bytes der_tlv(std::uint8_t tag, ByteView content) {
    Bytes out{tag};
    if (content.size() < 0x80) {
        out.push_back(static_cast<std::uint8_t>(content.size()));
    } else {
        Bytes length;
        for (std::size_t n = content.size(); n != 0; n >>= 8)
            length.insert(length.begin(), static_cast<std::uint8_t>(n & 0xff));
        out.push_back(static_cast<std::uint8_t>(0x80 | length.size()));
        out.insert(out.end(), length.begin(), length.end());
    }
    out.insert(out.end(), content.begin(), content.end());
    return out;
}

}  // namespace

Result<Bytes> idevid_issuer_of(const X509* idevid) {
    if (idevid == nullptr) return cannot_build(Status::Internal, "no pledge certificate");
    const int index = X509_get_ext_by_NID(idevid, NID_authority_key_identifier, -1);
    if (index >= 0) {
        const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(X509_get_ext(idevid, index));
        const ByteView content(ASN1_STRING_get0_data(value),
                               static_cast<std::size_t>(ASN1_STRING_length(value)));
        return der_tlv(0x04, content);
    }
    // BRSKI.md §3.3 and D9: AuthorityKeyIdentifier { [0] SHA-1 of the pledge's own public key }, as the text
    // says, though the issuer's key is what an AKI normally names.
    unsigned char digest[SHA_DIGEST_LENGTH];
    unsigned int length = 0;
    if (X509_pubkey_digest(idevid, EVP_sha1(), digest, &length) != 1) {
        ERR_clear_error();
        return cannot_build(Status::Internal, "SHA-1 of the pledge key failed");
    }
    const Bytes key_id = der_tlv(0x80, ByteView(digest, length));
    return der_tlv(0x04, der_tlv(0x30, key_id));
}

Result<Bytes> build_registrar_voucher_request(const RvrInput& input) {
    if (input.accepted == nullptr || input.idevid == nullptr) {
        return cannot_build(Status::Internal, "no accepted pledge voucher-request");
    }
    if (input.registrar_chain.empty() || input.registrar_key == nullptr) {
        return cannot_build(Status::BadRequest, "no registrar certificate or key to sign with");
    }
    {
        ESTGW_TRY(own, parse_certificate_der(input.registrar_chain.front()));
        if (auto matches = check_key_matches(own.get(), input.registrar_key); !matches) {
            return cannot_build(Status::BadRequest,
                                "the signing key does not belong to the registrar certificate " +
                                    name_to_string(X509_get_subject_name(own.get())));
        }
    }
    ESTGW_TRY(idevid_der, certificate_to_der(input.idevid));
    ESTGW_TRY(issuer, idevid_issuer_of(input.idevid));

    Voucher request;
    // cBRSKI §7.2: the proximity the PVR asserted is propagated (check 7 let only proximity through).
    request.assertion = Assertion::Proximity;
    request.created_on = rfc3339_utc(input.now);
    request.idevid_issuer = std::move(issuer);
    request.nonce = input.accepted->nonce;
    request.prior_signed_voucher_request = Bytes(input.pvr.begin(), input.pvr.end());
    request.serial_number = input.accepted->serial_number;
    auto payload = encode(Kind::VoucherRequest, request);
    if (!payload) return cannot_build(Status::BadRequest, payload.error().message);

    // cBRSKI §9.2.1: our chain and the pledge's, which the MASA tells apart by signature and chaining.
    std::vector<Bytes> bag = input.registrar_chain;
    bag.push_back(std::move(idevid_der));
    bag.insert(bag.end(), input.idevid_path.begin(), input.idevid_path.end());
    const cbor::Map unprotected{{cbor::Value(cose::kHeaderX5Bag), cose::certificate_bag(bag)}};
    auto signed_request = cose::sign1(*payload, unprotected, input.registrar_key);
    if (!signed_request) return cannot_build(signed_request.status(), signed_request.error().message);
    return std::move(*signed_request);
}

}  // namespace estgw::brski
