#include "brski/registrar_test_pki.hpp"

#include <openssl/evp.h>

#include "common/cose.hpp"
#include "common/keys.hpp"
#include "support/test_pki.hpp"

namespace estgw::brski {

RegistrarTestPki RegistrarTestPki::make() {
    RegistrarTestPki p;
    p.pledge_ca_key = test::make_key();
    p.pledge_ca = test::make_self_signed_ca("CN=Manufacturer CA,O=Example Devices", p.pledge_ca_key.get());
    p.idevid_key = test::make_key();
    p.idevid = test::make_certificate(std::string("CN=pledge,serialNumber=") + kTestSerial,
                                      p.idevid_key.get(), p.pledge_ca.get(), p.pledge_ca_key.get());
    p.domain_ca_key = test::make_key();
    p.domain_ca = test::make_self_signed_ca("CN=Domain CA,O=Example Site", p.domain_ca_key.get());
    p.registrar_key = test::make_key();
    test::CertOptions ra;
    ra.extended_key_usage = "cmcRA,serverAuth,clientAuth";
    p.registrar = test::make_certificate("CN=registrar,O=Example Site", p.registrar_key.get(),
                                         p.domain_ca.get(), p.domain_ca_key.get(), ra);
    p.masa_key = test::make_key();
    p.masa = test::make_self_signed_ca("CN=MASA,O=Example Devices", p.masa_key.get());
    return p;
}

Bytes pvr_payload(const PvrLeaves& leaves) {
    cbor::Map inner;
    const auto add = [&](std::uint64_t delta, const std::optional<cbor::Value>& value) {
        if (value) inner.emplace_back(cbor::Value(delta), *value);
    };
    add(1, leaves.assertion);
    add(7, leaves.nonce);
    add(10, leaves.proximity_cert);
    add(11, leaves.proximity_pubk_sha256);
    add(12, leaves.proximity_pubk);
    add(13, leaves.serial_number);
    return cbor::encode(cbor::Value(cbor::Map{{cbor::Value(2501u), cbor::Value(std::move(inner))}}));
}

Bytes signed_pvr(const PvrLeaves& leaves, const EVP_PKEY* key, const cbor::Map& unprotected) {
    return cose::sign1(pvr_payload(leaves), unprotected, key).value();
}

Bytes spki_der(const X509* cert) {
    return public_key_to_der(X509_get0_pubkey(cert)).value();
}

Bytes sha256_of(const Bytes& data) {
    Bytes digest(32);
    unsigned int length = 0;
    EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr);
    return digest;
}

}  // namespace estgw::brski
