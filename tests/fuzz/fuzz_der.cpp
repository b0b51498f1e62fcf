// Network DER through every strict parser of common/der, x509, pkcs7 and keys, plus the round trips that
// must hold for whatever they accept: certs-only rebuilds to the same certificates, PKCS#8 normalisation
// is idempotent, a parsed CSR yields its identity and challengePassword without crashing, and the
// enrollment path's own CSR parser (common/csr_with_key: the key made from the raw point, not by OpenSSL's
// decoders) accepts nothing OpenSSL refuses and makes the very key OpenSSL would.
#include <openssl/err.h>

#include <cstdlib>

#include "common/csr_with_key.hpp"
#include "common/der.hpp"
#include "common/pkcs7.hpp"
#include "common/x509.hpp"

namespace {

void exercise_certificate(const X509* cert) {
    (void)estgw::certificate_identity(cert);
    (void)estgw::certificate_to_der(cert);
    (void)estgw::name_to_string(X509_get_subject_name(cert));
    (void)estgw::is_self_issued(cert);
    (void)estgw::is_issued_by(cert, cert);
    (void)estgw::has_extended_key_usage(cert, NID_cmcRA);
}

void exercise_csr(const X509_REQ* csr) {
    (void)estgw::csr_identity(csr);
    (void)estgw::csr_challenge_password(csr);
    (void)estgw::verify_csr_signature(csr);
    // Something to compare identities against: an empty subject, no subjectAltName.
    static const estgw::X509Ptr reference = [] {
        estgw::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
        estgw::X509Ptr cert(X509_new());
        X509_set_pubkey(cert.get(), key.get());
        X509_sign(cert.get(), key.get(), EVP_sha256());
        return cert;
    }();
    (void)estgw::csr_matches_certificate_identity(csr, reference.get());
}

void check_csr_with_key(estgw::ByteView der) {
    auto parsed = estgw::parse_csr_with_key(der);
    if (!parsed) return;
    auto reference = estgw::parse_csr_der(der);
    if (!reference) std::abort();
    auto spki = estgw::csr_public_key_der(parsed->request.get());
    if (!spki || !estgw::is_single_der_object(*spki)) std::abort();
    const EVP_PKEY* decoded = X509_REQ_get0_pubkey(reference->get());
    if (parsed->public_key) {
        if (decoded == nullptr || EVP_PKEY_eq(parsed->public_key.get(), decoded) != 1) std::abort();
        if (estgw::verify_csr_signature(parsed->request.get(), parsed->public_key.get()).ok() !=
            estgw::verify_csr_signature(reference->get()).ok())
            std::abort();
    }
}

void check_certs_only_round_trip(estgw::ByteView der) {
    auto certificates = estgw::certs_only_certificates_der(der);
    if (!certificates) return;
    auto rebuilt = estgw::make_certs_only(*certificates);
    if (!rebuilt) std::abort();
    auto again = estgw::certs_only_certificates_der(*rebuilt);
    if (!again || *again != *certificates) std::abort();
}

void check_private_key(estgw::ByteView der) {
    auto pkcs8 = estgw::normalize_private_key_to_pkcs8(der);
    if (!pkcs8) return;
    auto again = estgw::normalize_private_key_to_pkcs8(*pkcs8);
    if (!again || *again != *pkcs8) std::abort();
    if (auto key = estgw::parse_private_key_der(der)) {
        (void)estgw::key_description(key->get());
        (void)estgw::private_key_to_pkcs8_der(key->get());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const estgw::ByteView der(data, size);

    if (auto header = estgw::read_der_header(der)) {
        if (header->total_length() > size) std::abort();
        if (estgw::is_single_der_object(der, header->tag) != (header->total_length() == size)) std::abort();
    }
    // The outline check reads lengths only; whatever it accepts is one complete object.
    if (estgw::check_pkcs10_structure(der) && !estgw::is_single_der_object(der)) std::abort();
    if (estgw::check_certificate_outline(der) && !estgw::is_single_der_object(der)) std::abort();
    if (auto cert = estgw::parse_certificate_der(der)) exercise_certificate(cert->get());
    if (auto csr = estgw::parse_csr_der(der)) exercise_csr(csr->get());
    check_csr_with_key(der);
    check_certs_only_round_trip(der);
    // Whatever the outline accepts is one complete object and its certificates lie inside it.
    if (auto outline = estgw::certs_only_outline(der)) {
        if (!estgw::is_single_der_object(der)) std::abort();
        for (estgw::ByteView cert : *outline) {
            if (cert.data() < der.data() || cert.data() + cert.size() > der.data() + der.size()) std::abort();
        }
    }
    check_private_key(der);
    if (auto key = estgw::parse_public_key_der(der)) (void)estgw::public_key_to_der(key->get());

    ERR_clear_error();
    return 0;
}
