#include "common/csr_with_key.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/provider.h>

namespace estgw {

namespace {

using LibCtxPtr = std::unique_ptr<OSSL_LIB_CTX, OpensslDeleter<OSSL_LIB_CTX, OSSL_LIB_CTX_free>>;
inline void unload_provider(OSSL_PROVIDER* provider) {
    OSSL_PROVIDER_unload(provider);
}
using ProviderPtr = std::unique_ptr<OSSL_PROVIDER, OpensslDeleter<OSSL_PROVIDER, unload_provider>>;

// A library context whose only provider is "null": it offers no algorithms, and having a provider loaded
// keeps OpenSSL from activating the default one in it as a fallback.
struct NoDecoders {
    LibCtxPtr context{OSSL_LIB_CTX_new()};
    ProviderPtr provider{context ? OSSL_PROVIDER_load(context.get(), "null") : nullptr};
};

OSSL_LIB_CTX* no_decoders() {
    static const NoDecoders instance;  // shared read-only by every worker thread
    return instance.provider ? instance.context.get() : nullptr;
}

Error bad_key(std::string_view what) {
    return openssl_error(Status::BadRequest, "CSR", std::string("public key ") + std::string(what));
}

// An EC key on a named curve from its encoded point (RFC 5480 §2.2); EC_POINT_oct2point, under
// EVP_PKEY_fromdata, checks that the point is on the curve.
Result<EvpPkeyPtr> ec_key_from_point(const ASN1_OBJECT* curve, ByteView point) {
    const int nid = OBJ_obj2nid(curve);
    const char* group = nid != NID_undef ? OBJ_nid2sn(nid) : nullptr;
    if (group == nullptr) return bad_key("is on an unknown curve");
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(group), 0),
        OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, const_cast<unsigned char*>(point.data()),
                                          point.size()),
        OSSL_PARAM_construct_end()};
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    EVP_PKEY* raw = nullptr;
    if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) != 1) {
        return bad_key("is not a point on its curve");
    }
    return EvpPkeyPtr(raw);
}

Result<EvpPkeyPtr> key_of(const X509_REQ* csr) {
    X509_PUBKEY* spki = X509_REQ_get_X509_PUBKEY(const_cast<X509_REQ*>(csr));
    ASN1_OBJECT* algorithm = nullptr;
    const unsigned char* bits = nullptr;
    int length = 0;
    X509_ALGOR* parameters = nullptr;
    if (spki == nullptr || X509_PUBKEY_get0_param(&algorithm, &bits, &length, &parameters, spki) != 1) {
        return bad_key("unreadable");
    }
    const ByteView key(bits, static_cast<std::size_t>(length));
    const int nid = OBJ_obj2nid(algorithm);
    if (nid == NID_X9_62_id_ecPublicKey) {
        int parameter_type = V_ASN1_UNDEF;
        const void* parameter = nullptr;
        X509_ALGOR_get0(nullptr, &parameter_type, &parameter, parameters);
        // Explicit curve parameters (not allowed by RFC 5480, but OpenSSL decodes them) take the usual way.
        if (parameter_type == V_ASN1_OBJECT) {
            return ec_key_from_point(static_cast<const ASN1_OBJECT*>(parameter), key);
        }
    } else if (nid == NID_ED25519 || nid == NID_ED448) {
        EvpPkeyPtr raw(EVP_PKEY_new_raw_public_key_ex(nullptr, nid == NID_ED25519 ? "ED25519" : "ED448",
                                                      nullptr, key.data(), key.size()));
        if (!raw) return bad_key("has the wrong length");
        return raw;
    }
    ESTGW_TRY(der, csr_public_key_der(csr));
    const unsigned char* p = der.data();
    EvpPkeyPtr decoded(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
    if (!decoded) return bad_key("unreadable");
    return decoded;
}

}  // namespace

Result<Bytes> csr_public_key_der(const X509_REQ* csr) {
    // i2d of an X509_PUBKEY writes its algorithm and key bits as held, without encoding the key again.
    return i2d_bytes(X509_REQ_get_X509_PUBKEY(const_cast<X509_REQ*>(csr)), i2d_X509_PUBKEY);
}

Result<CsrWithKey> parse_csr_with_key(ByteView der) {
    if (auto framed = require_single_der_object(der, "CSR"); !framed) return framed.error();
    if (der.size() > static_cast<std::size_t>(LONG_MAX))
        return make_error(Status::BadRequest, "CSR: input too large");
    OSSL_LIB_CTX* context = no_decoders();
    const unsigned char* p = der.data();
    // OpenSSL tries to decode the key "opportunistically" and clears what that failure queued.
    X509ReqPtr request(reinterpret_cast<X509_REQ*>(ASN1_item_d2i_ex(
        nullptr, &p, static_cast<long>(der.size()), ASN1_ITEM_rptr(X509_REQ), context, nullptr)));
    if (!request) return openssl_error(Status::BadRequest, "CSR", "not valid DER");
    const auto used = static_cast<std::size_t>(p - der.data());
    if (used != der.size()) {
        return make_error(Status::BadRequest, "CSR: " + std::to_string(der.size() - used) +
                                                  " trailing byte(s) after " + std::to_string(used) +
                                                  " byte(s)");
    }
    // As with d2i_X509_REQ, an unusable key is not a parse error: the operations that ignore the CSR's key
    // (server-side key generation) still go on; verifying the signature then fails.
    auto key = key_of(request.get());
    ERR_clear_error();
    return CsrWithKey{std::move(request), key ? std::move(*key) : EvpPkeyPtr()};
}

}  // namespace estgw
