// Shared by the COSE_Sign1 tests: the cBRSKI vectors (tests/data/brski, see its README for what signed what)
// and keys made on the spot.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "common/cose.hpp"
#include "common/pem_file.hpp"
#include "common/x509.hpp"
#include "support/test_data.hpp"

namespace estgw::cose::test_support {

inline Bytes vector(const std::string& name) {
    return test::read_hex("brski/" + name);
}

inline X509Ptr certificate(const std::string& hex_file) {
    auto cert = parse_certificate_der(vector(hex_file));
    EXPECT_TRUE(cert.ok()) << hex_file;
    return cert.ok() ? std::move(*cert) : X509Ptr{};
}

inline EvpPkeyPtr private_key(const std::string& pem_file) {
    auto key = private_key_from_pem(test::read_text("brski/" + pem_file));
    EXPECT_TRUE(key.ok()) << pem_file;
    return key.ok() ? std::move(*key) : EvpPkeyPtr{};
}

inline EvpPkeyPtr ec_key(const char* curve) {
    EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
    EXPECT_NE(key, nullptr) << curve;
    return key;
}

inline EvpPkeyPtr ed25519_key() {
    EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    EXPECT_NE(key, nullptr);
    return key;
}

inline Sign1 decoded(const Bytes& in) {
    auto message = decode_sign1(in);
    EXPECT_TRUE(message.ok()) << to_hex(in) << ": " << (message.ok() ? "" : message.error().message);
    return message.ok() ? *message : Sign1{};
}

// A COSE_Sign1 envelope from parts, encoded by the CBOR encoder (so the parts may be anything).
inline Bytes envelope(cbor::Value protected_part, cbor::Value unprotected, cbor::Value payload,
                      cbor::Value signature, std::uint64_t tag = kTagSign1) {
    return cbor::encode(
        cbor::Value::tagged(tag, cbor::Array{std::move(protected_part), std::move(unprotected),
                                             std::move(payload), std::move(signature)}));
}

}  // namespace estgw::cose::test_support
