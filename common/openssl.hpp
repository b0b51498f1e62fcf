// RAII owners for every OpenSSL type estgw uses. Business code never calls *_free itself.
#pragma once

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pkcs7.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <climits>
#include <memory>
#include <string>
#include <string_view>

#include "common/bytes.hpp"
#include "common/der.hpp"
#include "common/result.hpp"

namespace estgw {

template <class T, void (*Free)(T*)>
struct OpensslDeleter {
    void operator()(T* p) const noexcept {
        if (p) Free(p);
    }
};

using X509Ptr = std::unique_ptr<X509, OpensslDeleter<X509, X509_free>>;
using X509ReqPtr = std::unique_ptr<X509_REQ, OpensslDeleter<X509_REQ, X509_REQ_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, OpensslDeleter<X509_NAME, X509_NAME_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, OpensslDeleter<X509_EXTENSION, X509_EXTENSION_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, OpensslDeleter<X509_STORE, X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OpensslDeleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpensslDeleter<EVP_PKEY, EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OpensslDeleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpensslDeleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using Pkcs7Ptr = std::unique_ptr<PKCS7, OpensslDeleter<PKCS7, PKCS7_free>>;
using CmsPtr = std::unique_ptr<CMS_ContentInfo, OpensslDeleter<CMS_ContentInfo, CMS_ContentInfo_free>>;
using BioPtr = std::unique_ptr<BIO, OpensslDeleter<BIO, BIO_free_all>>;
using Pkcs8InfoPtr =
    std::unique_ptr<PKCS8_PRIV_KEY_INFO, OpensslDeleter<PKCS8_PRIV_KEY_INFO, PKCS8_PRIV_KEY_INFO_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OpensslDeleter<GENERAL_NAMES, GENERAL_NAMES_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, OpensslDeleter<ASN1_INTEGER, ASN1_INTEGER_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, OpensslDeleter<BIGNUM, BN_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OpensslDeleter<ECDSA_SIG, ECDSA_SIG_free>>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, OpensslDeleter<SSL_CTX, SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, OpensslDeleter<SSL, SSL_free>>;

// Memory OpenSSL allocated for the caller (PEM_read_bio names, i2d output with a null buffer, ...).
struct OpensslFreeDeleter {
    void operator()(void* p) const noexcept { OPENSSL_free(p); }
};
template <class T>
using OpensslMallocPtr = std::unique_ptr<T, OpensslFreeDeleter>;

inline void free_x509_stack(STACK_OF(X509) * s) {
    sk_X509_pop_free(s, X509_free);
}
using X509StackPtr = std::unique_ptr<STACK_OF(X509), OpensslDeleter<STACK_OF(X509), free_x509_stack>>;

inline void free_extension_stack(STACK_OF(X509_EXTENSION) * s) {
    sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
}
using X509ExtensionStackPtr =
    std::unique_ptr<STACK_OF(X509_EXTENSION), OpensslDeleter<STACK_OF(X509_EXTENSION), free_extension_stack>>;

// The OpenSSL error queue as one line ("error:...; error:..."), clearing the queue. Empty when none.
std::string openssl_errors();

// "<context>: <what>" plus " (<openssl_errors()>)" when the queue holds anything; clears the queue.
Error openssl_error(Status status, std::string_view context, std::string_view what);

// The DER encoding of an OpenSSL object through its i2d_* function, e.g. i2d_bytes(cert, i2d_X509).
template <class T>
Result<Bytes> i2d_bytes(const T* object, int (*i2d)(const T*, unsigned char**)) {
    if (object == nullptr) return make_error(Status::Internal, "DER encoding: no object");
    const int length = i2d(object, nullptr);
    if (length <= 0) return openssl_error(Status::Internal, "DER encoding", "i2d failed");
    Bytes out(static_cast<std::size_t>(length));
    unsigned char* p = out.data();
    if (i2d(object, &p) != length)
        return openssl_error(Status::Internal, "DER encoding", "i2d length changed");
    return out;
}

// Decodes `der` with a d2i_* function. The input must be exactly one DER SEQUENCE (so BER indefinite
// lengths and trailing bytes are refused before OpenSSL sees them) and d2i must consume every byte.
// Any failure is Status::BadRequest; `what` names the object in the message ("certificate").
template <class Owner, class T>
Result<Owner> d2i_exactly(ByteView der, T* (*d2i)(T**, const unsigned char**, long), std::string_view what) {
    if (auto framed = require_single_der_object(der, what); !framed) return framed.error();
    if (der.size() > static_cast<std::size_t>(LONG_MAX)) {
        return make_error(Status::BadRequest, std::string(what) + ": input too large");
    }
    const unsigned char* p = der.data();
    Owner object(d2i(nullptr, &p, static_cast<long>(der.size())));
    if (!object) return openssl_error(Status::BadRequest, what, "not valid DER");
    const auto used = static_cast<std::size_t>(p - der.data());
    if (used != der.size()) {
        return make_error(Status::BadRequest, std::string(what) + ": " + std::to_string(der.size() - used) +
                                                  " trailing byte(s) after " + std::to_string(used) +
                                                  " byte(s)");
    }
    return object;
}

}  // namespace estgw
