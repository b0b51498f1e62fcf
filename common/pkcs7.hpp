// Certs-only PKCS#7 (RFC 7030 §4.1.3, RFC 5272 §4.1: a degenerate RFC 5652 SignedData with no signers), the
// body of /crts, /sen, /sren and the certificate part of /skg (RFC 9148 Content-Format 281).
// Every parser here takes bytes from the network: strict (whole input consumed) and fuzzed.
#pragma once

#include <vector>

#include "common/bytes.hpp"
#include "common/openssl.hpp"
#include "common/result.hpp"

namespace estgw {

// Any PKCS#7 ContentInfo; the whole input must be exactly one DER object.
Result<Pkcs7Ptr> parse_pkcs7_der(ByteView der);

// The certificates of a certs-only PKCS#7, in the order they are stored (possibly none). Error if it is not
// signedData, carries signerInfos, or encapsulates anything but empty id-data.
Result<std::vector<X509Ptr>> certs_only_certificates(ByteView der);
Result<std::vector<Bytes>> certs_only_certificates_der(ByteView der);
// The outline of a DER certs-only SignedData, without decoding any certificate (under OpenSSL 3.0 that is
// what parsing costs): ContentInfo { id-signedData, [0] SignedData { version, digestAlgorithms SET,
// encapContentInfo { id-data, content absent or empty }, [0] certificates, each SEQUENCE { SEQUENCE,
// SEQUENCE, BIT STRING }, [1] crls optional, signerInfos SET empty } }, nothing after it. Returns each
// certificate's bytes as found. Stricter than certs_only_certificates about encoding (DER lengths only,
// where OpenSSL also takes BER), looser about the certificates' insides (only their outline is checked).
Result<std::vector<ByteView>> certs_only_outline(ByteView der);

// Builds a certs-only SignedData (version 1, no digest algorithms, id-data without content, no CRLs, no
// signers) holding the given DER certificates in order. A certificate that does not parse is BadRequest.
Result<Bytes> make_certs_only(const std::vector<Bytes>& certificates_der);
// The same from certificates already parsed (nothing is parsed again: under OpenSSL 3.0 parsing a
// certificate costs more than signing one).
Result<Bytes> make_certs_only_from_parsed(const std::vector<const X509*>& certificates);

}  // namespace estgw
