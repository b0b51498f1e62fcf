#include "client/client_csr.hpp"

#include <openssl/objects.h>

#include <algorithm>
#include <array>
#include <vector>

#include "common/keys.hpp"
#include "common/pem.hpp"
#include "common/pem_file.hpp"
#include "common/small_file.hpp"
#include "common/x509.hpp"

namespace estgw::client {

namespace {

struct NamedKeyType {
    std::string_view name;
    certs::KeyType type;
};

// The key types a pledge is likely to hold; the server's --key-types decides which it certifies.
constexpr std::array kKeyTypeTable = {
    NamedKeyType{"p256", {certs::KeyAlgorithm::P256, 0}},
    NamedKeyType{"p384", {certs::KeyAlgorithm::P384, 0}},
    NamedKeyType{"ed25519", {certs::KeyAlgorithm::Ed25519, 0}},
    NamedKeyType{"rsa2048", {certs::KeyAlgorithm::Rsa, 2048}},
};

std::string_view trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ')
        s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ')
        s.remove_suffix(1);
    return s;
}

// "CN=a,O=b" → {"CN=a", "O=b"} honouring "\,"; "/O=b/CN=a" → {"O=b", "CN=a"}.
std::vector<std::string> split_attributes(std::string_view text, bool& openssl_order) {
    std::vector<std::string> pieces;
    openssl_order = text.starts_with('/');
    if (openssl_order) text.remove_prefix(1);
    const char separator = openssl_order ? '/' : ',';
    std::string current;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) {
            current += text[++i];
        } else if (text[i] == separator) {
            pieces.push_back(std::move(current));
            current.clear();
        } else {
            current += text[i];
        }
    }
    pieces.push_back(std::move(current));
    return pieces;
}

}  // namespace

std::optional<certs::KeyType> client_key_type(std::string_view name) {
    for (const auto& k : kKeyTypeTable) {
        if (k.name == name) return k.type;
    }
    return std::nullopt;
}

Result<X509NamePtr> parse_subject(std::string_view text) {
    if (trim(text).empty()) return make_error(Status::BadRequest, "empty subject");
    bool openssl_order = false;
    std::vector<std::string> pieces = split_attributes(trim(text), openssl_order);
    // RFC 4514 writes the last RDN of the sequence first.
    if (!openssl_order) std::reverse(pieces.begin(), pieces.end());
    X509NamePtr name(X509_NAME_new());
    if (!name) return openssl_error(Status::Internal, "subject", "X509_NAME_new");
    for (const auto& piece : pieces) {
        auto equals = piece.find('=');
        if (equals == std::string::npos)
            return make_error(Status::BadRequest, "subject: '" + piece + "' is not TYPE=value");
        std::string type(trim(std::string_view(piece).substr(0, equals)));
        std::string value(trim(std::string_view(piece).substr(equals + 1)));
        if (value.empty()) return make_error(Status::BadRequest, "subject: " + type + " has no value");
        if (OBJ_txt2nid(type.c_str()) == NID_undef)
            return make_error(Status::BadRequest, "subject: unknown attribute type '" + type + "'");
        if (X509_NAME_add_entry_by_txt(name.get(), type.c_str(), MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0) != 1)
            return openssl_error(Status::BadRequest, "subject", "bad value for " + type);
    }
    return name;
}

Result<Bytes> build_csr(EVP_PKEY* key, const X509_NAME* subject, const X509_EXTENSION* san,
                        const std::vector<CsrAttribute>& attributes) {
    X509ReqPtr csr(X509_REQ_new());
    if (!csr || X509_REQ_set_version(csr.get(), 0) != 1 ||
        X509_REQ_set_subject_name(csr.get(), subject) != 1 || X509_REQ_set_pubkey(csr.get(), key) != 1)
        return openssl_error(Status::Internal, "CSR", "cannot fill the request");
    if (san) {
        X509ExtensionStackPtr extensions(sk_X509_EXTENSION_new_null());
        X509ExtensionPtr copy(X509_EXTENSION_dup(san));
        if (!extensions || !copy || !sk_X509_EXTENSION_push(extensions.get(), copy.get()))
            return openssl_error(Status::Internal, "CSR", "subjectAltName");
        copy.release();  // owned by the stack now
        if (X509_REQ_add_extensions(csr.get(), extensions.get()) != 1)
            return openssl_error(Status::Internal, "CSR", "extensionRequest");
    }
    for (const CsrAttribute& attribute : attributes) {
        if (X509_REQ_add1_attr_by_txt(csr.get(), attribute.oid.c_str(), attribute.asn1_type,
                                      attribute.value.data(), static_cast<int>(attribute.value.size())) != 1)
            return openssl_error(Status::Internal, "CSR", "attribute " + attribute.oid);
    }
    if (X509_REQ_sign(csr.get(), key, signature_digest(key)) <= 0)
        return openssl_error(Status::Internal, "CSR", "signing failed");
    return csr_to_der(csr.get());
}

const X509_EXTENSION* subject_alt_name(const X509* cert) {
    int index = X509_get_ext_by_NID(cert, NID_subject_alt_name, -1);
    return index < 0 ? nullptr : X509_get_ext(cert, index);
}

Result<X509Ptr> read_certificate_file(const std::string& path) {
    ESTGW_TRY(certificates, load_certificates(path));
    return std::move(certificates.front());
}

Result<EvpPkeyPtr> read_private_key_file(const std::string& path) {
    return load_private_key(path);
}

Result<Bytes> read_csr_file(const std::string& path) {
    ESTGW_TRY(text, read_small_file(path, "CSR"));
    Bytes der = to_bytes(text);
    if (der.empty() || der[0] != 0x30) {  // not DER: PEM
        ESTGW_TRY(blocks, pem_decode_all(text));
        if (blocks.size() != 1)
            return make_error(Status::BadRequest, path + ": expected one CERTIFICATE REQUEST");
        der = std::move(blocks[0].der);
    }
    ESTGW_TRY(csr, parse_csr_der(der));
    return der;
}

}  // namespace estgw::client
