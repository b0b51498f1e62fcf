#include "certs/key_envelope.hpp"

#include <openssl/err.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <optional>
#include <sstream>

#include "certs/der_writer.hpp"
#include "common/keys.hpp"
#include "common/small_file.hpp"
#include "common/x509.hpp"

namespace estgw::certs {

namespace {

using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, OpensslDeleter<ASN1_OBJECT, ASN1_OBJECT_free>>;
inline void free_algorithms(X509_ALGORS* s) {
    sk_X509_ALGOR_pop_free(s, X509_ALGOR_free);
}
using AlgorithmsPtr = std::unique_ptr<X509_ALGORS, OpensslDeleter<X509_ALGORS, free_algorithms>>;

// Private key material passes through several buffers on its way into the envelope; each is wiped when the
// function that made it returns.
class Wiped {
  public:
    explicit Wiped(Bytes& bytes) : bytes_(bytes) {}
    ~Wiped() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }
    Wiped(const Wiped&) = delete;
    Wiped& operator=(const Wiped&) = delete;

  private:
    Bytes& bytes_;
};

// The content ciphers offered, weakest first (RFC 3565 AES-CBC for CMS). NULL and legacy ciphers are never
// chosen (RFC 7030 §6).
struct ContentCipher {
    int nid;
    int bits;
    const EVP_CIPHER* (*cipher)();
};
constexpr ContentCipher kContentCiphers[] = {
    {NID_aes_128_cbc, 128, EVP_aes_128_cbc},
    {NID_aes_192_cbc, 192, EVP_aes_192_cbc},
    {NID_aes_256_cbc, 256, EVP_aes_256_cbc},
};

// RFC 3394 AES key wrap, by key-encryption key size.
struct KeyWrap {
    std::size_t key_octets;
    int nid;
};
constexpr KeyWrap kKeyWraps[] = {
    {16, NID_id_aes128_wrap},
    {24, NID_id_aes192_wrap},
    {32, NID_id_aes256_wrap},
};

Error bad(std::string message) {
    return make_error(Status::BadRequest, "server-side key generation: " + std::move(message));
}

Error internal(std::string_view what) {
    return openssl_error(Status::Internal, "encrypted key response", what);
}

bool listed(const std::vector<int>& capabilities, int nid) {
    return std::find(capabilities.begin(), capabilities.end(), nid) != capabilities.end();
}

Asn1ObjectPtr object(const char* dotted) {
    return Asn1ObjectPtr(OBJ_txt2obj(dotted, 1));
}

// The value of a single-valued OCTET STRING attribute, or empty when the attribute is absent.
Result<std::optional<Bytes>> octet_string_attribute(const X509_REQ* csr, const char* oid,
                                                    std::string_view name) {
    const Asn1ObjectPtr type = object(oid);
    if (!type) return internal("attribute OID");
    const int index = X509_REQ_get_attr_by_OBJ(csr, type.get(), -1);
    if (index < 0) return std::optional<Bytes>{};
    if (X509_REQ_get_attr_by_OBJ(csr, type.get(), index) >= 0)
        return bad(std::string(name) + " appears twice");
    X509_ATTRIBUTE* attribute = X509_REQ_get_attr(csr, index);
    if (X509_ATTRIBUTE_count(attribute) != 1) return bad(std::string(name) + " must have exactly one value");
    const ASN1_TYPE* value = X509_ATTRIBUTE_get0_type(attribute, 0);
    if (ASN1_TYPE_get(value) != V_ASN1_OCTET_STRING)
        return bad(std::string(name) + " is not an OCTET STRING");
    const ASN1_STRING* octets = value->value.octet_string;
    if (ASN1_STRING_length(octets) <= 0) return bad(std::string(name) + " is empty");
    const unsigned char* data = ASN1_STRING_get0_data(octets);
    return std::optional<Bytes>(Bytes(data, data + ASN1_STRING_length(octets)));
}

// SMIMECapabilities (RFC 8551 §2.5.2) as NIDs; nullopt when the attribute is absent.
Result<std::optional<std::vector<int>>> smime_capabilities(const X509_REQ* csr) {
    const int index = X509_REQ_get_attr_by_NID(csr, NID_SMIMECapabilities, -1);
    if (index < 0) return std::optional<std::vector<int>>{};
    if (X509_REQ_get_attr_by_NID(csr, NID_SMIMECapabilities, index) >= 0) {
        return bad("SMIMECapabilities appears twice");
    }
    X509_ATTRIBUTE* attribute = X509_REQ_get_attr(csr, index);
    const ASN1_TYPE* value =
        X509_ATTRIBUTE_count(attribute) == 1 ? X509_ATTRIBUTE_get0_type(attribute, 0) : nullptr;
    if (value == nullptr || ASN1_TYPE_get(value) != V_ASN1_SEQUENCE) {
        return bad("SMIMECapabilities must be one SEQUENCE");
    }
    const ASN1_STRING* sequence = value->value.sequence;
    const ByteView der(ASN1_STRING_get0_data(sequence),
                       static_cast<std::size_t>(ASN1_STRING_length(sequence)));
    // SMIMECapability { capabilityID, parameters ANY OPTIONAL } has AlgorithmIdentifier's shape.
    ESTGW_TRY(algorithms, d2i_exactly<AlgorithmsPtr>(der, d2i_X509_ALGORS, "SMIMECapabilities"));
    std::vector<int> nids;
    for (int i = 0; i < sk_X509_ALGOR_num(algorithms.get()); ++i) {
        const ASN1_OBJECT* id = nullptr;
        X509_ALGOR_get0(&id, nullptr, nullptr, sk_X509_ALGOR_value(algorithms.get(), i));
        const int nid = OBJ_obj2nid(id);
        if (nid != NID_undef) nids.push_back(nid);
    }
    return std::optional<std::vector<int>>(std::move(nids));
}

// The AES-CBC the client accepts that best matches `strength_bits`: the weakest one at least that strong,
// else the strongest it lists.
Result<const EVP_CIPHER*> content_cipher(const std::vector<int>& capabilities, int strength_bits) {
    const ContentCipher* chosen = nullptr;
    for (const ContentCipher& row : kContentCiphers) {
        if (!listed(capabilities, row.nid)) continue;
        chosen = &row;
        if (row.bits >= strength_bits) break;
    }
    if (chosen == nullptr) {
        return bad(
            "SMIMECapabilities lists no content encryption algorithm this server uses "
            "(aes128-CBC, aes192-CBC, aes256-CBC)");
    }
    return chosen->cipher();
}

// The inner layer of the EnvelopedData, which it names as its content type.
Result<Bytes> finish_envelope(CMS_ContentInfo* cms, ByteView signed_data) {
    if (CMS_set1_eContentType(cms, OBJ_nid2obj(NID_pkcs7_signed)) != 1) return internal("content type");
    // CMS_EnvelopedData_create leaves the content detached (CMS_encrypt attaches it the same way).
    if (CMS_set_detached(cms, 0) != 1) return internal("attach content");
    BioPtr in(BIO_new_mem_buf(signed_data.data(), static_cast<int>(signed_data.size())));
    if (!in || CMS_final(cms, in.get(), nullptr, CMS_BINARY) != 1) return internal("CMS_final");
    return i2d_bytes(cms, i2d_CMS_ContentInfo);
}

// RFC 7030 §4.4.1.1: the shared key named by DecryptKeyIdentifier, and a wrap and cipher the client takes.
Result<KeyProtectionPlan> resolve_symmetric(const KeyProtectionRequest& request, const EnvelopeKeys& keys) {
    const std::string named = "DecryptKeyIdentifier " + to_hex(request.key_identifier);
    if (keys.symmetric.empty()) {
        return bad("the CSR asks for a key encrypted to " + named +
                   ", but this server shares no symmetric keys with clients");
    }
    const auto found = std::find_if(keys.symmetric.begin(), keys.symmetric.end(),
                                    [&](const SymmetricKey& k) { return k.id == request.key_identifier; });
    if (found == keys.symmetric.end()) return bad("no shared key with " + named);
    const auto wrap = std::find_if(std::begin(kKeyWraps), std::end(kKeyWraps),
                                   [&](const KeyWrap& w) { return w.key_octets == found->key.size(); });
    if (wrap == std::end(kKeyWraps)) return make_error(Status::Internal, "shared key of unusable size");
    const bool lists_wraps = std::any_of(std::begin(kKeyWraps), std::end(kKeyWraps), [&](const KeyWrap& w) {
        return listed(request.capabilities, w.nid);
    });
    if (lists_wraps && !listed(request.capabilities, wrap->nid)) {
        return bad(std::string("the shared key needs ") + OBJ_nid2sn(wrap->nid) +
                   ", which SMIMECapabilities does not list");
    }
    ESTGW_TRY(cipher, content_cipher(request.capabilities, static_cast<int>(found->key.size() * 8)));
    KeyProtectionPlan plan;
    plan.kind = KeyProtection::Symmetric;
    plan.content_cipher = cipher;
    plan.shared_key = &*found;
    return plan;
}

// RFC 7030 §4.4.1.2: the candidate certificate whose subjectKeyIdentifier the CSR names.
Result<KeyProtectionPlan> resolve_asymmetric(const KeyProtectionRequest& request, const EnvelopeKeys& keys) {
    X509Ptr recipient;
    for (const X509* cert : keys.recipient_certificates) {
        if (cert == nullptr) continue;
        // OpenSSL 3.0 takes a non-const certificate here (it may fill the extension cache, already filled).
        const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(const_cast<X509*>(cert));
        if (ski == nullptr) continue;
        const ByteView id(ASN1_STRING_get0_data(ski), static_cast<std::size_t>(ASN1_STRING_length(ski)));
        if (std::equal(id.begin(), id.end(), request.key_identifier.begin(), request.key_identifier.end()) &&
            X509_up_ref(const_cast<X509*>(cert)) == 1) {
            recipient.reset(const_cast<X509*>(cert));
            break;
        }
    }
    ERR_clear_error();
    if (!recipient) {
        return bad("no certificate with subjectKeyIdentifier " + to_hex(request.key_identifier) + " among " +
                   std::to_string(keys.recipient_certificates.size()) + " candidate(s)");
    }
    const EVP_PKEY* public_key = X509_get0_pubkey(recipient.get());
    const bool rsa = public_key != nullptr && EVP_PKEY_get_base_id(public_key) == EVP_PKEY_RSA;
    const bool ec = public_key != nullptr && EVP_PKEY_is_a(public_key, "EC");
    if (!rsa && !ec) {
        return bad("the certificate named by AsymmetricDecryptKeyIdentifier has a " +
                   key_description(public_key) +
                   " key; only RSA (ktri) and EC (kari) recipients are supported");
    }
    ESTGW_TRY(cipher, content_cipher(request.capabilities, EVP_PKEY_get_security_bits(public_key)));
    KeyProtectionPlan plan;
    plan.kind = KeyProtection::Asymmetric;
    plan.content_cipher = cipher;
    plan.recipient = std::move(recipient);
    plan.oaep = rsa && listed(request.capabilities, NID_rsaesOaep);
    return plan;
}

Result<Bytes> envelope_for_symmetric_key(ByteView signed_data, const KeyProtectionPlan& plan) {
    const SymmetricKey& shared = *plan.shared_key;
    CmsPtr cms(CMS_EnvelopedData_create(plan.content_cipher));
    if (!cms) return internal("EnvelopedData");
    // CMS_add0_recipient_key takes ownership of both buffers (OpenSSL-allocated) only when it succeeds.
    OpensslMallocPtr<unsigned char> key(
        static_cast<unsigned char*>(OPENSSL_memdup(shared.key.data(), shared.key.size())));
    OpensslMallocPtr<unsigned char> id(
        static_cast<unsigned char*>(OPENSSL_memdup(shared.id.data(), shared.id.size())));
    if (!key || !id) return internal("out of memory");
    // NID_undef: OpenSSL picks the AES key wrap by key size, the one resolve_symmetric checked.
    CMS_RecipientInfo* recipient =
        CMS_add0_recipient_key(cms.get(), NID_undef, key.get(), shared.key.size(), id.get(), shared.id.size(),
                               nullptr, nullptr, nullptr);
    if (recipient == nullptr) return internal("KEKRecipientInfo");
    key.release();
    id.release();
    return finish_envelope(cms.get(), signed_data);
}

Result<Bytes> envelope_for_certificate(ByteView signed_data, const KeyProtectionPlan& plan) {
    const bool rsa = EVP_PKEY_get_base_id(X509_get0_pubkey(plan.recipient.get())) == EVP_PKEY_RSA;
    CmsPtr cms(CMS_EnvelopedData_create(plan.content_cipher));
    if (!cms) return internal("EnvelopedData");
    // rid = subjectKeyIdentifier, the identifier the client sent (RFC 7030 §4.4.2).
    const unsigned int flags = CMS_USE_KEYID | (plan.oaep ? CMS_KEY_PARAM : 0);
    CMS_RecipientInfo* info = CMS_add1_recipient_cert(cms.get(), plan.recipient.get(), flags);
    if (info == nullptr) return internal(rsa ? "KeyTransRecipientInfo" : "KeyAgreeRecipientInfo");
    if (plan.oaep &&
        EVP_PKEY_CTX_set_rsa_padding(CMS_RecipientInfo_get0_pkey_ctx(info), RSA_PKCS1_OAEP_PADDING) <= 0) {
        return internal("RSAES-OAEP");
    }
    return finish_envelope(cms.get(), signed_data);
}

}  // namespace

Result<std::vector<SymmetricKey>> parse_symmetric_keys(std::string_view text) {
    std::vector<SymmetricKey> keys;
    std::istringstream lines{std::string(text)};
    std::string line;
    for (int number = 1; std::getline(lines, line); ++number) {
        const std::string where = "key table line " + std::to_string(number);
        line = line.substr(0, line.find('#'));
        std::istringstream fields(line);
        std::string id_hex;
        std::string key_hex;
        std::string extra;
        if (!(fields >> id_hex)) continue;
        if (!(fields >> key_hex) || (fields >> extra)) {
            return make_error(Status::BadRequest, where + ": expected '<id-hex> <key-hex>'");
        }
        SymmetricKey entry;
        if (!from_hex(id_hex, entry.id) || entry.id.empty()) {
            return make_error(Status::BadRequest, where + ": the id is not hex");
        }
        if (!from_hex(key_hex, entry.key))
            return make_error(Status::BadRequest, where + ": the key is not hex");
        if (entry.key.size() != 16 && entry.key.size() != 24 && entry.key.size() != 32) {
            OPENSSL_cleanse(entry.key.data(), entry.key.size());
            return make_error(Status::BadRequest, where + ": the key must be 16, 24 or 32 octets (AES)");
        }
        if (std::any_of(keys.begin(), keys.end(), [&](const SymmetricKey& k) { return k.id == entry.id; })) {
            return make_error(Status::BadRequest, where + ": id " + id_hex + " appears twice");
        }
        keys.push_back(std::move(entry));
    }
    OPENSSL_cleanse(line.data(), line.size());
    return keys;
}

Result<std::vector<SymmetricKey>> load_symmetric_keys(const std::filesystem::path& file) {
    ESTGW_TRY(text, read_small_file(file, "key table"));
    auto keys = parse_symmetric_keys(text);
    OPENSSL_cleanse(text.data(), text.size());
    if (!keys) return make_error(keys.error().status, file.string() + ": " + keys.error().message);
    return keys;
}

Result<KeyProtectionRequest> requested_key_protection(const X509_REQ* csr) {
    if (csr == nullptr) return make_error(Status::Internal, "requested_key_protection: no CSR");
    ESTGW_TRY(symmetric, octet_string_attribute(csr, kOidDecryptKeyIdentifier, "DecryptKeyIdentifier"));
    ESTGW_TRY(asymmetric, octet_string_attribute(csr, kOidAsymmetricDecryptKeyIdentifier,
                                                 "AsymmetricDecryptKeyIdentifier"));
    ESTGW_TRY(capabilities, smime_capabilities(csr));
    KeyProtectionRequest request;
    if (!symmetric && !asymmetric) return request;
    if (symmetric && asymmetric) {
        return bad("the CSR carries both DecryptKeyIdentifier and AsymmetricDecryptKeyIdentifier");
    }
    if (!capabilities) {
        return bad(
            "a decrypt key identifier needs SMIMECapabilities in the CSR (RFC 7030 §4.4.1.1, §4.4.1.2)");
    }
    request.kind = symmetric ? KeyProtection::Symmetric : KeyProtection::Asymmetric;
    request.key_identifier = symmetric ? std::move(*symmetric) : std::move(*asymmetric);
    request.capabilities = std::move(*capabilities);
    return request;
}

Result<Bytes> sign_key_package(ByteView pkcs8, const IssuingCa& signer) {
    // AsymmetricKeyPackage ::= SEQUENCE SIZE (1..MAX) OF OneAsymmetricKey; PKCS#8 PrivateKeyInfo is the
    // version-1 OneAsymmetricKey (RFC 5958 §2).
    Bytes package = der::tlv(der::kSequence, pkcs8);
    const Wiped wipe_package(package);
    const Asn1ObjectPtr content_type = object(kOidAsymmetricKeyPackage);
    CmsPtr cms(CMS_sign(nullptr, nullptr, nullptr, nullptr, CMS_PARTIAL | CMS_BINARY));
    if (!content_type || !cms || CMS_set1_eContentType(cms.get(), content_type.get()) != 1) {
        return internal("SignedData");
    }
    // CMS_add1_signer takes references to the CA certificate and key; neither is modified.
    auto* cert = const_cast<X509*>(signer.certificate());
    auto* key = const_cast<EVP_PKEY*>(signer.private_key());
    if (CMS_add1_signer(cms.get(), cert, key, nullptr, CMS_BINARY | CMS_NOSMIMECAP) == nullptr) {
        return internal("SignerInfo");
    }
    BioPtr in(BIO_new_mem_buf(package.data(), static_cast<int>(package.size())));
    if (!in || CMS_final(cms.get(), in.get(), nullptr, CMS_BINARY) != 1)
        return internal("signing the key package");
    return i2d_bytes(cms.get(), i2d_CMS_ContentInfo);
}

Result<KeyProtectionPlan> resolve_key_protection(const X509_REQ* csr, const EnvelopeKeys& keys) {
    ESTGW_TRY(request, requested_key_protection(csr));
    switch (request.kind) {
        case KeyProtection::None:
            return KeyProtectionPlan{};
        case KeyProtection::Symmetric:
            return resolve_symmetric(request, keys);
        case KeyProtection::Asymmetric:
            return resolve_asymmetric(request, keys);
    }
    return make_error(Status::Internal, "unknown key protection");
}

Result<Bytes> envelope_private_key(ByteView pkcs8, const KeyProtectionPlan& plan, const IssuingCa& signer) {
    if (plan.kind == KeyProtection::None) return make_error(Status::Internal, "no key protection requested");
    ESTGW_TRY(signed_data, sign_key_package(pkcs8, signer));
    const Wiped wipe_signed(signed_data);
    return plan.kind == KeyProtection::Symmetric ? envelope_for_symmetric_key(signed_data, plan)
                                                 : envelope_for_certificate(signed_data, plan);
}

Result<ServerKeyPart> server_key_part(const KeyProtectionPlan& plan, const EVP_PKEY* key,
                                      const IssuingCa& signer) {
    ESTGW_TRY(pkcs8, private_key_to_pkcs8_der(key));
    if (plan.kind == KeyProtection::None) return ServerKeyPart{ContentFormat::Pkcs8, std::move(pkcs8)};
    const Wiped wipe_pkcs8(pkcs8);
    ESTGW_TRY(envelope, envelope_private_key(pkcs8, plan, signer));
    return ServerKeyPart{ContentFormat::ServerGeneratedKey, std::move(envelope)};
}

}  // namespace estgw::certs
