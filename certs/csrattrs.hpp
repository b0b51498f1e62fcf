// The /att answer (RFC 7030 §4.5.2, RFC 9148 Content-Format 285): a DER CsrAttrs, either built in or read
// from the file given with --csrattrs.
//
//   CsrAttrs ::= SEQUENCE SIZE (0..MAX) OF AttrOrOID
//   AttrOrOID ::= CHOICE { oid OBJECT IDENTIFIER, attribute Attribute }
//
// The built-in answer follows draft-ietf-lamps-rfc7030-csrattrs (RFC 9908) §3: the key type is an
// attribute whose type is the algorithm and whose value the curve, and every requested extension sits in one
// extensionRequest attribute holding one Extensions value.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace estgw::certs {

inline constexpr const char* kOidChallengePassword = "1.2.840.113549.1.9.7";
inline constexpr const char* kOidExtensionRequest = "1.2.840.113549.1.9.14";
inline constexpr const char* kOidEcPublicKey = "1.2.840.10045.2.1";
inline constexpr const char* kOidSecp256r1 = "1.2.840.10045.3.1.7";

struct CsrAttrsOptions {
    // The CSR must carry challengePassword = base64(tls-unique) (RFC 7030 §3.5): say so in /att.
    bool require_tls_unique = false;
};

// SEQUENCE {
//   [challengePassword]                                   -- bare OID, only with require_tls_unique
//   { id-ecPublicKey, { secp256r1 } }                     -- an EC P-256 key, please
//   { extensionRequest, { Extensions {
//       keyUsage critical digitalSignature,
//       extendedKeyUsage id-kp-clientAuth } } } }
// The extension values are exactly what this CA puts into a P-256 client certificate, so a client that
// copies them gets a CSR that matches what it will receive. No subjectAltName is requested: a SAN must hold
// at least one name (RFC 5280 §4.2.1.6), and the CA cannot know the device's names.
Result<Bytes> default_csr_attributes(const CsrAttrsOptions& options = {});

// The type OID (dotted) of every entry, in order: the OID itself for a bare OID, the attribute type for an
// Attribute. BadRequest unless `der` is exactly one DER SEQUENCE of OBJECT IDENTIFIERs and
// SEQUENCE { OBJECT IDENTIFIER, SET } entries.
Result<std::vector<std::string>> csr_attribute_types(ByteView encoded);

// Reads --csrattrs: DER, or PEM / bare base64 of the DER; validated as above and served verbatim. With
// require_tls_unique the file must list challengePassword, or clients would not know to send it.
Result<Bytes> load_csr_attributes(const std::filesystem::path& file, const CsrAttrsOptions& options = {});

}  // namespace estgw::certs
