// A manufacturer, a domain and a MASA for the registrar's unit tests (pvr_checks, rvr): keys and
// certificates made with tests/support/test_pki, and pledge voucher-requests signed with any payload,
// also those brski::encode refuses (a 7-byte nonce), built from CBOR directly.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/cbor.hpp"
#include "common/openssl.hpp"

namespace estgw::brski {

struct RegistrarTestPki {
    EvpPkeyPtr pledge_ca_key;
    X509Ptr pledge_ca;  // the manufacturer's CA, the IDevID trust anchor
    EvpPkeyPtr idevid_key;
    X509Ptr idevid;  // subject serialNumber "SN-0042"
    EvpPkeyPtr domain_ca_key;
    X509Ptr domain_ca;
    EvpPkeyPtr registrar_key;
    X509Ptr registrar;  // id-kp-cmcRA, issued by domain_ca
    EvpPkeyPtr masa_key;
    X509Ptr masa;  // self-signed MASA signing certificate

    static RegistrarTestPki make();
};

inline constexpr const char* kTestSerial = "SN-0042";

// The leaves of a PVR payload {2501: {...}} by SID delta (BRSKI.md §1.1): 1 assertion, 7 nonce,
// 10 proximity-registrar-cert, 11 -pubk-sha256, 12 -pubk, 13 serial-number. Unset leaves are left out.
struct PvrLeaves {
    std::optional<cbor::Value> assertion = cbor::Value(2u);
    std::optional<cbor::Value> nonce = cbor::Value(Bytes(8, 0x5a));
    std::optional<cbor::Value> proximity_cert;
    std::optional<cbor::Value> proximity_pubk_sha256;
    std::optional<cbor::Value> proximity_pubk;
    std::optional<cbor::Value> serial_number = cbor::Value(kTestSerial);
};

Bytes pvr_payload(const PvrLeaves& leaves);
// COSE_Sign1 over the payload, protected {1: alg of key}, the given unprotected map.
Bytes signed_pvr(const PvrLeaves& leaves, const EVP_PKEY* key, const cbor::Map& unprotected = {});

Bytes spki_der(const X509* cert);
Bytes sha256_of(const Bytes& data);

}  // namespace estgw::brski
