// Registrar voucher-requests (RVR, cBRSKI §8.1, BRSKI.md §3.3) around a pledge's voucher-request (PVR,
// BRSKI.md §5.2), built by tests to feed the MASA, each part changeable to test one refusal.
// Failures throw std::runtime_error (test code only).
#pragma once

#include <string>
#include <vector>

#include "brski/voucher.hpp"
#include "common/bytes.hpp"
#include "common/openssl.hpp"

namespace estgw::test {

struct VoucherRequestParts {
    const EVP_PKEY* pvr_key = nullptr;  // signs the PVR: the pledge's IDevID key
    brski::Voucher pvr;
    const EVP_PKEY* rvr_key = nullptr;  // signs the RVR: the registrar's key
    // rvr.prior_signed_voucher_request, when unset, is the PVR signed with pvr_key.
    brski::Voucher rvr;
    std::vector<Bytes> bag;  // the RVR's unprotected x5bag (DER); empty: no x5bag
};

// A consistent request: PVR {proximity, nonce, proximity-registrar-cert = registrar, serial-number},
// RVR {proximity, created-on, nonce, serial-number, idevid-issuer = the IDevID's AKI extnValue TLV},
// bag [registrar, registrar_ca (when given), idevid, pledge_ca]. The serial-number is the IDevID's subject
// serialNumber.
VoucherRequestParts voucher_request_parts(const X509* registrar, const EVP_PKEY* registrar_key,
                                          const X509* registrar_ca, const X509* idevid,
                                          const EVP_PKEY* idevid_key, const X509* pledge_ca,
                                          const Bytes& nonce);

Bytes sign_pvr(const VoucherRequestParts& parts);
Bytes build_rvr(const VoucherRequestParts& parts);

// The subject serialNumber of a certificate ("" when none).
std::string serial_number_of(const X509* cert);
// The AuthorityKeyIdentifier extnValue as an OCTET STRING TLV: 04 18 30 16 80 14 <keyId>.
Bytes authority_key_id_tlv(const X509* cert);
// DER SubjectPublicKeyInfo of the certificate's key.
Bytes spki_of(const X509* cert);

}  // namespace estgw::test
