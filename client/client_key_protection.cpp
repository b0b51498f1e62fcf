#include "client/client_key_protection.hpp"

#include <openssl/err.h>

#include <algorithm>

#include "common/keys.hpp"
#include "common/x509.hpp"

namespace po = boost::program_options;

namespace estgw::client {

namespace {

inline void free_algorithms(X509_ALGORS* s) {
    sk_X509_ALGOR_pop_free(s, X509_ALGOR_free);
}
using AlgorithmsPtr = std::unique_ptr<X509_ALGORS, OpensslDeleter<X509_ALGORS, free_algorithms>>;

constexpr const char* kOidSmimeCapabilities = "1.2.840.113549.1.9.15";  // RFC 8551 §2.5.2

// The content ciphers the server may choose (certs/key_envelope.cpp), strongest first: RFC 8551 §2.5.2 lists
// capabilities in order of preference. We decrypt any of them.
constexpr int kContentCiphers[] = {NID_aes_256_cbc, NID_aes_192_cbc, NID_aes_128_cbc};

// RFC 3394 AES key wrap for a shared key of that many octets.
int key_wrap_for(std::size_t key_octets) {
    switch (key_octets) {
        case 16:
            return NID_id_aes128_wrap;
        case 24:
            return NID_id_aes192_wrap;
        default:
            return NID_id_aes256_wrap;
    }
}

Error usage(std::string message) {
    return make_error(Status::BadRequest, std::move(message));
}

// Decrypted key material passes through these buffers; each is wiped when its owner goes.
struct SecretBytes {
    Bytes bytes;
    ~SecretBytes() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

// A memory BIO that clears its buffer when freed, for the decrypted layers.
BioPtr secret_sink() {
    return BioPtr(BIO_new(BIO_s_secmem()));
}

Bytes drained(BIO* bio) {
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio, &data);
    if (length <= 0 || data == nullptr) return {};
    return Bytes(data, data + length);
}

std::string dotted_oid(const ASN1_OBJECT* object) {
    char text[80];
    OBJ_obj2txt(text, sizeof text, object, 1);
    return text;
}

// The keys of a --kek-file, wiped when the one used has been copied out.
struct SharedKeyTable {
    std::vector<certs::SymmetricKey> keys;
    ~SharedKeyTable() {
        for (certs::SymmetricKey& key : keys)
            OPENSSL_cleanse(key.key.data(), key.key.size());
    }
};

Result<certs::SymmetricKey> pick_shared_key(const po::variables_map& vm, const std::string& file) {
    auto loaded = certs::load_symmetric_keys(file);
    if (!loaded) return usage("--kek-file: " + loaded.error().message);
    const SharedKeyTable table{std::move(*loaded)};
    if (!vm.count("kek-id")) {
        if (table.keys.size() == 1) return table.keys.front();
        return usage("--kek-file " + file + " holds " + std::to_string(table.keys.size()) +
                     " keys: name one with --kek-id");
    }
    const std::string id_hex = vm["kek-id"].as<std::string>();
    Bytes id;
    if (!from_hex(id_hex, id) || id.empty()) return usage("--kek-id: '" + id_hex + "' is not hex");
    const auto found = std::find_if(table.keys.begin(), table.keys.end(),
                                    [&](const certs::SymmetricKey& k) { return k.id == id; });
    if (found == table.keys.end()) return usage("--kek-id: " + id_hex + " is not in --kek-file " + file);
    return *found;
}

Result<ClientKeyProtection> read_shared_key(const po::variables_map& vm) {
    ClientKeyProtection out;
    const std::string file = vm["kek-file"].as<std::string>();
    ESTGW_TRY(key, pick_shared_key(vm, file));
    out.kind = certs::KeyProtection::Symmetric;
    out.source = "--kek-file " + file + " (key id " + to_hex(key.id) + ")";
    out.shared_key = std::move(key);
    return out;
}

// RFC 7030 §4.4.1.2: the server encrypts to the certificate whose subjectKeyIdentifier the CSR names, found
// among the certificates it knows for this client: the one we authenticate the DTLS session with.
Result<ClientKeyProtection> read_own_certificate(const std::string& cert_file, const std::string& key_file) {
    ClientKeyProtection out;
    ESTGW_TRY(cert, read_certificate_file(cert_file));
    ESTGW_TRY(key, read_private_key_file(key_file));
    if (X509_get0_subject_key_id(cert.get()) == nullptr) {
        ERR_clear_error();
        return usage("--encrypt-to-cert: --cert " + cert_file +
                     " has no subjectKeyIdentifier, which the request must name (RFC 7030 §4.4.1.2)");
    }
    const bool rsa = EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_RSA;
    if (!rsa && !EVP_PKEY_is_a(key.get(), "EC")) {
        return usage("--encrypt-to-cert: a key can be encrypted to an RSA or EC certificate only; --key " +
                     key_file + " is " + key_description(key.get()));
    }
    out.kind = certs::KeyProtection::Asymmetric;
    out.source = "--encrypt-to-cert (--key " + key_file + ")";
    out.certificate = std::move(cert);
    out.private_key = std::move(key);
    return out;
}

Result<CsrAttribute> smime_capabilities(const std::vector<int>& nids) {
    AlgorithmsPtr capabilities(sk_X509_ALGOR_new_null());
    if (!capabilities) return openssl_error(Status::Internal, "SMIMECapabilities", "out of memory");
    for (int nid : nids) {
        if (PKCS7_simple_smimecap(capabilities.get(), nid, 0) != 1)
            return openssl_error(Status::Internal, "SMIMECapabilities", OBJ_nid2sn(nid));
    }
    ESTGW_TRY(der, i2d_bytes(capabilities.get(), i2d_X509_ALGORS));
    return CsrAttribute{kOidSmimeCapabilities, V_ASN1_SEQUENCE, std::move(der)};
}

// Decrypts the EnvelopedData with what `protection` holds; the content, a SignedData, as DER.
Result<Bytes> decrypt_envelope(CMS_ContentInfo* envelope, const ClientKeyProtection& protection) {
    BioPtr out = secret_sink();
    if (!out) return openssl_error(Status::Internal, "encrypted key", "BIO");
    bool decrypted = false;
    if (protection.kind == certs::KeyProtection::Symmetric) {
        // OpenSSL takes non-const buffers here; it copies both.
        SecretBytes key{protection.shared_key.key};
        Bytes id = protection.shared_key.id;
        decrypted =
            CMS_decrypt_set1_key(envelope, key.bytes.data(), key.bytes.size(), id.data(), id.size()) == 1 &&
            CMS_decrypt(envelope, nullptr, nullptr, nullptr, out.get(), CMS_BINARY) == 1;
    } else {
        decrypted = CMS_decrypt(envelope, protection.private_key.get(), protection.certificate.get(), nullptr,
                                out.get(), CMS_BINARY) == 1;
    }
    if (!decrypted) {
        return openssl_error(Status::BadRequest, "the server-generated key",
                             "cannot decrypt it with " + protection.source);
    }
    return drained(out.get());
}

// RFC 5958 §3: AsymmetricKeyPackage ::= SEQUENCE SIZE (1..MAX) OF OneAsymmetricKey. A package of several
// keys is refused: the answer certifies one.
Result<EvpPkeyPtr> key_from_package(ByteView package) {
    if (auto framed = require_single_der_object(package, "AsymmetricKeyPackage"); !framed)
        return framed.error();
    ESTGW_TRY(header, read_der_header(package));
    DerReader keys(package.subspan(header.header_length), "AsymmetricKeyPackage");
    ESTGW_TRY(key, keys.next_element("OneAsymmetricKey"));
    if (key.tag != 0x30) return keys.error("OneAsymmetricKey is not a SEQUENCE");
    if (auto end = keys.end("a second key"); !end) return end.error();
    return parse_private_key_der(key.whole);
}

// RFC 7030 §4.4.2: the decrypted content is a SignedData over the key package.
Result<EvpPkeyPtr> key_from_signed_data(ByteView signed_der) {
    ESTGW_TRY(cms, d2i_exactly<CmsPtr>(signed_der, d2i_CMS_ContentInfo, "the decrypted key's SignedData"));
    if (OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_pkcs7_signed)
        return make_error(Status::BadRequest, "the decrypted key is not in a SignedData");
    const std::string content_type = dotted_oid(CMS_get0_eContentType(cms.get()));
    if (content_type != certs::kOidAsymmetricKeyPackage) {
        return make_error(Status::BadRequest,
                          "the decrypted SignedData holds " + content_type + ", not an AsymmetricKeyPackage");
    }
    BioPtr out = secret_sink();
    if (!out) return openssl_error(Status::Internal, "encrypted key", "BIO");
    // The signer is not chained to a trust anchor: the answer comes over a DTLS session with a server
    // --ca authenticated, and an RFC 7030 server may sign with its own certificate rather than the CA's.
    if (CMS_verify(cms.get(), nullptr, nullptr, nullptr, out.get(), CMS_NO_SIGNER_CERT_VERIFY | CMS_BINARY) !=
        1)
        return openssl_error(Status::BadRequest, "the decrypted key's SignedData",
                             "signature does not verify");
    SecretBytes package{drained(out.get())};
    return key_from_package(package.bytes);
}

}  // namespace

ClientKeyProtection::~ClientKeyProtection() {
    OPENSSL_cleanse(shared_key.key.data(), shared_key.key.size());
}

void add_key_protection_options(po::options_description& desc) {
    // clang-format off
    desc.add_options()
        ("kek-file", po::value<std::string>(),
         "skg, skc: ask for the key encrypted to a shared AES key from this file (lines '<id-hex> <key-hex>', "
         "as the server's --kek-file) and decrypt it into key.pem")
        ("kek-id", po::value<std::string>(), "the id (hex) of the --kek-file key to use; needed when it holds several")
        ("encrypt-to-cert", po::bool_switch(),
         "skg, skc: ask for the key encrypted to --cert (its subjectKeyIdentifier; RSA or EC) and decrypt it "
         "with --key into key.pem");
    // clang-format on
}

Result<ClientKeyProtection> read_key_protection_options(const po::variables_map& vm, Operation op,
                                                        bool csr_given, const std::string& cert_file,
                                                        const std::string& key_file) {
    const bool kek = vm.count("kek-file") != 0;
    const bool to_cert = vm.count("encrypt-to-cert") != 0 && vm["encrypt-to-cert"].as<bool>();
    if (vm.count("kek-id") && !kek) return usage("--kek-id names a key of --kek-file, which is missing");
    if (!kek && !to_cert) return ClientKeyProtection{};
    if (op != Operation::ServerKeyGen && op != Operation::ServerKeyGenCert)
        return usage("--kek-file and --encrypt-to-cert are for skg and skc");
    if (kek && to_cert) return usage("--kek-file and --encrypt-to-cert exclude each other");
    if (csr_given) {
        return usage(
            "--kek-file and --encrypt-to-cert ask for the encryption in the CSR estgw builds; they exclude "
            "--csr");
    }
    return kek ? read_shared_key(vm) : read_own_certificate(cert_file, key_file);
}

Result<std::vector<CsrAttribute>> key_protection_attributes(const ClientKeyProtection& protection) {
    std::vector<int> capabilities(std::begin(kContentCiphers), std::end(kContentCiphers));
    std::vector<CsrAttribute> attributes;
    switch (protection.kind) {
        case certs::KeyProtection::None:
            return attributes;
        case certs::KeyProtection::Symmetric:
            attributes.push_back(
                {certs::kOidDecryptKeyIdentifier, V_ASN1_OCTET_STRING, protection.shared_key.id});
            // The server refuses (naming it) a shared key whose size needs a wrap not listed: a mismatch of
            // the two key files then fails before a key is generated.
            capabilities.push_back(key_wrap_for(protection.shared_key.key.size()));
            break;
        case certs::KeyProtection::Asymmetric: {
            const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(protection.certificate.get());
            attributes.push_back(
                {certs::kOidAsymmetricDecryptKeyIdentifier, V_ASN1_OCTET_STRING,
                 Bytes(ASN1_STRING_get0_data(ski), ASN1_STRING_get0_data(ski) + ASN1_STRING_length(ski))});
            // RSAES-OAEP rather than PKCS #1 v1.5 for an RSA certificate; EC uses ECDH key agreement (kari).
            if (EVP_PKEY_get_base_id(protection.private_key.get()) == EVP_PKEY_RSA)
                capabilities.push_back(NID_rsaesOaep);
            break;
        }
    }
    ESTGW_TRY(listed, smime_capabilities(capabilities));
    attributes.push_back(std::move(listed));
    return attributes;
}

Result<EvpPkeyPtr> open_server_generated_key(ByteView enveloped_data, const ClientKeyProtection& protection) {
    const auto naming = [&](const Error& error) {
        return make_error(error.status, error.message + " (" + protection.source + ")");
    };
    auto envelope = d2i_exactly<CmsPtr>(enveloped_data, d2i_CMS_ContentInfo, "the encrypted key");
    if (!envelope) return naming(envelope.error());
    if (OBJ_obj2nid(CMS_get0_type(envelope->get())) != NID_pkcs7_enveloped)
        return naming(make_error(Status::BadRequest, "the encrypted key is not a CMS EnvelopedData"));
    auto decrypted = decrypt_envelope(envelope->get(), protection);
    if (!decrypted) return decrypted.error();
    SecretBytes signed_data{std::move(*decrypted)};
    auto key = key_from_signed_data(signed_data.bytes);
    if (!key) return naming(key.error());
    return key;
}

unsigned block_size_for_encrypted_key(std::optional<unsigned> wanted, std::size_t body_size) {
    unsigned size = wanted.value_or(1024);
    while (size > 16 && size >= body_size)
        size /= 2;
    return size;
}

}  // namespace estgw::client
