// Minimal DER TLV reading, enough to tell "this is one complete DER object" without OpenSSL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace estgw {

struct DerHeader {
    std::uint8_t tag = 0;           // first identifier octet (multi-octet tags are rejected)
    std::size_t header_length = 0;  // identifier + length octets
    std::size_t content_length = 0;
    std::size_t total_length() const { return header_length + content_length; }
};

// Reads the header of the first TLV. Definite lengths only (DER), minimal length encoding required,
// declared length checked against the bytes available.
Result<DerHeader> read_der_header(ByteView der);

// True when `der` is exactly one complete TLV whose tag is `expected_tag` (0x30 SEQUENCE by default).
bool is_single_der_object(ByteView der, std::uint8_t expected_tag = 0x30);
// The same check with a diagnostic: Status::BadRequest "<what>: ..." saying what is wrong (bad header,
// unexpected tag, trailing bytes).
Result<void> require_single_der_object(ByteView der, std::string_view what, std::uint8_t expected_tag = 0x30);

// Reads consecutive TLVs from a content area, each checked against the bytes left; diagnostics are
// Status::BadRequest "<structure>: <what> ...". For outline checks that must not decode contents.
class DerReader {
  public:
    struct Element {
        std::uint8_t tag;
        ByteView content;  // without the header
        ByteView whole;    // header and content
    };
    DerReader(ByteView content, std::string_view structure);

    // The next element's content if its tag is `tag`; `what` names it in the error.
    Result<ByteView> next(std::uint8_t tag, std::string_view what);
    // The next element whatever its tag.
    Result<Element> next_element(std::string_view what);
    std::optional<std::uint8_t> peek_tag() const;  // nullopt at the end
    bool at_end() const { return rest_.empty(); }
    // Nothing may follow the elements read so far.
    Result<void> end(std::string_view what) const;
    Error error(const std::string& what) const;

  private:
    ByteView rest_;
    std::string structure_;
};

// The outline of an X.509 Certificate (RFC 5280 §4.1): exactly one SEQUENCE { SEQUENCE tbsCertificate,
// SEQUENCE signatureAlgorithm, BIT STRING signature }, contents not decoded. Status::BadRequest
// "X.509: ..." otherwise. (A PKCS#10 request has the same outline; this tells a certificate from garbage,
// not from a CSR.)
Result<void> check_certificate_outline(ByteView der);

// The outline of a PKCS#10 CertificationRequest (RFC 2986 §4) without decoding any of its contents:
// SEQUENCE { SEQUENCE { INTEGER 0, Name SEQUENCE, SubjectPublicKeyInfo SEQUENCE { SEQUENCE, BIT STRING },
// [0] attributes }, AlgorithmIdentifier SEQUENCE { OID, ... }, BIT STRING }, nothing after it. Cheap enough
// for the I/O thread, unlike a full parse (under OpenSSL 3.0 decoding the public key alone costs ~0.3 ms);
// whoever signs or relays the request still parses it fully. Status::BadRequest "PKCS#10: ..." otherwise.
Result<void> check_pkcs10_structure(ByteView der);

}  // namespace estgw
