#include "common/cose.hpp"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "common/keys.hpp"

namespace estgw::cose {
namespace {

// Tag, envelope array, header map, x5bag array: four levels are all a COSE_Sign1 of ours needs. The rest is
// room for header values other peers put in the unprotected map; anything deeper is a depth bomb.
constexpr cbor::DecodeLimits kLimits{.max_depth = 16, .allow_indefinite = true};

constexpr std::size_t kEs256HalfSize = 32;
constexpr std::size_t kSignatureSize = 64;  // ES256 r‖s (RFC 9053 §2.1) and Ed25519 (RFC 8032 §5.1.6)

enum class KeyKind { P256, Ed25519, Other };

struct AlgorithmInfo {
    std::int64_t alg;
    KeyKind key;
    std::string_view name;
    std::string_view key_name;
};

// RFC 9053 §2.1-2.2 and RFC 9864 §2; the first entry for a key kind is the one sign1 emits.
constexpr AlgorithmInfo kAlgorithms[] = {
    // alg  key               name       key it needs
    {-7, KeyKind::P256, "ES256", "a P-256 EC key"},
    {-8, KeyKind::Ed25519, "EdDSA", "an Ed25519 key"},
    {-19, KeyKind::Ed25519, "Ed25519", "an Ed25519 key"},
};

// Labels a crit (RFC 9052 §3.1) may name here: those of RFC 9052 itself (1 alg ... 6 Partial IV, which
// "should be understood by all implementations" and none of which changes how a Sign1 verifies) and
// x5bag/x5chain (RFC 9360), which we process. Anything else a signer declared critical is refused.
constexpr std::int64_t kUnderstoodLabels[] = {1, 2, 3, 4, 5, 6, kHeaderX5Bag, kHeaderX5Chain};

Error malformed(std::string what) {
    return make_error(Status::BadRequest, "COSE_Sign1: " + std::move(what));
}

std::string_view kind_of(const cbor::Value& v) {
    if (v.is_uint() || v.is_negative()) return "an integer";
    if (v.is_bytes()) return "a byte string";
    if (v.is_text()) return "a text string";
    if (v.is_array()) return "an array";
    if (v.is_map()) return "a map";
    if (v.is_tag()) return "a tagged item";
    if (v.is_bool()) return "a boolean";
    return "null";
}

bool is_label(const cbor::Value& key, std::int64_t label) {
    return key.to_int64() == label;
}

bool is_certificate_label(const cbor::Value& key) {
    return is_label(key, kHeaderX5Bag) || is_label(key, kHeaderX5Chain);
}

// COSE_X509 = bstr / [+bstr] (RFC 9360 §2 asks for two or more in an array; cBRSKI's MASA example sends an
// array of one, BRSKI.md D4, so one is accepted; none is not a certificate bag).
Result<void> check_certificates(const cbor::Value& label, const cbor::Value& value) {
    if (value.is_bytes()) return {};
    const std::string name = "header " + cbor::diagnostic(label);
    if (!value.is_array())
        return malformed(name + " is " + std::string(kind_of(value)) + ", not a bstr or array");
    if (value.as_array().empty()) return malformed(name + " is an empty array");
    for (const auto& cert : value.as_array()) {
        if (!cert.is_bytes()) {
            return malformed(name + " holds " + std::string(kind_of(cert)) +
                             " where a certificate bstr belongs");
        }
    }
    return {};
}

Result<void> check_crit(const cbor::Value& value) {
    if (!value.is_array() || value.as_array().empty()) {
        return malformed("crit (2) must be a non-empty array (RFC 9052 §3.1)");
    }
    for (const auto& entry : value.as_array()) {
        const auto label = entry.to_int64();
        if (!label && !entry.is_text()) return malformed("crit (2) lists " + std::string(kind_of(entry)));
        const bool understood = label && std::find(std::begin(kUnderstoodLabels), std::end(kUnderstoodLabels),
                                                   *label) != std::end(kUnderstoodLabels);
        if (!understood)
            return malformed("critical header " + cbor::diagnostic(entry) + " is not understood");
    }
    return {};
}

// The header rules that decoding and signing share (RFC 9052 §3, §3.1; RFC 9360 §2).
Result<void> check_headers(const cbor::Map& protected_map, const cbor::Map& unprotected) {
    for (const cbor::Map* bucket : {&protected_map, &unprotected}) {
        const bool is_protected = bucket == &protected_map;
        for (const auto& [key, value] : *bucket) {
            if (!key.to_int64() && !key.is_text()) {
                return malformed("header label " + cbor::diagnostic(key) + " is neither an int nor a tstr");
            }
            if (is_label(key, kHeaderAlg) && !value.to_int64() && !value.is_text()) {
                return malformed("alg (1) is " + std::string(kind_of(value)));
            }
            if (is_label(key, kHeaderCrit)) {
                if (!is_protected)
                    return malformed("crit (2) must be in the protected header (RFC 9052 §3.1)");
                if (auto crit = check_crit(value); !crit) return crit;
            }
            if (is_certificate_label(key)) {
                if (auto certs = check_certificates(key, value); !certs) return certs;
            }
        }
    }
    // RFC 9052 §3: a label MUST NOT occur in both buckets; otherwise an unprotected copy could shadow a
    // signed value. Compared by preferred encoding, like the decoder's duplicate check, so large maps stay
    // linear-log.
    std::set<Bytes> protected_labels;
    for (const auto& entry : protected_map)
        protected_labels.insert(cbor::encode(entry.first));
    for (const auto& entry : unprotected) {
        if (protected_labels.count(cbor::encode(entry.first)) != 0) {
            return malformed("header " + cbor::diagnostic(entry.first) +
                             " is in both the protected and unprotected map");
        }
    }
    return {};
}

KeyKind key_kind(const EVP_PKEY* key) {
    if (key == nullptr) return KeyKind::Other;
    if (EVP_PKEY_is_a(key, "ED25519")) return KeyKind::Ed25519;
    if (EVP_PKEY_is_a(key, "EC")) {
        char group[32];
        std::size_t length = 0;
        const bool named = EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                                          sizeof group, &length) == 1;
        ERR_clear_error();
        if (named && std::string_view(group, length) == "prime256v1") return KeyKind::P256;
    }
    return KeyKind::Other;
}

// The algorithm of `message` when it fits `key` (BRSKI.md §2: alg is required and must match the key type).
Result<AlgorithmInfo> algorithm_for(const Sign1& message, const EVP_PKEY* key) {
    if (key == nullptr) return make_error(Status::Internal, "COSE_Sign1: no verification key");
    const auto alg = message.alg();
    if (!alg) return malformed("no integer alg (1) in the protected header");
    const auto* found = std::find_if(std::begin(kAlgorithms), std::end(kAlgorithms),
                                     [&](const AlgorithmInfo& a) { return a.alg == *alg; });
    if (found == std::end(kAlgorithms)) {
        return malformed("alg " + std::to_string(*alg) +
                         " is not supported (ES256 -7, EdDSA -8, Ed25519 -19)");
    }
    if (key_kind(key) != found->key) {
        return malformed("alg " + std::string(found->name) + " (" + std::to_string(found->alg) + ") needs " +
                         std::string(found->key_name) + ", not " + key_description(key));
    }
    return *found;
}

Bytes encode_envelope(const Sign1& message, cbor::Map unprotected) {
    return cbor::encode(cbor::Value::tagged(
        kTagSign1,
        cbor::Array{message.protected_bytes, std::move(unprotected), message.payload, message.signature}));
}

Result<cbor::Map> decode_protected(const Bytes& bytes) {
    // RFC 9052 §3: an empty protected bucket is the zero-length bstr.
    if (bytes.empty()) return cbor::Map{};
    auto decoded = cbor::decode(bytes, kLimits);
    if (!decoded) return malformed("protected header: " + decoded.error().message);
    if (!decoded->is_map())
        return malformed("protected header is " + std::string(kind_of(*decoded)) + ", not a map");
    return decoded->as_map();
}

}  // namespace

std::optional<std::int64_t> Sign1::alg() const {
    for (const auto& [key, value] : protected_map) {
        if (is_label(key, kHeaderAlg)) return value.to_int64();
    }
    return std::nullopt;
}

std::vector<Bytes> Sign1::certificates() const {
    std::vector<Bytes> out;
    for (const cbor::Map* bucket : {&protected_map, &unprotected}) {
        for (const auto& [key, value] : *bucket) {
            if (!is_certificate_label(key)) continue;
            if (value.is_bytes()) {
                out.push_back(value.as_bytes());
            } else if (value.is_array()) {
                for (const auto& cert : value.as_array()) {
                    if (cert.is_bytes()) out.push_back(cert.as_bytes());
                }
            }
        }
    }
    return out;
}

Result<Sign1> decode_sign1(ByteView in) {
    auto decoded = cbor::decode(in, kLimits);
    if (!decoded) return malformed(decoded.error().message);
    if (decoded->is_array()) {
        return malformed("untagged array refused: tag 18 (COSE_Sign1) is required");
    }
    if (!decoded->is_tag())
        return malformed("expected tag 18 (COSE_Sign1), found " + std::string(kind_of(*decoded)));
    if (decoded->as_tag().tag != kTagSign1) {
        return malformed("tag " + std::to_string(decoded->as_tag().tag) +
                         " where tag 18 (COSE_Sign1) is required");
    }
    const cbor::Value& body = decoded->as_tag().value;
    if (!body.is_array()) return malformed("tag 18 holds " + std::string(kind_of(body)) + ", not an array");
    const cbor::Array& parts = body.as_array();
    if (parts.size() != 4) {
        return malformed("the array has " + std::to_string(parts.size()) + " elements, not 4");
    }
    if (!parts[0].is_bytes())
        return malformed("protected header is " + std::string(kind_of(parts[0])) + ", not a bstr");
    if (!parts[1].is_map())
        return malformed("unprotected header is " + std::string(kind_of(parts[1])) + ", not a map");
    if (parts[2].is_null()) return malformed("detached payload (nil) is not supported");
    if (!parts[2].is_bytes())
        return malformed("payload is " + std::string(kind_of(parts[2])) + ", not a bstr");
    if (!parts[3].is_bytes())
        return malformed("signature is " + std::string(kind_of(parts[3])) + ", not a bstr");

    Sign1 out;
    out.protected_bytes = parts[0].as_bytes();
    ESTGW_TRY(protected_map, decode_protected(out.protected_bytes));
    out.protected_map = std::move(protected_map);
    out.unprotected = parts[1].as_map();
    if (auto headers = check_headers(out.protected_map, out.unprotected); !headers) return headers.error();
    out.payload = parts[2].as_bytes();
    out.signature = parts[3].as_bytes();
    return out;
}

Bytes sig_structure(const Sign1& message) {
    // RFC 9052 §4.4: context, body_protected as received, external_aad (none in cBRSKI), payload.
    return cbor::encode(cbor::Array{"Signature1", message.protected_bytes, Bytes{}, message.payload});
}

Result<void> verify_sign1(const Sign1& message, const EVP_PKEY* key) {
    ESTGW_TRY(algorithm, algorithm_for(message, key));
    if (message.signature.size() != kSignatureSize) {
        return malformed(std::string(algorithm.name) + " signature of " +
                         std::to_string(message.signature.size()) + " bytes, not 64");
    }
    Bytes signature = message.signature;
    const EVP_MD* digest = nullptr;  // EdDSA hashes the message itself
    if (algorithm.key == KeyKind::P256) {
        ESTGW_TRY(der, ecdsa_raw_to_der(message.signature));
        signature = std::move(der);
        digest = EVP_sha256();
    }
    const Bytes to_be_signed = sig_structure(message);
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, digest, nullptr, const_cast<EVP_PKEY*>(key)) != 1) {
        return openssl_error(Status::Internal, "COSE_Sign1", "cannot set up verification");
    }
    const int verified = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), to_be_signed.data(),
                                          to_be_signed.size());
    ERR_clear_error();
    if (verified != 1) return make_error(Status::Forbidden, "COSE_Sign1: signature does not verify");
    return {};
}

Result<Bytes> sign1(ByteView payload, const cbor::Map& unprotected, const EVP_PKEY* key) {
    const KeyKind kind = key_kind(key);
    const auto* algorithm = std::find_if(std::begin(kAlgorithms), std::end(kAlgorithms),
                                         [kind](const AlgorithmInfo& a) { return a.key == kind; });
    if (algorithm == std::end(kAlgorithms)) {
        return malformed("cannot sign with " + key_description(key) +
                         ": ES256 needs a P-256 EC key, EdDSA an Ed25519 key");
    }
    Sign1 message;
    message.protected_map = cbor::Map{{kHeaderAlg, algorithm->alg}};
    message.protected_bytes = cbor::encode(message.protected_map);
    message.unprotected = unprotected;
    message.payload.assign(payload.begin(), payload.end());
    // What we emit must pass our own decoder (a duplicated alg, a malformed x5bag).
    if (auto headers = check_headers(message.protected_map, message.unprotected); !headers)
        return headers.error();

    const Bytes to_be_signed = sig_structure(message);
    const EVP_MD* digest = kind == KeyKind::P256 ? EVP_sha256() : nullptr;
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    std::size_t length = 0;
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, digest, nullptr, const_cast<EVP_PKEY*>(key)) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &length, to_be_signed.data(), to_be_signed.size()) != 1) {
        return openssl_error(Status::BadRequest, "COSE_Sign1", "the key cannot sign (no private key?)");
    }
    Bytes signature(length);
    if (EVP_DigestSign(ctx.get(), signature.data(), &length, to_be_signed.data(), to_be_signed.size()) != 1) {
        return openssl_error(Status::Internal, "COSE_Sign1", "signing failed");
    }
    signature.resize(length);
    if (kind == KeyKind::P256) {
        ESTGW_TRY(raw, ecdsa_der_to_raw(signature));
        signature = std::move(raw);
    }
    message.signature = std::move(signature);
    return encode_envelope(message, message.unprotected);
}

cbor::Value certificate_bag(const std::vector<Bytes>& der_certificates) {
    if (der_certificates.size() == 1) return der_certificates.front();
    cbor::Array bag;
    bag.reserve(der_certificates.size());
    for (const auto& cert : der_certificates)
        bag.emplace_back(cert);
    return bag;
}

Bytes encode_without_unprotected(const Sign1& message, const std::vector<std::int64_t>& labels) {
    cbor::Map kept;
    for (const auto& [key, value] : message.unprotected) {
        const auto label = key.to_int64();
        if (label && std::find(labels.begin(), labels.end(), *label) != labels.end()) continue;
        kept.emplace_back(key, value);
    }
    return encode_envelope(message, std::move(kept));
}

Result<Bytes> ecdsa_der_to_raw(ByteView der) {
    ESTGW_TRY(sig, d2i_exactly<EcdsaSigPtr>(der, d2i_ECDSA_SIG, "ECDSA signature"));
    const BIGNUM* r = nullptr;
    const BIGNUM* s = nullptr;
    ECDSA_SIG_get0(sig.get(), &r, &s);
    Bytes raw(kSignatureSize);
    // BN_bn2binpad fails when the number needs more than 32 bytes; a P-256 r or s never does.
    if (BN_is_negative(r) || BN_is_negative(s) ||
        BN_bn2binpad(r, raw.data(), kEs256HalfSize) != static_cast<int>(kEs256HalfSize) ||
        BN_bn2binpad(s, raw.data() + kEs256HalfSize, kEs256HalfSize) != static_cast<int>(kEs256HalfSize)) {
        ERR_clear_error();
        return make_error(Status::BadRequest, "ECDSA signature: r or s does not fit in 32 bytes (not P-256)");
    }
    return raw;
}

Result<Bytes> ecdsa_raw_to_der(ByteView raw) {
    if (raw.size() != kSignatureSize) {
        return make_error(Status::BadRequest,
                          "ES256 signature of " + std::to_string(raw.size()) + " bytes, not r‖s of 64");
    }
    BignumPtr r(BN_bin2bn(raw.data(), kEs256HalfSize, nullptr));
    BignumPtr s(BN_bin2bn(raw.data() + kEs256HalfSize, kEs256HalfSize, nullptr));
    EcdsaSigPtr sig(ECDSA_SIG_new());
    if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
        return openssl_error(Status::Internal, "ECDSA signature", "cannot build");
    }
    // ECDSA_SIG_set0 took ownership of both numbers.
    static_cast<void>(r.release());
    static_cast<void>(s.release());
    return i2d_bytes(sig.get(), i2d_ECDSA_SIG);
}

}  // namespace estgw::cose
