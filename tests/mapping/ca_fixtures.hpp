// Small CA hierarchies for the certificate-selection tests (cert_formats_test, coap_response_test), built
// on tests/support/test_pki.
#pragma once

#include <string>
#include <vector>

#include "common/x509.hpp"
#include "support/test_pki.hpp"

namespace estgw::test {

struct TestCa {
    EvpPkeyPtr key;
    X509Ptr cert;
    Bytes der;
};

inline TestCa make_root_ca(const std::string& subject) {
    TestCa ca;
    ca.key = make_key();
    ca.cert = make_self_signed_ca(subject, ca.key.get());
    ca.der = to_der(ca.cert.get());
    return ca;
}

inline TestCa make_sub_ca(const std::string& subject, const TestCa& issuer) {
    TestCa ca;
    ca.key = make_key();
    CertOptions options;
    options.ca = true;
    ca.cert = make_certificate(subject, ca.key.get(), issuer.cert.get(), issuer.key.get(), options);
    ca.der = to_der(ca.cert.get());
    return ca;
}

// An end-entity certificate (CA:FALSE) issued by `issuer`, as DER.
inline Bytes make_leaf_der(const std::string& subject, const TestCa& issuer) {
    auto key = make_key();
    return to_der(make_certificate(subject, key.get(), issuer.cert.get(), issuer.key.get()).get());
}

// A certs-only PKCS#7 holding these certificates in this order.
inline Bytes certs_only_of(const std::vector<Bytes>& certificates) {
    return make_certs_only(certificates).value();
}

}  // namespace estgw::test
