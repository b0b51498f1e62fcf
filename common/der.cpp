#include "common/der.hpp"

#include <string>

namespace estgw {

namespace {

constexpr std::uint8_t kHighTagNumber = 0x1f;  // X.690 §8.1.2.4: tag number continues in later octets
constexpr std::uint8_t kLongFormBit = 0x80;    // X.690 §8.1.3.5
constexpr std::uint8_t kIndefinite = 0x80;     // X.690 §8.1.3.6, forbidden in DER (§10.1)
constexpr std::uint8_t kReserved = 0xff;       // X.690 §8.1.3.5 c)
// Four length octets describe objects up to 4 GiB, far beyond anything EST carries; more is hostile.
constexpr std::size_t kMaxLengthOctets = 4;

Error der_error(const std::string& what) {
    return make_error(Status::BadRequest, "DER: " + what);
}

}  // namespace

Result<DerHeader> read_der_header(ByteView der) {
    if (der.empty()) return der_error("empty input");
    DerHeader header;
    header.tag = der[0];
    if ((header.tag & kHighTagNumber) == kHighTagNumber) return der_error("multi-octet tag not supported");
    if (der.size() < 2) return der_error("truncated before the length");

    const std::uint8_t first = der[1];
    if ((first & kLongFormBit) == 0) {
        header.header_length = 2;
        header.content_length = first;
    } else {
        if (first == kIndefinite) return der_error("indefinite length is not DER");
        if (first == kReserved) return der_error("reserved length octet 0xff");
        const std::size_t octets = first & ~kLongFormBit;
        if (octets > kMaxLengthOctets) return der_error("length needs " + std::to_string(octets) + " octets");
        if (der.size() < 2 + octets) return der_error("truncated inside the length");
        // X.690 §10.1: the fewest possible octets, so no leading zero and no long form below 128.
        if (der[2] == 0) return der_error("length has a leading zero octet");
        std::size_t length = 0;
        for (std::size_t i = 0; i < octets; ++i)
            length = (length << 8) | der[2 + i];
        if (length < kLongFormBit) return der_error("long-form length below 128");
        header.header_length = 2 + octets;
        header.content_length = length;
    }
    if (header.content_length > der.size() - header.header_length) {
        return der_error("declares " + std::to_string(header.content_length) + " content bytes, " +
                         std::to_string(der.size() - header.header_length) + " available");
    }
    return header;
}

bool is_single_der_object(ByteView der, std::uint8_t expected_tag) {
    return require_single_der_object(der, {}, expected_tag).ok();
}

Result<void> require_single_der_object(ByteView der, std::string_view what, std::uint8_t expected_tag) {
    const auto header = read_der_header(der);
    const std::string prefix = std::string(what) + ": ";
    if (!header) return make_error(Status::BadRequest, prefix + header.error().message);
    if (header->tag != expected_tag) {
        return make_error(Status::BadRequest, prefix + "DER: tag 0x" + to_hex(ByteView(&header->tag, 1)) +
                                                  ", expected 0x" + to_hex(ByteView(&expected_tag, 1)));
    }
    if (header->total_length() != der.size()) {
        return make_error(Status::BadRequest,
                          prefix + "DER: " + std::to_string(der.size() - header->total_length()) +
                              " trailing byte(s) after a " + std::to_string(header->total_length()) +
                              "-byte object");
    }
    return {};
}

DerReader::DerReader(ByteView content, std::string_view structure) : rest_(content), structure_(structure) {}

Error DerReader::error(const std::string& what) const {
    return make_error(Status::BadRequest, structure_ + ": " + what);
}

Result<ByteView> DerReader::next(std::uint8_t tag, std::string_view what) {
    ESTGW_TRY(element, next_element(what));
    if (element.tag != tag) {
        return error(std::string(what) + " has tag 0x" + to_hex(ByteView(&element.tag, 1)) + ", expected 0x" +
                     to_hex(ByteView(&tag, 1)));
    }
    return element.content;
}

Result<DerReader::Element> DerReader::next_element(std::string_view what) {
    if (rest_.empty()) return error(std::string(what) + " is missing");
    auto header = read_der_header(rest_);
    if (!header) return error(std::string(what) + ": " + header.error().message);
    Element element{header->tag, rest_.subspan(header->header_length, header->content_length),
                    rest_.first(header->total_length())};
    rest_ = rest_.subspan(header->total_length());
    return element;
}

std::optional<std::uint8_t> DerReader::peek_tag() const {
    if (rest_.empty()) return std::nullopt;
    return rest_[0];
}

Result<void> DerReader::end(std::string_view what) const {
    if (rest_.empty()) return {};
    return error(std::to_string(rest_.size()) + " unexpected byte(s) at the end of " + std::string(what));
}

namespace {

constexpr std::uint8_t kInteger = 0x02, kBitString = 0x03, kOid = 0x06, kSequence = 0x30;
constexpr std::uint8_t kAttributesTag = 0xa0;  // [0] IMPLICIT SET OF, constructed

}  // namespace

Result<void> check_certificate_outline(ByteView der) {
    DerReader outer(der, "X.509");
    ESTGW_TRY(certificate, outer.next(kSequence, "Certificate"));
    if (auto r = outer.end("the input"); !r) return r.error();
    DerReader parts(certificate, "X.509");
    if (auto r = parts.next(kSequence, "tbsCertificate"); !r) return r.error();
    if (auto r = parts.next(kSequence, "certificate signatureAlgorithm"); !r) return r.error();
    if (auto r = parts.next(kBitString, "certificate signature"); !r) return r.error();
    return parts.end("Certificate");
}

Result<void> check_pkcs10_structure(ByteView der) {
    DerReader outer(der, "PKCS#10");
    ESTGW_TRY(request, outer.next(kSequence, "CertificationRequest"));
    if (auto r = outer.end("the input"); !r) return r.error();

    DerReader request_fields(request, "PKCS#10");
    ESTGW_TRY(info, request_fields.next(kSequence, "certificationRequestInfo"));
    ESTGW_TRY(algorithm, request_fields.next(kSequence, "signatureAlgorithm"));
    if (auto r = request_fields.next(kBitString, "signature"); !r) return r.error();
    if (auto r = request_fields.end("CertificationRequest"); !r) return r.error();
    if (auto r = DerReader(algorithm, "PKCS#10").next(kOid, "signatureAlgorithm OID"); !r) return r.error();

    DerReader info_fields(info, "PKCS#10");
    ESTGW_TRY(version, info_fields.next(kInteger, "version"));
    if (version.size() != 1 || version[0] != 0) return info_fields.error("version is not v1 (0)");
    if (auto r = info_fields.next(kSequence, "subject"); !r) return r.error();
    ESTGW_TRY(spki, info_fields.next(kSequence, "subjectPKInfo"));
    if (auto r = info_fields.next(kAttributesTag, "attributes"); !r) return r.error();
    if (auto r = info_fields.end("certificationRequestInfo"); !r) return r.error();

    DerReader spki_fields(spki, "PKCS#10");
    if (auto r = spki_fields.next(kSequence, "subjectPKInfo algorithm"); !r) return r.error();
    ESTGW_TRY(key_bits, spki_fields.next(kBitString, "subjectPublicKey"));
    if (auto r = spki_fields.end("subjectPKInfo"); !r) return r.error();
    if (key_bits.empty()) return spki_fields.error("subjectPublicKey is empty");
    return {};
}

}  // namespace estgw
