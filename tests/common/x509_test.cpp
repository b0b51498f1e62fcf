// Certificates and PKCS#10 requests: strict parsing, proof-of-possession (RFC 7030 §4.2.1), challengePassword
// (RFC 7030 §3.5, RFC 2985 §5.4.1), identity matching for re-enrollment (RFC 7030 §4.2.2) and issuer checks.
#include "common/x509.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include "support/test_data.hpp"
#include "support/test_pki.hpp"

namespace estgw {
namespace {

using test::hex;
using X509AttributePtr = std::unique_ptr<X509_ATTRIBUTE, OpensslDeleter<X509_ATTRIBUTE, X509_ATTRIBUTE_free>>;
using OctetStringPtr =
    std::unique_ptr<ASN1_OCTET_STRING, OpensslDeleter<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>>;

// RFC 9148 App. A.2 CSR: byte offsets used to damage it on purpose.
constexpr std::size_t kA2SerialNumberFirstChar = 0x63;  // 'W' of serialNumber "Wt1234"
constexpr std::size_t kA2CurveOidLastByte = 0x7f;       // 07 of prime256v1 1.2.840.10045.3.1.7
constexpr std::size_t kA2SubjectOffset = 11;            // after 30 82 01 8b 30 82 01 31 02 01 00
constexpr std::size_t kA2SubjectLength = 94;
constexpr std::size_t kA2AttributesLength = 0xc5;   // a0 73: the [0] attributes
constexpr std::size_t kA2ChallengePassword = 0xc6;  // 30 34 ...: 54 bytes
constexpr std::size_t kA2ExtensionRequest = 0xfc;   // 30 3b ...: 61 bytes
constexpr std::size_t kA2SignatureAlgorithm = 0x139;
constexpr std::size_t kA2SanOffset = 0x116;  // GeneralNames inside the extensionRequest
constexpr std::size_t kA2SanLength = 35;

Bytes a2_csr_der() {
    return test::read_hex("rfc9148/a2-sen-request.hex");
}

X509ReqPtr a2_csr() {
    auto csr = parse_csr_der(a2_csr_der());
    EXPECT_TRUE(csr.ok());
    return csr.ok() ? std::move(csr).value() : X509ReqPtr{};
}

// The A.2 CSR with its extensionRequest replaced by a second copy of its challengePassword attribute; OpenSSL
// refuses to build such a request. The signature no longer verifies, which csr_challenge_password ignores.
Bytes a2_with_two_challenge_passwords() {
    const Bytes der = a2_csr_der();
    Bytes out(der.begin(), der.begin() + kA2ExtensionRequest);
    out.insert(out.end(), der.begin() + kA2ChallengePassword, der.begin() + kA2ExtensionRequest);
    out.insert(out.end(), der.begin() + kA2SignatureAlgorithm, der.end());
    const std::size_t shrink =
        (kA2SignatureAlgorithm - kA2ExtensionRequest) - (kA2ExtensionRequest - kA2ChallengePassword);
    for (std::size_t length_at :
         {std::size_t{2}, std::size_t{6}}) {  // two-octet lengths of the outer SEQUENCEs
        const std::size_t length = ((std::size_t{out[length_at]} << 8) | out[length_at + 1]) - shrink;
        out[length_at] = static_cast<std::uint8_t>(length >> 8);
        out[length_at + 1] = static_cast<std::uint8_t>(length & 0xff);
    }
    out[kA2AttributesLength] = static_cast<std::uint8_t>(out[kA2AttributesLength] - shrink);
    return out;
}

X509Ptr a2_issued_certificate() {
    auto certificates = certs_only_certificates(test::read_hex("rfc9148/a2-sen-response.hex"));
    EXPECT_TRUE(certificates.ok() && certificates->size() == 1u);
    return certificates.ok() ? std::move(certificates->front()) : X509Ptr{};
}

// A CSR signed by `key` after passing through DER, as a server would receive it.
X509ReqPtr reparsed(const X509_REQ* csr) {
    auto parsed = parse_csr_der(test::to_der(csr));
    EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message);
    return parsed.ok() ? std::move(parsed).value() : X509ReqPtr{};
}

struct Pki {
    EvpPkeyPtr ca_key = test::make_key();
    X509Ptr ca = test::make_self_signed_ca("CN=Test CA,O=estgw", ca_key.get());
    EvpPkeyPtr client_key = test::make_key();

    X509Ptr issue(const std::string& subject, const std::vector<std::string>& sans) {
        const X509ReqPtr csr = test::make_csr(subject, sans, client_key.get());
        return test::issue_cert(csr.get(), ca.get(), ca_key.get());
    }
    X509ReqPtr csr(const std::string& subject, const std::vector<std::string>& sans) {
        return reparsed(test::make_csr(subject, sans, client_key.get()).get());
    }
};

// ---- parse_certificate_der / certificate_to_der ----

TEST(ParseCertificate, ReadsTheCbrskiMasaCaAndEncodesItBackIdentically) {
    const Bytes der = test::read_hex("brski/appC2-masa-ca-cert.hex");
    const auto cert = parse_certificate_der(der);
    ASSERT_TRUE(cert.ok()) << cert.error().message;
    EXPECT_EQ(name_to_string(X509_get_subject_name(cert->get())),
              "C=NL,L=Helmond,O=vanderstok,CN=masa.stok.nl");
    EXPECT_EQ(certificate_to_der(cert->get()).value(), der);
}

TEST(ParseCertificate, RejectsTrailingByte) {
    Bytes der = test::read_hex("brski/appC2-masa-ca-cert.hex");
    der.push_back(0x00);
    const auto cert = parse_certificate_der(der);
    ASSERT_FALSE(cert.ok());
    EXPECT_EQ(cert.status(), Status::BadRequest);
    EXPECT_EQ(cert.error().message, "certificate: DER: 1 trailing byte(s) after a 501-byte object");
}

TEST(ParseCertificate, RejectsTruncatedInput) {
    Bytes der = test::read_hex("brski/appC2-masa-ca-cert.hex");
    der.pop_back();
    EXPECT_EQ(parse_certificate_der(der).status(), Status::BadRequest);
}

TEST(ParseCertificate, RejectsEmptyInput) {
    EXPECT_EQ(parse_certificate_der(ByteView{}).status(), Status::BadRequest);
}

TEST(ParseCertificate, RejectsACsrWithTheOpensslReason) {
    const auto cert = parse_certificate_der(a2_csr_der());
    ASSERT_FALSE(cert.ok());
    EXPECT_EQ(cert.status(), Status::BadRequest);
    EXPECT_NE(cert.error().message.find("(error:"), std::string::npos) << cert.error().message;
}

TEST(CertificateToDer, NullIsAnInternalError) {
    EXPECT_EQ(certificate_to_der(nullptr).status(), Status::Internal);
}

// ---- parse_csr_der / csr_to_der ----

TEST(ParseCsr, ReadsRfc9148A2AndEncodesItBackIdentically) {
    const Bytes der = a2_csr_der();
    const auto csr = parse_csr_der(der);
    ASSERT_TRUE(csr.ok()) << csr.error().message;
    EXPECT_EQ(name_to_string(X509_REQ_get_subject_name(csr->get())),
              "serialNumber=Wt1234,OU=IoT,O=example Inc,L=LA,ST=CA,C=US");
    EXPECT_EQ(csr_to_der(csr->get()).value(), der);
}

TEST(ParseCsr, RejectsTrailingByte) {
    Bytes der = a2_csr_der();
    der.push_back(0x00);
    EXPECT_EQ(parse_csr_der(der).status(), Status::BadRequest);
}

TEST(ParseCsr, RejectsTruncatedInput) {
    Bytes der = a2_csr_der();
    der.resize(der.size() - 10);
    EXPECT_EQ(parse_csr_der(der).status(), Status::BadRequest);
}

TEST(ParseCsr, RejectsACertificate) {
    EXPECT_EQ(parse_csr_der(test::read_hex("brski/appC2-masa-ca-cert.hex")).status(), Status::BadRequest);
}

TEST(CsrToDer, NullIsAnInternalError) {
    EXPECT_EQ(csr_to_der(nullptr).status(), Status::Internal);
}

// ---- verify_csr_signature (RFC 7030 §4.2.1 proof of possession) ----

TEST(VerifyCsrSignature, AcceptsRfc9148A2AndA3) {
    const auto a2 = verify_csr_signature(a2_csr().get());
    EXPECT_TRUE(a2.ok()) << a2.error().message;
    const auto a3 = parse_csr_der(test::read_hex("rfc9148/a3-skg-request.hex"));
    ASSERT_TRUE(a3.ok());
    EXPECT_TRUE(verify_csr_signature(a3->get()).ok());
}

TEST(VerifyCsrSignature, RejectsOneFlippedSignatureByte) {
    Bytes der = a2_csr_der();
    der.back() ^= 0x01;
    const auto csr = parse_csr_der(der);
    ASSERT_TRUE(csr.ok());
    const auto verified = verify_csr_signature(csr->get());
    ASSERT_FALSE(verified.ok());
    EXPECT_EQ(verified.status(), Status::BadRequest);
    EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(VerifyCsrSignature, RejectsAChangedSubject) {
    Bytes der = a2_csr_der();
    ASSERT_EQ(der[kA2SerialNumberFirstChar], 'W');
    der[kA2SerialNumberFirstChar] = 'X';
    const auto csr = parse_csr_der(der);
    ASSERT_TRUE(csr.ok());
    EXPECT_EQ(verify_csr_signature(csr->get()).status(), Status::BadRequest);
}

TEST(VerifyCsrSignature, RejectsAnUnreadablePublicKey) {
    Bytes der = a2_csr_der();
    ASSERT_EQ(der[kA2CurveOidLastByte], 0x07);
    der[kA2CurveOidLastByte] = 0x7f;  // a curve OpenSSL does not know
    const auto csr = parse_csr_der(der);
    ASSERT_TRUE(csr.ok()) << csr.error().message;
    const auto verified = verify_csr_signature(csr->get());
    ASSERT_FALSE(verified.ok());
    EXPECT_NE(verified.error().message.find("public key"), std::string::npos) << verified.error().message;
}

TEST(VerifyCsrSignature, AcceptsGeneratedRsaAndEd25519Requests) {
    for (auto kind : {test::KeyKind::Rsa2048, test::KeyKind::Ed25519}) {
        const EvpPkeyPtr key = test::make_key(kind);
        const X509ReqPtr csr = reparsed(test::make_csr("CN=device", {}, key.get()).get());
        EXPECT_TRUE(verify_csr_signature(csr.get()).ok());
    }
}

TEST(VerifyCsrSignature, NullIsAnInternalError) {
    EXPECT_EQ(verify_csr_signature(nullptr).status(), Status::Internal);
}

// ---- csr_challenge_password (RFC 7030 §3.5) ----

TEST(CsrChallengePassword, ReadsTheRfc9148A2ThirtySevenByteUtf8String) {
    // RFC 9148 App. C.2 "PoP linking value": a UTF8String of 37 bytes, not base64.
    const auto password = csr_challenge_password(a2_csr().get());
    ASSERT_TRUE(password.ok()) << password.error().message;
    ASSERT_TRUE(password->has_value());
    EXPECT_EQ(password->value().size(), 37u);
    EXPECT_EQ(to_hex(as_bytes(password->value())),
              "76437630292a264a4b4a3bc3a2c280c2992f3e3c2e2c3d6b6e7634332323403d204e787e60");
}

TEST(CsrChallengePassword, IsAbsentFromRfc9148A3) {
    const auto csr = parse_csr_der(test::read_hex("rfc9148/a3-skg-request.hex"));
    ASSERT_TRUE(csr.ok());
    const auto password = csr_challenge_password(csr->get());
    ASSERT_TRUE(password.ok());
    EXPECT_FALSE(password->has_value());
}

TEST(CsrChallengePassword, ReadsPrintableStringAndIa5String) {
    const EvpPkeyPtr key = test::make_key();
    for (int type : {V_ASN1_PRINTABLESTRING, V_ASN1_IA5STRING, V_ASN1_UTF8STRING}) {
        X509ReqPtr csr = test::make_csr("CN=device", {}, key.get());
        test::add_csr_string_attribute(csr.get(), NID_pkcs9_challengePassword, type, "dGxzLXVuaXF1ZQ==");
        test::sign_csr(csr.get(), key.get());
        const auto password = csr_challenge_password(reparsed(csr.get()).get());
        ASSERT_TRUE(password.ok()) << password.error().message;
        EXPECT_EQ(password->value_or(""), "dGxzLXVuaXF1ZQ==");
    }
}

TEST(CsrChallengePassword, RejectsCharactersOutsideTheStringType) {
    const EvpPkeyPtr key = test::make_key();
    const std::pair<int, std::string> bad[] = {
        {V_ASN1_PRINTABLESTRING, "a@b"},
        {V_ASN1_IA5STRING, "caf\xc3\xa9"},
        {V_ASN1_UTF8STRING, "\xff\xfe"},
    };
    for (const auto& [type, value] : bad) {
        X509ReqPtr csr = test::make_csr("CN=device", {}, key.get());
        test::add_csr_string_attribute(csr.get(), NID_pkcs9_challengePassword, type, value);
        test::sign_csr(csr.get(), key.get());
        EXPECT_EQ(csr_challenge_password(reparsed(csr.get()).get()).status(), Status::BadRequest) << type;
    }
}

TEST(CsrChallengePassword, RejectsAnotherStringType) {
    const EvpPkeyPtr key = test::make_key();
    X509ReqPtr csr = test::make_csr("CN=device", {}, key.get());
    test::add_csr_string_attribute(csr.get(), NID_pkcs9_challengePassword, V_ASN1_BMPSTRING,
                                   std::string("\0a", 2));
    test::sign_csr(csr.get(), key.get());
    const auto password = csr_challenge_password(reparsed(csr.get()).get());
    ASSERT_FALSE(password.ok());
    EXPECT_EQ(password.status(), Status::BadRequest);
}

TEST(CsrChallengePassword, RejectsTwoAttributes) {
    const auto csr = parse_csr_der(a2_with_two_challenge_passwords());
    ASSERT_TRUE(csr.ok()) << csr.error().message;
    const auto password = csr_challenge_password(csr->get());
    ASSERT_FALSE(password.ok());
    EXPECT_EQ(password.status(), Status::BadRequest);
    EXPECT_NE(password.error().message.find("more than once"), std::string::npos) << password.error().message;
}

TEST(CsrChallengePassword, RejectsTwoValuesOrNone) {
    // PKCS#9 challengePassword is SINGLE VALUE (RFC 2985 §5.4.1).
    const EvpPkeyPtr key = test::make_key();
    for (int values : {0, 2}) {
        X509ReqPtr csr = test::make_csr("CN=device", {}, key.get());
        X509AttributePtr attribute(X509_ATTRIBUTE_create_by_NID(
            nullptr, NID_pkcs9_challengePassword, values == 0 ? 0 : V_ASN1_UTF8STRING,
            reinterpret_cast<const unsigned char*>("a"), 1));
        ASSERT_NE(attribute, nullptr);
        if (values == 2) {
            ASSERT_EQ(X509_ATTRIBUTE_set1_data(attribute.get(), V_ASN1_UTF8STRING,
                                               reinterpret_cast<const unsigned char*>("b"), 1),
                      1);
        }
        ASSERT_EQ(X509_REQ_add1_attr(csr.get(), attribute.get()), 1);
        test::sign_csr(csr.get(), key.get());
        const auto password = csr_challenge_password(reparsed(csr.get()).get());
        ASSERT_FALSE(password.ok()) << values;
        EXPECT_NE(password.error().message.find(std::to_string(values) + " values"), std::string::npos)
            << password.error().message;
    }
}

TEST(CsrChallengePassword, NullIsAnInternalError) {
    EXPECT_EQ(csr_challenge_password(nullptr).status(), Status::Internal);
}

// ---- identities ----

TEST(CsrIdentity, Rfc9148A2HasSubjectAndHardwareModuleNameSan) {
    const Bytes der = a2_csr_der();
    const auto identity = csr_identity(a2_csr().get());
    ASSERT_TRUE(identity.ok()) << identity.error().message;
    EXPECT_EQ(identity->subject_der,
              Bytes(der.begin() + kA2SubjectOffset, der.begin() + kA2SubjectOffset + kA2SubjectLength));
    EXPECT_EQ(identity->san_der,
              Bytes(der.begin() + kA2SanOffset, der.begin() + kA2SanOffset + kA2SanLength));
}

TEST(CsrIdentity, Rfc9148A3HasNoSan) {
    const auto csr = parse_csr_der(test::read_hex("rfc9148/a3-skg-request.hex"));
    ASSERT_TRUE(csr.ok());
    const auto identity = csr_identity(csr->get());
    ASSERT_TRUE(identity.ok()) << identity.error().message;
    EXPECT_EQ(identity->subject_der, hex("30163114301206035504"
                                         "0a0c0b736b67206578616d706c65"));
    EXPECT_TRUE(identity->san_der.empty());
}

TEST(CertificateIdentity, Rfc9148A2IssuedCertificateEqualsTheCsrIdentity) {
    const auto requested = csr_identity(a2_csr().get());
    const auto issued = certificate_identity(a2_issued_certificate().get());
    ASSERT_TRUE(requested.ok() && issued.ok());
    EXPECT_EQ(*requested, *issued);
}

TEST(CertificateIdentity, CbrskiIdevidHasNoSan) {
    const X509Ptr idevid = test::read_certificate_hex("brski/appC2-pledge-idevid-cert.hex");
    const auto identity = certificate_identity(idevid.get());
    ASSERT_TRUE(identity.ok());
    EXPECT_FALSE(identity->subject_der.empty());
    EXPECT_TRUE(identity->san_der.empty());
}

TEST(CertificateIdentity, RejectsTwoSanExtensions) {
    // RFC 5280 §4.2: a certificate MUST NOT include more than one instance of an extension.
    Pki pki;
    X509Ptr cert = pki.issue("CN=device", {"DNS:a.example"});
    ASSERT_EQ(X509_add_ext(cert.get(), test::make_san_extension({"DNS:b.example"}).get(), -1), 1);
    ASSERT_GT(X509_sign(cert.get(), pki.ca_key.get(), EVP_sha256()), 0);
    const auto identity = certificate_identity(cert.get());
    ASSERT_FALSE(identity.ok());
    EXPECT_EQ(identity.status(), Status::BadRequest);
}

TEST(CertificateIdentity, RejectsASanThatIsNotGeneralNames) {
    Pki pki;
    X509Ptr cert = test::make_certificate("CN=device", pki.client_key.get(), pki.ca.get(), pki.ca_key.get());
    OctetStringPtr value(ASN1_OCTET_STRING_new());
    const Bytes not_names = hex("3003020101");
    ASSERT_EQ(ASN1_OCTET_STRING_set(value.get(), not_names.data(), static_cast<int>(not_names.size())), 1);
    X509ExtensionPtr san(X509_EXTENSION_create_by_NID(nullptr, NID_subject_alt_name, 0, value.get()));
    ASSERT_EQ(X509_add_ext(cert.get(), san.get(), -1), 1);
    const auto identity = certificate_identity(cert.get());
    ASSERT_FALSE(identity.ok());
    EXPECT_EQ(identity.status(), Status::BadRequest);
    EXPECT_NE(identity.error().message.find("subjectAltName"), std::string::npos) << identity.error().message;
}

TEST(CsrIdentity, RejectsTwoSanExtensions) {
    const EvpPkeyPtr key = test::make_key();
    X509ReqPtr csr = test::make_csr("CN=device", {}, key.get());
    X509ExtensionStackPtr extensions(sk_X509_EXTENSION_new_null());
    for (const char* name : {"DNS:a.example", "DNS:b.example"}) {
        ASSERT_GT(sk_X509_EXTENSION_push(extensions.get(), test::make_san_extension({name}).release()), 0);
    }
    ASSERT_EQ(X509_REQ_add_extensions(csr.get(), extensions.get()), 1);
    test::sign_csr(csr.get(), key.get());
    EXPECT_EQ(csr_identity(reparsed(csr.get()).get()).status(), Status::BadRequest);
}

TEST(CsrIdentity, RejectsAMalformedExtensionRequest) {
    const EvpPkeyPtr key = test::make_key();
    X509ReqPtr csr = test::make_csr("CN=device", {}, key.get());
    test::add_csr_string_attribute(csr.get(), NID_ext_req, V_ASN1_UTF8STRING, "not extensions");
    test::sign_csr(csr.get(), key.get());
    const auto identity = csr_identity(reparsed(csr.get()).get());
    ASSERT_FALSE(identity.ok());
    EXPECT_EQ(identity.status(), Status::BadRequest);
    EXPECT_NE(identity.error().message.find("extensionRequest"), std::string::npos)
        << identity.error().message;
}

TEST(Identity, NullIsAnInternalError) {
    EXPECT_EQ(certificate_identity(nullptr).status(), Status::Internal);
    EXPECT_EQ(csr_identity(nullptr).status(), Status::Internal);
    EXPECT_EQ(csr_matches_certificate_identity(nullptr, nullptr).status(), Status::Internal);
}

// ---- csr_matches_certificate_identity (RFC 7030 §4.2.2) ----

TEST(CsrMatchesCertificate, Rfc9148A2RequestMatchesItsIssuedCertificate) {
    const auto matches = csr_matches_certificate_identity(a2_csr().get(), a2_issued_certificate().get());
    ASSERT_TRUE(matches.ok()) << matches.error().message;
    EXPECT_TRUE(*matches);
}

TEST(CsrMatchesCertificate, SameSansInAnotherOrderMatch) {
    Pki pki;
    const X509Ptr cert =
        pki.issue("CN=device,O=estgw", {"DNS:a.example", "IP:192.0.2.1", "email:x@a.example"});
    const X509ReqPtr csr =
        pki.csr("CN=device,O=estgw", {"email:x@a.example", "DNS:a.example", "IP:192.0.2.1"});
    EXPECT_TRUE(csr_matches_certificate_identity(csr.get(), cert.get()).value());
}

TEST(CsrMatchesCertificate, DifferentSanDoesNotMatch) {
    Pki pki;
    const X509Ptr cert = pki.issue("CN=device", {"DNS:a.example", "DNS:b.example"});
    const X509ReqPtr csr = pki.csr("CN=device", {"DNS:a.example", "DNS:c.example"});
    EXPECT_FALSE(csr_matches_certificate_identity(csr.get(), cert.get()).value());
}

TEST(CsrMatchesCertificate, AnExtraSanDoesNotMatch) {
    Pki pki;
    const X509Ptr cert = pki.issue("CN=device", {"DNS:a.example"});
    const X509ReqPtr more = pki.csr("CN=device", {"DNS:a.example", "DNS:b.example"});
    EXPECT_FALSE(csr_matches_certificate_identity(more.get(), cert.get()).value());
    const X509Ptr wider = pki.issue("CN=device", {"DNS:a.example", "DNS:b.example"});
    const X509ReqPtr fewer = pki.csr("CN=device", {"DNS:a.example"});
    EXPECT_FALSE(csr_matches_certificate_identity(fewer.get(), wider.get()).value());
}

TEST(CsrMatchesCertificate, SanOnOneSideOnlyDoesNotMatch) {
    Pki pki;
    const X509Ptr without = pki.issue("CN=device", {});
    EXPECT_FALSE(
        csr_matches_certificate_identity(pki.csr("CN=device", {"DNS:a.example"}).get(), without.get())
            .value());
    const X509Ptr with = pki.issue("CN=device", {"DNS:a.example"});
    EXPECT_FALSE(csr_matches_certificate_identity(pki.csr("CN=device", {}).get(), with.get()).value());
}

TEST(CsrMatchesCertificate, NoSanOnEitherSideMatches) {
    Pki pki;
    const X509Ptr cert = pki.issue("CN=device,O=estgw", {});
    EXPECT_TRUE(csr_matches_certificate_identity(pki.csr("CN=device,O=estgw", {}).get(), cert.get()).value());
}

TEST(CsrMatchesCertificate, DifferentSubjectDoesNotMatch) {
    Pki pki;
    const X509Ptr cert = pki.issue("CN=device,O=estgw", {"DNS:a.example"});
    EXPECT_FALSE(
        csr_matches_certificate_identity(pki.csr("CN=other,O=estgw", {"DNS:a.example"}).get(), cert.get())
            .value());
    EXPECT_FALSE(
        csr_matches_certificate_identity(pki.csr("O=estgw,CN=device", {"DNS:a.example"}).get(), cert.get())
            .value());
}

TEST(CsrMatchesCertificate, SubjectComparisonFoldsCaseAndSpacesAsX509NameCmpDoes) {
    // RFC 5280 §7.1 (via RFC 4518 preparation): "Device  Name" and "device name" are the same name.
    Pki pki;
    const X509Ptr cert = pki.issue("CN=Device  Name", {});
    EXPECT_TRUE(csr_matches_certificate_identity(pki.csr("CN=device name", {}).get(), cert.get()).value());
}

TEST(CsrMatchesCertificate, DirectoryNameSansCompareAsNames) {
    // GENERAL_NAME_cmp hands directoryName to X509_NAME_cmp, so the case folding above applies inside SANs
    // too.
    Pki pki;
    const X509Ptr cert = pki.issue("CN=device", {"dirName:CN=Device,O=estgw", "URI:coaps://a.example/est"});
    const X509ReqPtr csr = pki.csr("CN=device", {"URI:coaps://a.example/est", "dirName:CN=device,O=ESTGW"});
    EXPECT_TRUE(csr_matches_certificate_identity(csr.get(), cert.get()).value());
    const X509ReqPtr other = pki.csr("CN=device", {"URI:coaps://a.example/est", "dirName:CN=other,O=estgw"});
    EXPECT_FALSE(csr_matches_certificate_identity(other.get(), cert.get()).value());
}

TEST(CsrMatchesCertificate, RefusesToCompareMoreThanAThousandNames) {
    // The set comparison is quadratic; a stuffed CSR is refused instead of burning CPU.
    Pki pki;
    const X509Ptr cert = pki.issue("CN=device", {"DNS:a.example"});
    std::vector<std::string> many;
    for (int i = 0; i < 1001; ++i)
        many.push_back("DNS:h" + std::to_string(i) + ".example");
    const auto matches = csr_matches_certificate_identity(pki.csr("CN=device", many).get(), cert.get());
    ASSERT_FALSE(matches.ok());
    EXPECT_EQ(matches.status(), Status::BadRequest);
}

TEST(CsrMatchesCertificate, MalformedCsrExtensionsAreAnError) {
    Pki pki;
    const X509Ptr cert = pki.issue("CN=device", {});
    X509ReqPtr csr = test::make_csr("CN=device", {}, pki.client_key.get());
    test::add_csr_string_attribute(csr.get(), NID_ext_req, V_ASN1_UTF8STRING, "not extensions");
    test::sign_csr(csr.get(), pki.client_key.get());
    EXPECT_EQ(csr_matches_certificate_identity(reparsed(csr.get()).get(), cert.get()).status(),
              Status::BadRequest);
}

TEST(CsrMatchesCertificate, NullCertificateIsAnInternalError) {
    EXPECT_EQ(csr_matches_certificate_identity(a2_csr().get(), nullptr).status(), Status::Internal);
}

// ---- name_to_string ----

TEST(NameToString, UsesRfc2253OrderAndEscaping) {
    // RFC 2253 §2.1: last RDN first; §2.4: a comma in a value is escaped.
    const X509Ptr ca = test::read_certificate_hex("brski/appC2-domain-ca-cert.hex");
    EXPECT_EQ(name_to_string(X509_get_subject_name(ca.get())),
              "C=US,ST=CA,L=San Jose,O=Custom-ER\\, Inc.,OU=IT,CN=Custom-ER Global CA");
}

TEST(NameToString, EscapesNonAsciiBytes) {
    const X509NamePtr name = test::make_name("CN=J\xc3\xbcrgen");
    EXPECT_EQ(name_to_string(name.get()), "CN=J\\C3\\BCrgen");
}

TEST(NameToString, IsEmptyForNullOrEmptyName) {
    EXPECT_EQ(name_to_string(nullptr), "");
    EXPECT_EQ(name_to_string(test::make_name("").get()), "");
}

// ---- is_issued_by / is_self_issued (cBRSKI App. C.2 "what signed what") ----

TEST(IsIssuedBy, CbrskiIdevidWasIssuedByTheMasaCa) {
    const X509Ptr idevid = test::read_certificate_hex("brski/appC2-pledge-idevid-cert.hex");
    const X509Ptr masa = test::read_certificate_hex("brski/appC2-masa-ca-cert.hex");
    const X509Ptr domain_ca = test::read_certificate_hex("brski/appC2-domain-ca-cert.hex");
    EXPECT_TRUE(is_issued_by(idevid.get(), masa.get()));
    EXPECT_FALSE(is_issued_by(idevid.get(), domain_ca.get()));
    EXPECT_FALSE(is_issued_by(masa.get(), idevid.get()));
    EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(IsIssuedBy, CbrskiRegistrarsWereIssuedByTheirDomainCa) {
    const X509Ptr registrar = test::read_certificate_hex("brski/appC2-registrar-cert.hex");
    const X509Ptr domain_ca = test::read_certificate_hex("brski/appC2-domain-ca-cert.hex");
    EXPECT_TRUE(is_issued_by(registrar.get(), domain_ca.get()));
    EXPECT_FALSE(is_issued_by(domain_ca.get(), registrar.get()));
    const X509Ptr rvr_registrar = test::read_certificate_hex("brski/derived/rvr-x5bag-0-registrar-cert.hex");
    const X509Ptr rvr_domain_ca = test::read_certificate_hex("brski/derived/rvr-x5bag-1-domain-ca-cert.hex");
    EXPECT_TRUE(is_issued_by(rvr_registrar.get(), rvr_domain_ca.get()));
}

TEST(IsIssuedBy, SelfSignedCaIssuedItself) {
    const X509Ptr masa = test::read_certificate_hex("brski/appC2-masa-ca-cert.hex");
    EXPECT_TRUE(is_issued_by(masa.get(), masa.get()));
}

TEST(IsIssuedBy, RejectsABrokenSignature) {
    Pki pki;
    Bytes der = test::to_der(pki.issue("CN=device", {}).get());
    der.back() ^= 0x01;
    const auto tampered = parse_certificate_der(der);
    ASSERT_TRUE(tampered.ok());
    EXPECT_FALSE(is_issued_by(tampered->get(), pki.ca.get()));
    EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(IsIssuedBy, RejectsACaWithTheSameNameButAnotherKey) {
    Pki pki;
    const X509Ptr cert = pki.issue("CN=device", {});
    const EvpPkeyPtr other_key = test::make_key();
    const X509Ptr impostor = test::make_self_signed_ca("CN=Test CA,O=estgw", other_key.get());
    EXPECT_TRUE(is_issued_by(cert.get(), pki.ca.get()));
    EXPECT_FALSE(is_issued_by(cert.get(), impostor.get()));
}

TEST(IsIssuedBy, FalseForNull) {
    const X509Ptr masa = test::read_certificate_hex("brski/appC2-masa-ca-cert.hex");
    EXPECT_FALSE(is_issued_by(nullptr, masa.get()));
    EXPECT_FALSE(is_issued_by(masa.get(), nullptr));
}

TEST(IsSelfIssued, TrueForRootsFalseForEndEntities) {
    EXPECT_TRUE(is_self_issued(test::read_certificate_hex("brski/appC2-masa-ca-cert.hex").get()));
    EXPECT_TRUE(is_self_issued(test::read_certificate_hex("brski/appC2-domain-ca-cert.hex").get()));
    EXPECT_FALSE(is_self_issued(test::read_certificate_hex("brski/appC2-pledge-idevid-cert.hex").get()));
    EXPECT_FALSE(is_self_issued(nullptr));
}

// ---- has_extended_key_usage (RFC 7030 §3.7 RA, RFC 9148 §9.2 cmcRA) ----

TEST(HasExtendedKeyUsage, CbrskiRegistrarIsACmcRa) {
    // cBRSKI App. C.2.2: EKU cmcRA + serverAuth + clientAuth.
    const X509Ptr registrar = test::read_certificate_hex("brski/appC2-registrar-cert.hex");
    EXPECT_TRUE(has_extended_key_usage(registrar.get(), NID_cmcRA));
    EXPECT_TRUE(has_extended_key_usage(registrar.get(), NID_server_auth));
    EXPECT_TRUE(has_extended_key_usage(registrar.get(), NID_client_auth));
    EXPECT_FALSE(has_extended_key_usage(registrar.get(), NID_code_sign));
}

TEST(HasExtendedKeyUsage, FalseWithoutTheExtensionOrCertificate) {
    EXPECT_FALSE(
        has_extended_key_usage(test::read_certificate_hex("brski/appC2-masa-ca-cert.hex").get(), NID_cmcRA));
    EXPECT_FALSE(has_extended_key_usage(nullptr, NID_cmcRA));
}

TEST(HasExtendedKeyUsage, ReadsAGeneratedCertificate) {
    Pki pki;
    test::CertOptions options;
    options.extended_key_usage = "cmcRA";
    const X509Ptr ra =
        test::make_certificate("CN=ra", pki.client_key.get(), pki.ca.get(), pki.ca_key.get(), options);
    EXPECT_TRUE(has_extended_key_usage(ra.get(), NID_cmcRA));
    EXPECT_TRUE(is_issued_by(ra.get(), pki.ca.get()));
}

// ---- subject_serial_number (RFC 8995 §2.3.1) ----

TEST(SubjectSerialNumber, ReadsTheIdevidSerialOfCbrskiAppendixC2) {
    const auto idevid = parse_certificate_der(test::read_hex("brski/appC2-pledge-idevid-cert.hex"));
    ASSERT_TRUE(idevid.ok()) << idevid.error().message;
    EXPECT_EQ(subject_serial_number(idevid->get()), std::optional<std::string>("JADA123456789"));
}

TEST(SubjectSerialNumber, IsAbsentWithoutTheAttribute) {
    const auto registrar = parse_certificate_der(test::read_hex("brski/appC2-registrar-cert.hex"));
    ASSERT_TRUE(registrar.ok()) << registrar.error().message;
    EXPECT_EQ(subject_serial_number(registrar->get()), std::nullopt);
    EXPECT_EQ(subject_serial_number(nullptr), std::nullopt);
}

}  // namespace
}  // namespace estgw
