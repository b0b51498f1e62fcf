// The one loader of PEM certificates and private keys, from text or from a file: the DTLS identity, the
// issuing CA, the upstream client's identity and trust anchors, and the pledge's credentials all come
// through here, with the same rules and error messages that name the file.
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include "common/openssl.hpp"
#include "common/result.hpp"

namespace estgw {

// Every CERTIFICATE block, in order. Any other block, a certificate that does not parse, or no certificate
// at all is Status::BadRequest.
Result<std::vector<X509Ptr>> certificates_from_pem(std::string_view text);

// The one unencrypted private key of the text (PKCS#8 "PRIVATE KEY", SEC1 "EC PRIVATE KEY" or PKCS#1 "RSA
// PRIVATE KEY"); other blocks, such as the "EC PARAMETERS" `openssl ecparam -genkey` writes, are ignored.
// An encrypted key, two keys or none is Status::BadRequest.
Result<EvpPkeyPtr> private_key_from_pem(std::string_view text);

// The same from a file; errors begin with "'<path>'".
Result<std::vector<X509Ptr>> load_certificates(const std::filesystem::path& file);
Result<EvpPkeyPtr> load_private_key(const std::filesystem::path& file);

// Status::BadRequest unless `key` is the private key of `certificate`.
Result<void> check_key_matches(const X509* certificate, const EVP_PKEY* key);

}  // namespace estgw
