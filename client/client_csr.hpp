// What a pledge sends and keeps: its key types, subject names typed on the command line, PKCS#10 requests
// (RFC 2986) and the PEM/DER files `estgw enroll` and `estgw bench` read.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "certs/key_policy.hpp"
#include "common/bytes.hpp"
#include "common/openssl.hpp"
#include "common/result.hpp"

namespace estgw::client {

// "p256", "p384", "ed25519" or "rsa2048" (--new-key); nullopt for anything else.
std::optional<certs::KeyType> client_key_type(std::string_view name);
inline constexpr const char* kClientKeyTypes = "p256|p384|ed25519|rsa2048";

// A subject as typed: "CN=dev-1,O=Example" in RFC 4514 order (most specific first, as estgw and
// `openssl x509 -nameopt RFC2253` print names) or "/O=Example/CN=dev-1" in `openssl req -subj` order.
// "\," escapes a comma in the first form. Values are UTF-8. Status::BadRequest names the bad piece.
Result<X509NamePtr> parse_subject(std::string_view text);

// A single-valued CSR attribute other than extensionRequest.
struct CsrAttribute {
    std::string oid;  // dotted
    int asn1_type;    // V_ASN1_OCTET_STRING: `value` is the contents; V_ASN1_SEQUENCE: the whole DER
    Bytes value;
};

// A signed CSR in DER: `subject`, the public key of `key`, `san` (a subjectAltName extension, may be null)
// in an extensionRequest attribute, and `attributes`. SHA-256 (SHA-384 for P-384; none for Ed25519).
Result<Bytes> build_csr(EVP_PKEY* key, const X509_NAME* subject, const X509_EXTENSION* san,
                        const std::vector<CsrAttribute>& attributes = {});

// The subjectAltName extension of a certificate, owned by it; null when it has none.
const X509_EXTENSION* subject_alt_name(const X509* cert);

// The first certificate of a PEM file (a chain may follow it).
Result<X509Ptr> read_certificate_file(const std::string& path);
// An unencrypted private key from a PEM file (PKCS#8, SEC1 or PKCS#1).
Result<EvpPkeyPtr> read_private_key_file(const std::string& path);
// A PKCS#10 request from a PEM or DER file, as DER. It must parse; its signature is the server's business.
Result<Bytes> read_csr_file(const std::string& path);

}  // namespace estgw::client
