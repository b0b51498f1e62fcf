// DER framing (X.690 §8.1, §10.1): one definite-length TLV, minimal length octets, single-octet tags.
#include "common/der.hpp"

#include <gtest/gtest.h>

#include "support/test_data.hpp"
#include "support/test_pki.hpp"

namespace estgw {
namespace {

using test::der_tlv;
using test::hex;
using test::joined;

TEST(DerHeader, ReadsShortFormLength) {
    const Bytes der = hex("300300010a");
    const auto header = read_der_header(der);
    ASSERT_TRUE(header.ok()) << header.error().message;
    EXPECT_EQ(header->tag, 0x30);
    EXPECT_EQ(header->header_length, 2u);
    EXPECT_EQ(header->content_length, 3u);
    EXPECT_EQ(header->total_length(), 5u);
}

TEST(DerHeader, ReadsZeroLengthContent) {
    const auto header = read_der_header(hex("0500"));
    ASSERT_TRUE(header.ok());
    EXPECT_EQ(header->tag, 0x05);
    EXPECT_EQ(header->total_length(), 2u);
}

TEST(DerHeader, ReadsOneOctetLongFormLength) {
    Bytes der = hex("3081c8");
    der.resize(3 + 200);
    const auto header = read_der_header(der);
    ASSERT_TRUE(header.ok()) << header.error().message;
    EXPECT_EQ(header->header_length, 3u);
    EXPECT_EQ(header->content_length, 200u);
}

TEST(DerHeader, ReadsTwoOctetLengthOfTheRfc9148A1CertsOnly) {
    // RFC 9148 App. A.1: 30 82 02 7a, 634 content bytes.
    const Bytes der = test::read_hex("rfc9148/a1-crts-response.hex");
    const auto header = read_der_header(der);
    ASSERT_TRUE(header.ok()) << header.error().message;
    EXPECT_EQ(header->header_length, 4u);
    EXPECT_EQ(header->content_length, 634u);
    EXPECT_EQ(header->total_length(), der.size());
}

TEST(DerHeader, ReadsThreeOctetLength) {
    Bytes der = hex("0483010000");
    der.resize(5 + 0x010000);
    const auto header = read_der_header(der);
    ASSERT_TRUE(header.ok()) << header.error().message;
    EXPECT_EQ(header->header_length, 5u);
    EXPECT_EQ(header->content_length, 0x010000u);
}

TEST(DerHeader, ReadsFourOctetLength) {
    Bytes der = hex("04840100000000");
    der.resize(6 + 0x01000000);
    const auto header = read_der_header(der);
    ASSERT_TRUE(header.ok()) << header.error().message;
    EXPECT_EQ(header->header_length, 6u);
    EXPECT_EQ(header->content_length, 0x01000000u);
}

TEST(DerHeader, AcceptsFourLengthOctetsAndChecksThemAgainstTheInput) {
    // 84 01 00 00 00: 16 MiB declared, a handful available.
    const auto header = read_der_header(hex("3084010000000000"));
    ASSERT_FALSE(header.ok());
    EXPECT_EQ(header.status(), Status::BadRequest);
    EXPECT_NE(header.error().message.find("available"), std::string::npos) << header.error().message;
}

TEST(DerHeader, RejectsEmptyInput) {
    const auto header = read_der_header(ByteView{});
    ASSERT_FALSE(header.ok());
    EXPECT_EQ(header.status(), Status::BadRequest);
}

TEST(DerHeader, RejectsTagWithoutLength) {
    EXPECT_EQ(read_der_header(hex("30")).status(), Status::BadRequest);
}

TEST(DerHeader, RejectsHighTagNumberForm) {
    // X.690 §8.1.2.4: low five bits all set means the tag number follows.
    EXPECT_EQ(read_der_header(hex("1f2200")).status(), Status::BadRequest);
    EXPECT_EQ(read_der_header(hex("bf2200")).status(), Status::BadRequest);
}

TEST(DerHeader, RejectsIndefiniteLength) {
    // X.690 §10.1: DER uses the definite form only.
    const auto header = read_der_header(hex("308002010100 00"));
    ASSERT_FALSE(header.ok());
    EXPECT_NE(header.error().message.find("indefinite"), std::string::npos);
}

TEST(DerHeader, RejectsReservedLengthOctet) {
    EXPECT_EQ(read_der_header(hex("30ff00")).status(), Status::BadRequest);
}

TEST(DerHeader, RejectsMoreThanFourLengthOctets) {
    EXPECT_EQ(read_der_header(hex("3085000000000100")).status(), Status::BadRequest);
}

TEST(DerHeader, RejectsTruncationInsideTheLengthOctets) {
    EXPECT_EQ(read_der_header(hex("308201")).status(), Status::BadRequest);
}

TEST(DerHeader, RejectsLengthWithLeadingZeroOctet) {
    // X.690 §10.1: the minimum number of octets.
    Bytes der = hex("30820080");
    der.resize(4 + 0x80);
    EXPECT_EQ(read_der_header(der).status(), Status::BadRequest);
}

TEST(DerHeader, RejectsLongFormForLengthBelow128) {
    EXPECT_EQ(read_der_header(hex("3081050102030405")).status(), Status::BadRequest);
}

TEST(DerHeader, RejectsContentLongerThanInput) {
    EXPECT_EQ(read_der_header(hex("300501020304")).status(), Status::BadRequest);
}

TEST(DerSingleObject, AcceptsExactlyOneSequence) {
    EXPECT_TRUE(is_single_der_object(hex("3003020101")));
    EXPECT_TRUE(require_single_der_object(hex("3003020101"), "thing").ok());
}

TEST(DerSingleObject, AcceptsTheExpectedNonSequenceTag) {
    EXPECT_TRUE(is_single_der_object(hex("0401aa"), 0x04));
}

TEST(DerSingleObject, RejectsOtherTag) {
    EXPECT_FALSE(is_single_der_object(hex("3100")));
    const auto checked = require_single_der_object(hex("3100"), "thing");
    ASSERT_FALSE(checked.ok());
    EXPECT_EQ(checked.error().message, "thing: DER: tag 0x31, expected 0x30");
}

TEST(DerSingleObject, RejectsTrailingBytes) {
    EXPECT_FALSE(is_single_der_object(hex("300000")));
    const auto checked = require_single_der_object(hex("30000000"), "thing");
    ASSERT_FALSE(checked.ok());
    EXPECT_EQ(checked.status(), Status::BadRequest);
    EXPECT_EQ(checked.error().message, "thing: DER: 2 trailing byte(s) after a 2-byte object");
}

TEST(DerSingleObject, RejectsMalformedHeaderWithItsReason) {
    EXPECT_FALSE(is_single_der_object(hex("3080")));
    const auto checked = require_single_der_object(hex("30"), "thing");
    ASSERT_FALSE(checked.ok());
    EXPECT_EQ(checked.error().message.rfind("thing: DER: ", 0), 0u) << checked.error().message;
}

// ---- PKCS#10 outline (RFC 2986 §4) ----

// The parts of a minimal request whose outline is right (the key and signature bytes are not real).
struct Pkcs10Parts {
    Bytes version = der_tlv(0x02, {0x00});
    Bytes subject = der_tlv(
        0x30, der_tlv(0x31, der_tlv(0x30, joined({der_tlv(0x06, hex("550403")), der_tlv(0x0c, hex("61"))}))));
    Bytes key_algorithm =
        der_tlv(0x30, joined({der_tlv(0x06, hex("2a8648ce3d0201")), der_tlv(0x06, hex("2a8648ce3d030107"))}));
    Bytes key_bits = der_tlv(0x03, hex("0004aabb"));
    Bytes attributes = der_tlv(0xa0, {});
    Bytes info_extra;
    Bytes signature_algorithm = der_tlv(0x30, der_tlv(0x06, hex("2a8648ce3d040302")));
    Bytes signature = der_tlv(0x03, hex("00aabbcc"));

    Bytes build() const {
        Bytes spki = der_tlv(0x30, joined({key_algorithm, key_bits}));
        Bytes info = der_tlv(0x30, joined({version, subject, spki, attributes, info_extra}));
        return der_tlv(0x30, joined({info, signature_algorithm, signature}));
    }
};

TEST(Pkcs10Structure, AcceptsTheRfc9148A2Request) {
    auto r = check_pkcs10_structure(test::read_hex("rfc9148/a2-sen-request.hex"));
    EXPECT_TRUE(r.ok()) << r.error().message;
}

TEST(Pkcs10Structure, AcceptsRequestsForEveryKeyKind) {
    for (auto kind :
         {test::KeyKind::P256, test::KeyKind::P384, test::KeyKind::Rsa2048, test::KeyKind::Ed25519}) {
        EvpPkeyPtr key = test::make_key(kind);
        X509ReqPtr csr = test::make_csr("CN=device", {"DNS:device.example"}, key.get(), "secret");
        auto r = check_pkcs10_structure(test::to_der(csr.get()));
        EXPECT_TRUE(r.ok()) << static_cast<int>(kind) << ": " << r.error().message;
    }
}

TEST(Pkcs10Structure, AcceptsTheMinimalOutline) {
    auto r = check_pkcs10_structure(Pkcs10Parts{}.build());
    EXPECT_TRUE(r.ok()) << r.error().message;
}

TEST(Pkcs10Structure, RejectsACertificate) {
    auto r = check_pkcs10_structure(test::read_hex("brski/appC2-pledge-idevid-cert.hex"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status(), Status::BadRequest);
    EXPECT_NE(r.error().message.find("PKCS#10: version"), std::string::npos) << r.error().message;
}

TEST(Pkcs10Structure, RejectsTrailingBytesAndTruncation) {
    Bytes der = Pkcs10Parts{}.build();
    Bytes longer = der;
    longer.push_back(0x00);
    EXPECT_NE(
        check_pkcs10_structure(longer).error().message.find("unexpected byte(s) at the end of the input"),
        std::string::npos);
    for (std::size_t n = 0; n < der.size(); ++n) {
        EXPECT_FALSE(check_pkcs10_structure(ByteView(der.data(), n)).ok()) << n;
    }
}

// Each broken part is named in the diagnostic.
TEST(Pkcs10Structure, NamesTheElementThatIsWrong) {
    struct Case {
        const char* expected;
        void (*breaks)(Pkcs10Parts&);
    };
    const Case cases[] = {
        {"version is not v1", [](Pkcs10Parts& p) { p.version = der_tlv(0x02, {0x01}); }},
        {"version has tag", [](Pkcs10Parts& p) { p.version = der_tlv(0xa0, der_tlv(0x02, {0x00})); }},
        {"subject has tag", [](Pkcs10Parts& p) { p.subject = der_tlv(0x31, {}); }},
        {"subjectPublicKey is missing", [](Pkcs10Parts& p) { p.key_bits.clear(); }},
        {"subjectPublicKey is empty", [](Pkcs10Parts& p) { p.key_bits = der_tlv(0x03, {}); }},
        {"subjectPKInfo algorithm has tag",
         [](Pkcs10Parts& p) { p.key_algorithm = der_tlv(0x06, hex("2b")); }},
        {"attributes is missing", [](Pkcs10Parts& p) { p.attributes.clear(); }},
        {"attributes has tag 0x31", [](Pkcs10Parts& p) { p.attributes = der_tlv(0x31, {}); }},
        {"at the end of certificationRequestInfo", [](Pkcs10Parts& p) { p.info_extra = der_tlv(0x05, {}); }},
        {"signatureAlgorithm OID is missing",
         [](Pkcs10Parts& p) { p.signature_algorithm = der_tlv(0x30, {}); }},
        {"signature has tag", [](Pkcs10Parts& p) { p.signature = der_tlv(0x04, hex("00")); }},
        {"signature is missing", [](Pkcs10Parts& p) { p.signature.clear(); }},
    };
    for (const auto& c : cases) {
        Pkcs10Parts parts;
        c.breaks(parts);
        auto r = check_pkcs10_structure(parts.build());
        ASSERT_FALSE(r.ok()) << c.expected;
        EXPECT_EQ(r.status(), Status::BadRequest) << c.expected;
        EXPECT_NE(r.error().message.find(c.expected), std::string::npos)
            << c.expected << ": " << r.error().message;
    }
}

// ---- X.509 outline (RFC 5280 §4.1) ----

TEST(CertificateOutline, AcceptsCertificatesAndRefusesOtherStructures) {
    EXPECT_TRUE(check_certificate_outline(test::read_hex("brski/appC2-pledge-idevid-cert.hex")).ok());
    // A certs-only ContentInfo is SEQUENCE { OID, [0] }: refused at its first element.
    const auto certs_only = check_certificate_outline(test::read_hex("rfc9148/a1-crts-response.hex"));
    ASSERT_FALSE(certs_only.ok());
    EXPECT_NE(certs_only.error().message.find("X.509: tbsCertificate has tag 0x06"), std::string::npos)
        << certs_only.error().message;
    Bytes longer = test::read_hex("brski/appC2-pledge-idevid-cert.hex");
    longer.push_back(0);
    EXPECT_FALSE(check_certificate_outline(longer).ok());
    EXPECT_FALSE(check_certificate_outline(hex("3000")).ok());
}

}  // namespace
}  // namespace estgw
