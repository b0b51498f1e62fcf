#include "support/voucher_requests.hpp"

#include <stdexcept>

#include "common/cose.hpp"
#include "common/keys.hpp"
#include "support/test_pki.hpp"

namespace estgw::test {

namespace {

template <class T>
T must(Result<T> result, const std::string& what) {
    if (!result) throw std::runtime_error(what + ": " + result.error().message);
    return std::move(result).value();
}

Bytes sign(const brski::Voucher& payload, const cbor::Map& unprotected, const EVP_PKEY* key) {
    const Bytes encoded =
        must(brski::encode(brski::Kind::VoucherRequest, payload), "voucher-request encoding");
    return must(cose::sign1(encoded, unprotected, key), "COSE_Sign1");
}

}  // namespace

std::string serial_number_of(const X509* cert) {
    const X509_NAME* subject = X509_get_subject_name(cert);
    const int index = X509_NAME_get_index_by_NID(subject, NID_serialNumber, -1);
    if (index < 0) return {};
    const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                       static_cast<std::size_t>(ASN1_STRING_length(value)));
}

Bytes authority_key_id_tlv(const X509* cert) {
    const int index = X509_get_ext_by_NID(cert, NID_authority_key_identifier, -1);
    if (index < 0) throw std::runtime_error("no authorityKeyIdentifier");
    const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(X509_get_ext(cert, index));
    Bytes out{0x04, static_cast<std::uint8_t>(ASN1_STRING_length(value))};
    out.insert(out.end(), ASN1_STRING_get0_data(value),
               ASN1_STRING_get0_data(value) + ASN1_STRING_length(value));
    return out;
}

Bytes spki_of(const X509* cert) {
    return must(public_key_to_der(X509_get0_pubkey(cert)), "SPKI");
}

VoucherRequestParts voucher_request_parts(const X509* registrar, const EVP_PKEY* registrar_key,
                                          const X509* registrar_ca, const X509* idevid,
                                          const EVP_PKEY* idevid_key, const X509* pledge_ca,
                                          const Bytes& nonce) {
    VoucherRequestParts parts;
    const std::string serial = serial_number_of(idevid);
    parts.pvr_key = idevid_key;
    parts.pvr.assertion = brski::Assertion::Proximity;
    parts.pvr.nonce = nonce;
    parts.pvr.proximity_registrar_cert = to_der(registrar);
    parts.pvr.serial_number = serial;
    parts.rvr_key = registrar_key;
    parts.rvr.assertion = brski::Assertion::Proximity;
    parts.rvr.created_on = "2026-12-05T12:00:00Z";
    parts.rvr.nonce = nonce;
    parts.rvr.serial_number = serial;
    parts.rvr.idevid_issuer = authority_key_id_tlv(idevid);
    parts.bag.push_back(to_der(registrar));
    if (registrar_ca != nullptr) parts.bag.push_back(to_der(registrar_ca));
    parts.bag.push_back(to_der(idevid));
    parts.bag.push_back(to_der(pledge_ca));
    return parts;
}

Bytes sign_pvr(const VoucherRequestParts& parts) {
    return sign(parts.pvr, {}, parts.pvr_key);
}

Bytes build_rvr(const VoucherRequestParts& parts) {
    brski::Voucher rvr = parts.rvr;
    if (!rvr.prior_signed_voucher_request) rvr.prior_signed_voucher_request = sign_pvr(parts);
    cbor::Map unprotected;
    if (!parts.bag.empty()) {
        unprotected.emplace_back(cbor::Value(cose::kHeaderX5Bag), cose::certificate_bag(parts.bag));
    }
    return sign(rvr, unprotected, parts.rvr_key);
}

}  // namespace estgw::test
