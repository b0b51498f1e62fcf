#include "common/pem_file.hpp"

#include <openssl/x509.h>

#include "common/keys.hpp"
#include "common/pem.hpp"
#include "common/small_file.hpp"
#include "common/x509.hpp"

namespace estgw {

namespace {

Error bad(std::string message) {
    return make_error(Status::BadRequest, std::move(message));
}

template <class T>
Result<T> naming(const std::filesystem::path& file, Result<T> result) {
    if (!result)
        return make_error(result.error().status, "'" + file.string() + "': " + result.error().message);
    return result;
}

}  // namespace

Result<std::vector<X509Ptr>> certificates_from_pem(std::string_view text) {
    auto blocks = pem_decode_all(text);
    if (!blocks) return bad("no PEM certificate: " + blocks.error().message);
    std::vector<X509Ptr> certificates;
    for (const PemBlock& block : *blocks) {
        if (block.label != "CERTIFICATE")
            return bad("holds a '" + block.label + "' block; only certificates belong here");
        auto cert = parse_certificate_der(block.der);
        if (!cert)
            return bad("certificate " + std::to_string(certificates.size() + 1) + ": " +
                       cert.error().message);
        certificates.push_back(std::move(*cert));
    }
    if (certificates.empty()) return bad("holds no PEM certificate");
    return certificates;
}

Result<EvpPkeyPtr> private_key_from_pem(std::string_view text) {
    auto blocks = pem_decode_all(text);
    if (!blocks) return bad("no PEM private key: " + blocks.error().message);
    const PemBlock* key_block = nullptr;
    for (const PemBlock& block : *blocks) {
        if (block.label == "ENCRYPTED PRIVATE KEY")
            return bad("the private key is encrypted; give it unencrypted");
        if (!block.label.ends_with("PRIVATE KEY")) continue;
        if (key_block != nullptr) return bad("holds more than one private key");
        key_block = &block;
    }
    if (key_block == nullptr) return bad("holds no PEM private key");
    auto key = parse_private_key_der(key_block->der);
    if (!key) return bad("private key: " + key.error().message);
    return std::move(*key);
}

Result<std::vector<X509Ptr>> load_certificates(const std::filesystem::path& file) {
    auto text = read_small_file(file, "certificate file");
    if (!text) return bad(text.error().message);
    return naming(file, certificates_from_pem(*text));
}

Result<EvpPkeyPtr> load_private_key(const std::filesystem::path& file) {
    auto text = read_small_file(file, "key file");
    if (!text) return bad(text.error().message);
    return naming(file, private_key_from_pem(*text));
}

Result<void> check_key_matches(const X509* certificate, const EVP_PKEY* key) {
    if (X509_check_private_key(certificate, key) != 1) {
        openssl_errors();  // drop OpenSSL's queue: the message says it all
        return bad("the private key does not match the certificate " +
                   name_to_string(X509_get_subject_name(certificate)));
    }
    return {};
}

}  // namespace estgw
