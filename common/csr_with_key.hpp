// A PKCS#10 request parsed for enrollment, with its public key made directly from the SubjectPublicKeyInfo.
//
// d2i_X509_REQ in OpenSSL 3.0 decodes the request's key through the provider decoder framework, which builds
// a decoder chain from every provider's decoders for each key (about 1.2 M instructions: more than the CSR's
// signature verification). Here the request is parsed in a library context that holds only the null
// provider, so OpenSSL finds no decoder and leaves the key undecoded; the key is then made from the raw
// public point (EC on a named curve; Ed25519 and Ed448 from their raw key), or decoded the usual way for
// the rest (RSA). X509_REQ_get0_pubkey() on the request returns null: use `public_key`.
#pragma once

#include "common/bytes.hpp"
#include "common/openssl.hpp"
#include "common/result.hpp"

namespace estgw {

struct CsrWithKey {
    X509ReqPtr request;
    EvpPkeyPtr public_key;  // null when the key is unusable (as X509_REQ_get0_pubkey would say)
};

// Status::BadRequest "CSR: ..." when the request is not one DER object.
Result<CsrWithKey> parse_csr_with_key(ByteView der);

// The request's SubjectPublicKeyInfo as it was received.
Result<Bytes> csr_public_key_der(const X509_REQ* csr);

}  // namespace estgw
