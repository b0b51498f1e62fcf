// What `estgw enroll` writes for each EST-coaps answer (RFC 9148 §4.3, §4.8): certificates as PEM, keys as
// PKCS#8 PEM created with mode 0600 (never chmod-ed afterwards), encrypted keys (0600) and CSR attributes as
// DER. An encrypted key the pledge asked for is also decrypted into key.pem.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "client/client_key_protection.hpp"
#include "client/coap_client.hpp"
#include "common/bytes.hpp"
#include "common/est.hpp"
#include "common/openssl.hpp"
#include "common/result.hpp"

namespace estgw::client {

inline constexpr mode_t kPrivateFileMode = 0600;
inline constexpr mode_t kPublicFileMode = 0644;

// Replaces DIR/NAME (creating DIR) through a new file opened with `mode` and renamed over the old one, so
// the file never exists with other permissions or half written. Returns the path.
Result<std::filesystem::path> write_output_file(const std::filesystem::path& dir, const std::string& name,
                                                ByteView data, mode_t mode);

// The CA certificates of a /crts answer: every certificate of a certs-only (281, the default), the one
// pkix-cert (287), or the pkix-cert parts of a multipart-core (62, cBRSKI §6.7.5). Another Content-Format or
// a body that does not parse is an error naming it.
Result<std::vector<Bytes>> ca_certificates(const CoapAnswer& answer);

// The issued certificate of a sen or sren answer: certs-only (281, the default) or pkix-cert (287).
Result<X509Ptr> issued_certificate(const CoapAnswer& answer);

// "CN=dev-1, serial 0A1B…, valid until 2027-01-01T00:00:00Z".
std::string describe_certificate(const X509* cert);

struct EnrollOutput {
    std::filesystem::path dir;
    const EVP_PKEY* csr_key = nullptr;  // the issued certificate must carry this key (sen, sren); may be null
    const EVP_PKEY* new_key = nullptr;  // written as key.pem after a successful sen or sren; may be null
    // skg, skc: how the CSR asked for the key to be encrypted and what decrypts it; may be null (none).
    const ClientKeyProtection* key_protection = nullptr;
};

// Writes the results of a successful answer to `op` and returns what the summary line says about them,
// e.g. "issued CN=dev-1, serial …; wrote out/cert.pem, out/key.pem". An answer that cannot be used (wrong
// Content-Format, unparsable body, a certificate for another key) is an error naming the reason.
Result<std::string> write_enroll_results(Operation op, const CoapAnswer& answer, const EnrollOutput& out);

}  // namespace estgw::client
