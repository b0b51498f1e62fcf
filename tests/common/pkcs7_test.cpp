// Certs-only PKCS#7: RFC 7030 §4.1.3 / §4.2.3, RFC 5272 §4.1 (a SignedData without signers), carried as
// RFC 9148 Content-Format 281.
#include "common/pkcs7.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "common/x509.hpp"
#include "support/test_data.hpp"
#include "support/test_pki.hpp"

namespace estgw {
namespace {

using test::der_tlv;
using test::hex;
using test::joined;

constexpr char kA1Subject[] = "CN=Root CA,OU=certification,O=Example Inc,L=LA,ST=CA,C=US";

Bytes encode(const PKCS7* p7) {
    auto der = i2d_bytes(p7, i2d_PKCS7);
    EXPECT_TRUE(der.ok());
    return der.ok() ? *der : Bytes{};
}

// A signedData with no signers and no certificates whose encapsulated content the caller shapes.
Pkcs7Ptr empty_signed_data() {
    Pkcs7Ptr p7(PKCS7_new());
    EXPECT_EQ(PKCS7_set_type(p7.get(), NID_pkcs7_signed), 1);
    return p7;
}

std::vector<Bytes> three_certificates() {
    std::vector<Bytes> out;
    const EvpPkeyPtr key = test::make_key();
    for (const char* subject : {"CN=first", "CN=second", "CN=third"}) {
        out.push_back(test::to_der(test::make_certificate(subject, key.get(), nullptr, key.get()).get()));
    }
    return out;
}

// ---- parsing the RFC 9148 vectors ----

TEST(CertsOnly, Rfc9148A1HoldsTheRootCa) {
    // RFC 9148 App. A.1: /crts answer, one self-signed certificate, explicit empty crls [1] (a1 00).
    const auto certificates = certs_only_certificates(test::read_hex("rfc9148/a1-crts-response.hex"));
    ASSERT_TRUE(certificates.ok()) << certificates.error().message;
    ASSERT_EQ(certificates->size(), 1u);
    const X509* root = certificates->front().get();
    EXPECT_EQ(name_to_string(X509_get_subject_name(root)), kA1Subject);
    EXPECT_TRUE(is_self_issued(root));
    EXPECT_TRUE(is_issued_by(root, root));
}

TEST(CertsOnly, Rfc9148A1CertificateDerIsTheEmbeddedBytes) {
    // The certificate starts at offset 45 (after the [0] IMPLICIT certificates header) and is 589 bytes.
    const Bytes a1 = test::read_hex("rfc9148/a1-crts-response.hex");
    const auto certificates = certs_only_certificates_der(a1);
    ASSERT_TRUE(certificates.ok()) << certificates.error().message;
    ASSERT_EQ(certificates->size(), 1u);
    EXPECT_EQ(certificates->front(), Bytes(a1.begin() + 45, a1.begin() + 45 + 589));
}

TEST(CertsOnly, Rfc9148A2ResponseHoldsOnlyTheIssuedCertificate) {
    // RFC 7030 §4.2.3: the enroll answer carries only the issued certificate; RFC 9148 App. A.2.
    const auto certificates = certs_only_certificates(test::read_hex("rfc9148/a2-sen-response.hex"));
    ASSERT_TRUE(certificates.ok()) << certificates.error().message;
    ASSERT_EQ(certificates->size(), 1u);
    EXPECT_EQ(name_to_string(X509_get_issuer_name(certificates->front().get())),
              "CN=802.1AR CA,OU=certification,O=Example Inc,ST=CA,C=US");
}

TEST(CertsOnly, Rfc9148A3CertificatePartHoldsTheSkgCertificate) {
    const auto certificates = certs_only_certificates(test::read_hex("rfc9148/a3-skg-response-cert-281.hex"));
    ASSERT_TRUE(certificates.ok()) << certificates.error().message;
    ASSERT_EQ(certificates->size(), 1u);
    EXPECT_EQ(name_to_string(X509_get_subject_name(certificates->front().get())), "O=skg example");
}

TEST(CertsOnly, Draft12A1ObjectBehindAppendixB1Parses) {
    const auto certificates =
        certs_only_certificates(test::read_hex("rfc9148/draft12-a1-crts-response-639.hex"));
    ASSERT_TRUE(certificates.ok()) << certificates.error().message;
    ASSERT_EQ(certificates->size(), 1u);
    EXPECT_EQ(name_to_string(X509_get_subject_name(certificates->front().get())), kA1Subject);
}

TEST(ParsePkcs7, ReadsTheRfc9148A1ContentInfo) {
    const auto p7 = parse_pkcs7_der(test::read_hex("rfc9148/a1-crts-response.hex"));
    ASSERT_TRUE(p7.ok()) << p7.error().message;
    EXPECT_TRUE(PKCS7_type_is_signed(p7->get()));
}

// ---- rejections ----

TEST(ParsePkcs7, RejectsTrailingByte) {
    Bytes der = test::read_hex("rfc9148/a1-crts-response.hex");
    der.push_back(0x00);
    const auto p7 = parse_pkcs7_der(der);
    ASSERT_FALSE(p7.ok());
    EXPECT_EQ(p7.status(), Status::BadRequest);
    EXPECT_NE(p7.error().message.find("trailing"), std::string::npos) << p7.error().message;
}

TEST(ParsePkcs7, RejectsUndecodableSequence) {
    const auto p7 = parse_pkcs7_der(hex("3003020101"));
    ASSERT_FALSE(p7.ok());
    EXPECT_EQ(p7.status(), Status::BadRequest);
    EXPECT_NE(p7.error().message.find("error:"), std::string::npos) << p7.error().message;
}

TEST(CertsOnly, RejectsTrailingByte) {
    Bytes der = test::read_hex("rfc9148/a1-crts-response.hex");
    der.push_back(0x00);
    EXPECT_EQ(certs_only_certificates(der).status(), Status::BadRequest);
    EXPECT_EQ(certs_only_certificates_der(der).status(), Status::BadRequest);
}

TEST(CertsOnly, RejectsTruncatedInput) {
    Bytes der = test::read_hex("rfc9148/a1-crts-response.hex");
    der.resize(der.size() - 1);
    EXPECT_EQ(certs_only_certificates(der).status(), Status::BadRequest);
}

TEST(CertsOnly, RejectsEmptyInput) {
    EXPECT_EQ(certs_only_certificates(ByteView{}).status(), Status::BadRequest);
}

TEST(CertsOnly, RejectsSignedDataWithASigner) {
    // A SignedData with a signerInfo is a signed message, not certs-only.
    const EvpPkeyPtr key = test::make_key();
    const X509Ptr cert = test::make_self_signed_ca("CN=signer", key.get());
    const std::string content = "hello";
    BioPtr data(BIO_new_mem_buf(content.data(), static_cast<int>(content.size())));
    Pkcs7Ptr signed_message(PKCS7_sign(cert.get(), key.get(), nullptr, data.get(), PKCS7_BINARY));
    ASSERT_NE(signed_message, nullptr);
    const auto result = certs_only_certificates(encode(signed_message.get()));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status(), Status::BadRequest);
    EXPECT_NE(result.error().message.find("signerInfo"), std::string::npos) << result.error().message;
}

TEST(CertsOnly, RejectsContentTypeOtherThanSignedData) {
    Pkcs7Ptr data(PKCS7_new());
    ASSERT_EQ(PKCS7_set_type(data.get(), NID_pkcs7_data), 1);
    const auto result = certs_only_certificates(encode(data.get()));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status(), Status::BadRequest);
    EXPECT_NE(result.error().message.find("pkcs7-data"), std::string::npos) << result.error().message;
}

TEST(CertsOnly, RejectsSignedDataContentInfoWithoutContent) {
    // ContentInfo { signedData } with the [0] content left out.
    const auto result = certs_only_certificates(hex("300b06092a864886f70d010702"));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status(), Status::BadRequest);
}

TEST(CertsOnly, RejectsEncapsulatedContentTypeOtherThanData) {
    Pkcs7Ptr p7 = empty_signed_data();
    p7->d.sign->contents->type = OBJ_nid2obj(NID_id_smime_ct_authData);
    const auto result = certs_only_certificates(encode(p7.get()));
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error().message.find("encapsulated content type"), std::string::npos)
        << result.error().message;
}

TEST(CertsOnly, RejectsEncapsulatedContent) {
    Pkcs7Ptr p7 = empty_signed_data();
    ASSERT_EQ(PKCS7_content_new(p7.get(), NID_pkcs7_data), 1);
    ASSERT_EQ(
        ASN1_OCTET_STRING_set(p7->d.sign->contents->d.data, reinterpret_cast<const unsigned char*>("abc"), 3),
        1);
    const auto result = certs_only_certificates(encode(p7.get()));
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error().message.find("content present"), std::string::npos) << result.error().message;
}

TEST(CertsOnly, ToleratesEmptyEncapsulatedContent) {
    // eContent present as an empty OCTET STRING instead of absent: nothing is signed or carried either way.
    Pkcs7Ptr p7 = empty_signed_data();
    ASSERT_EQ(PKCS7_content_new(p7.get(), NID_pkcs7_data), 1);
    const auto result = certs_only_certificates(encode(p7.get()));
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_TRUE(result->empty());
}

// ---- make_certs_only ----

TEST(MakeCertsOnly, MatchesTheRfc9148A1LayoutWithoutTheEmptyCrls) {
    // A.1 is 30 82 02 7a | OID signedData | a0 82 02 6b | 30 82 02 67 | version 1 | 31 00 | id-data |
    // a0 82 02 4d cert | a1 00 | 31 00. Ours leaves out "a1 00", so three lengths shrink by two.
    const Bytes a1 = test::read_hex("rfc9148/a1-crts-response.hex");
    Bytes expected = a1;
    expected.erase(expected.begin() + 634, expected.begin() + 636);
    expected[3] -= 2;   // 0x027a → 0x0278
    expected[18] -= 2;  // 0x026b → 0x0269
    expected[22] -= 2;  // 0x0267 → 0x0265
    const Bytes cert(a1.begin() + 45, a1.begin() + 45 + 589);
    const auto built = make_certs_only({cert});
    ASSERT_TRUE(built.ok()) << built.error().message;
    EXPECT_EQ(to_hex(*built), to_hex(expected));
}

TEST(MakeCertsOnly, KeepsCertificateOrderThroughARoundTrip) {
    const std::vector<Bytes> certificates = three_certificates();
    for (const std::vector<Bytes>& order :
         {certificates, std::vector<Bytes>{certificates[2], certificates[0], certificates[1]}}) {
        const auto built = make_certs_only(order);
        ASSERT_TRUE(built.ok()) << built.error().message;
        const auto parsed = certs_only_certificates_der(*built);
        ASSERT_TRUE(parsed.ok()) << parsed.error().message;
        EXPECT_EQ(*parsed, order);
    }
}

// The variant for certificates already in memory writes exactly the same bytes, in the order given.
TEST(MakeCertsOnly, FromParsedCertificatesIsByteForByteTheSame) {
    const std::vector<Bytes> certificates = three_certificates();
    std::vector<X509Ptr> parsed;
    for (const Bytes& der : certificates) {
        auto cert = parse_certificate_der(der);
        ASSERT_TRUE(cert.ok()) << cert.error().message;
        parsed.push_back(std::move(*cert));
    }
    const auto from_der = make_certs_only({certificates[2], certificates[0], certificates[1]});
    const auto from_parsed = make_certs_only_from_parsed({parsed[2].get(), parsed[0].get(), parsed[1].get()});
    ASSERT_TRUE(from_der.ok()) << from_der.error().message;
    ASSERT_TRUE(from_parsed.ok()) << from_parsed.error().message;
    EXPECT_EQ(to_hex(*from_parsed), to_hex(*from_der));
    EXPECT_EQ(make_certs_only_from_parsed({}).value(), make_certs_only({}).value());
}

TEST(MakeCertsOnly, BuildsAnEmptyBundle) {
    const auto built = make_certs_only({});
    ASSERT_TRUE(built.ok()) << built.error().message;
    const auto parsed = certs_only_certificates(*built);
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_TRUE(parsed->empty());
}

TEST(MakeCertsOnly, RejectsACertificateThatDoesNotParse) {
    EXPECT_EQ(make_certs_only({hex("3003020101")}).status(), Status::BadRequest);
    Bytes with_trailing = test::read_hex("brski/appC2-masa-ca-cert.hex");
    with_trailing.push_back(0);
    EXPECT_EQ(make_certs_only({with_trailing}).status(), Status::BadRequest);
}

TEST(MakeCertsOnly, IsAcceptedByTheOpensslCommandLine) {
    // `openssl pkcs7 -inform DER -print_certs` is what an operator reaches for first.
    if (access("/usr/bin/openssl", X_OK) != 0) GTEST_SKIP() << "no openssl command";
    const std::vector<Bytes> certificates = three_certificates();
    const auto built = make_certs_only(certificates);
    ASSERT_TRUE(built.ok());
    char path[] = "/tmp/estgw-certs-only-XXXXXX";
    const int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, built->data(), built->size()), static_cast<ssize_t>(built->size()));
    close(fd);
    const std::string command =
        std::string("/usr/bin/openssl pkcs7 -inform DER -print_certs -noout -in ") + path;
    FILE* pipe = popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string output;
    std::array<char, 256> buffer{};
    while (fgets(buffer.data(), buffer.size(), pipe) != nullptr)
        output += buffer.data();
    const int status = pclose(pipe);
    unlink(path);
    EXPECT_EQ(status, 0) << output;
    const std::size_t first = output.find("CN = first");
    const std::size_t second = output.find("CN = second");
    const std::size_t third = output.find("CN = third");
    ASSERT_NE(first, std::string::npos) << output;
    ASSERT_NE(third, std::string::npos) << output;
    EXPECT_LT(first, second);
    EXPECT_LT(second, third);
}

// ---- certs_only_outline ----

// The parts of a certs-only SignedData, each replaceable to break one thing.
struct CertsOnlyParts {
    Bytes content_type = der_tlv(0x06, hex("2a864886f70d010702"));
    Bytes version = der_tlv(0x02, {0x01});
    Bytes digest_algorithms = der_tlv(0x31, {});
    Bytes encapsulated = der_tlv(0x30, der_tlv(0x06, hex("2a864886f70d010701")));
    Bytes certificates;
    Bytes crls;
    Bytes signer_infos = der_tlv(0x31, {});

    Bytes build() const {
        Bytes signed_data = der_tlv(
            0x30, joined({version, digest_algorithms, encapsulated, certificates, crls, signer_infos}));
        return der_tlv(0x30, joined({content_type, der_tlv(0xa0, signed_data)}));
    }
};

TEST(CertsOnlyOutline, GivesTheCertificatesOfMakeCertsOnlyAsTheyAre) {
    const std::vector<Bytes> certificates = three_certificates();
    const auto built = make_certs_only(certificates);
    ASSERT_TRUE(built.ok());
    const auto outline = certs_only_outline(*built);
    ASSERT_TRUE(outline.ok()) << outline.error().message;
    ASSERT_EQ(outline->size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(Bytes(outline->at(i).begin(), outline->at(i).end()), certificates[i]) << i;
    }
}

TEST(CertsOnlyOutline, AcceptsTheRfc9148A1AnswerWithItsEmptyCrls) {
    const auto outline = certs_only_outline(test::read_hex("rfc9148/a1-crts-response.hex"));
    ASSERT_TRUE(outline.ok()) << outline.error().message;
    EXPECT_EQ(outline->size(), 1u);
}

TEST(CertsOnlyOutline, AcceptsNoCertificatesAndAnEmptyEncapsulatedContent) {
    CertsOnlyParts parts;
    parts.encapsulated =
        der_tlv(0x30, joined({der_tlv(0x06, hex("2a864886f70d010701")), der_tlv(0xa0, der_tlv(0x04, {}))}));
    const auto outline = certs_only_outline(parts.build());
    ASSERT_TRUE(outline.ok()) << outline.error().message;
    EXPECT_TRUE(outline->empty());
}

TEST(CertsOnlyOutline, RefusesWhatIsNotCertsOnlyNamingIt) {
    const Bytes cert = three_certificates().front();
    struct Case {
        const char* expected;
        void (*breaks)(CertsOnlyParts&, const Bytes&);
    };
    const Case cases[] = {
        {"content type is not signedData",
         [](CertsOnlyParts& p, const Bytes&) { p.content_type = der_tlv(0x06, hex("2a864886f70d010701")); }},
        {"signerInfos present",
         [](CertsOnlyParts& p, const Bytes&) { p.signer_infos = der_tlv(0x31, der_tlv(0x30, {})); }},
        {"encapsulated content type is not id-data",
         [](CertsOnlyParts& p, const Bytes&) {
             p.encapsulated = der_tlv(0x30, der_tlv(0x06, hex("2a864886f70d010702")));
         }},
        {"encapsulated content present",
         [](CertsOnlyParts& p, const Bytes&) {
             p.encapsulated = der_tlv(0x30, joined({der_tlv(0x06, hex("2a864886f70d010701")),
                                                    der_tlv(0xa0, der_tlv(0x04, {0x01}))}));
         }},
        {"a certificate choice other than Certificate",
         [](CertsOnlyParts& p, const Bytes&) { p.certificates = der_tlv(0xa0, der_tlv(0xa1, {})); }},
        {"certificate signature is missing",
         [](CertsOnlyParts& p, const Bytes&) {
             p.certificates = der_tlv(0xa0, der_tlv(0x30, joined({der_tlv(0x30, {}), der_tlv(0x30, {})})));
         }},
        {"signerInfos is missing", [](CertsOnlyParts& p, const Bytes&) { p.signer_infos.clear(); }},
        {"unexpected byte(s) at the end of SignedData",
         [](CertsOnlyParts& p, const Bytes& c) {
             p.certificates = der_tlv(0xa0, c);
             p.signer_infos = joined({der_tlv(0x31, {}), der_tlv(0x05, {})});
         }},
    };
    for (const auto& c : cases) {
        CertsOnlyParts parts;
        c.breaks(parts, cert);
        const auto outline = certs_only_outline(parts.build());
        ASSERT_FALSE(outline.ok()) << c.expected;
        EXPECT_EQ(outline.status(), Status::BadRequest) << c.expected;
        EXPECT_NE(outline.error().message.find(c.expected), std::string::npos)
            << c.expected << ": " << outline.error().message;
    }
}

TEST(CertsOnlyOutline, RefusesTruncationTrailingBytesAndBerLengths) {
    const auto built = make_certs_only(three_certificates());
    ASSERT_TRUE(built.ok());
    for (std::size_t n = 0; n < built->size(); n += 7) {
        EXPECT_FALSE(certs_only_outline(ByteView(built->data(), n)).ok()) << n;
    }
    Bytes longer = *built;
    longer.push_back(0);
    EXPECT_FALSE(certs_only_outline(longer).ok());
    // An indefinite length (BER, 0x80) is not DER; OpenSSL's parser, the fallback, takes it.
    Bytes ber = *built;
    ber[1] = 0x80;
    EXPECT_FALSE(certs_only_outline(ber).ok());
}

}  // namespace
}  // namespace estgw
