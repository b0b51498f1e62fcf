// The forwarded client certificate header (--trust-forwarded-client-cert), as estgw's gateway mode sends it
// (mapping/http_request.cpp: URL-encoded PEM of the leaf) and as a strict reader must refuse anything else.
#include "mapping/forwarded_client_cert.hpp"

#include <gtest/gtest.h>

#include "common/base64.hpp"
#include "common/pem.hpp"
#include "mapping/ca_fixtures.hpp"
#include "mapping/http_request.hpp"

namespace estgw::mapping {
namespace {

using test::make_leaf_der;
using test::make_root_ca;

const test::TestCa& root() {
    static const test::TestCa ca = make_root_ca("CN=Forwarding Test Root");
    return ca;
}

const Bytes& leaf() {
    static const Bytes der = make_leaf_der("CN=pledge-1", root());
    return der;
}

std::string pem_of(const std::vector<Bytes>& chain) {
    std::string pem;
    for (const Bytes& der : chain)
        pem += pem_encode(der, "CERTIFICATE");
    return pem;
}

// What estgw's gateway sends for a chain.
std::string header_value(const std::vector<Bytes>& chain) {
    return percent_encode(pem_of(chain));
}

Status refusal(std::string_view value) {
    return parse_forwarded_client_cert(value).status();
}

HttpRequest with_headers(std::vector<HttpHeader> headers) {
    HttpRequest request;
    request.method = "POST";
    request.path = "/.well-known/est/simplereenroll";
    request.headers = std::move(headers);
    return request;
}

TEST(ForwardedClientCert, TheLeafAsTheGatewaySendsItIsAccepted) {
    auto chain = parse_forwarded_client_cert(header_value({leaf()}));
    ASSERT_TRUE(chain.ok()) << chain.error().message;
    EXPECT_EQ(*chain, std::vector<Bytes>{leaf()});
}

TEST(ForwardedClientCert, AChainComesBackLeafFirst) {
    auto chain = parse_forwarded_client_cert(header_value({leaf(), root().der}));
    ASSERT_TRUE(chain.ok()) << chain.error().message;
    EXPECT_EQ(*chain, (std::vector<Bytes>{leaf(), root().der}));
}

// nginx's $ssl_client_escaped_cert and other proxies leave some characters unencoded; '+' in base64 must
// stay a plus (RFC 3986 percent-decoding, not HTML form decoding).
TEST(ForwardedClientCert, UnencodedBase64CharactersAreTakenAsThemselves) {
    std::string value = header_value({leaf()});
    ASSERT_NE(value.find("%2B"), std::string::npos) << "the test certificate's base64 holds no '+'";
    for (const auto& [encoded, plain] : {std::pair{"%2B", "+"}, {"%2F", "/"}, {"%3D", "="}}) {
        for (std::size_t at = value.find(encoded); at != std::string::npos; at = value.find(encoded))
            value.replace(at, 3, plain);
    }
    auto chain = parse_forwarded_client_cert(value);
    ASSERT_TRUE(chain.ok()) << chain.error().message;
    EXPECT_EQ(*chain, std::vector<Bytes>{leaf()});
}

TEST(ForwardedClientCert, CrlfLineEndsAreAccepted) {
    std::string pem = pem_of({leaf()});
    std::string crlf;
    for (char c : pem)
        crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    auto chain = parse_forwarded_client_cert(percent_encode(crlf));
    ASSERT_TRUE(chain.ok()) << chain.error().message;
    EXPECT_EQ(*chain, std::vector<Bytes>{leaf()});
}

TEST(ForwardedClientCert, AnEmptyValueIsRefused) {
    auto chain = parse_forwarded_client_cert("");
    ASSERT_FALSE(chain.ok());
    EXPECT_EQ(chain.error().status, Status::BadRequest);
    EXPECT_NE(chain.error().message.find("empty"), std::string::npos);
}

TEST(ForwardedClientCert, BadPercentEncodingIsRefused) {
    const std::string value = header_value({leaf()});
    EXPECT_EQ(refusal(value + "%"), Status::BadRequest);
    EXPECT_EQ(refusal(value.substr(0, 20) + "%G0" + value.substr(20)), Status::BadRequest);
}

TEST(ForwardedClientCert, BareBase64WithoutArmourIsRefused) {
    auto chain = parse_forwarded_client_cert(percent_encode(base64_encode(leaf())));
    ASSERT_FALSE(chain.ok());
    EXPECT_NE(chain.error().message.find("bare base64"), std::string::npos) << chain.error().message;
}

TEST(ForwardedClientCert, ABlockWithAnotherLabelIsRefused) {
    auto chain =
        parse_forwarded_client_cert(percent_encode(pem_of({leaf()}) + pem_encode(leaf(), "X509 CRL")));
    ASSERT_FALSE(chain.ok());
    EXPECT_NE(chain.error().message.find("certificate 2 is a 'X509 CRL' block"), std::string::npos)
        << chain.error().message;
}

TEST(ForwardedClientCert, TextBeforeBetweenOrAfterTheBlocksIsRefused) {
    const std::string pem = pem_of({leaf()});
    for (const std::string& text : {"subject=CN=pledge-1\n" + pem, pem + "trailing\n",
                                    pem + "Bag Attributes\n" + pem_encode(root().der, "CERTIFICATE")}) {
        auto chain = parse_forwarded_client_cert(percent_encode(text));
        ASSERT_FALSE(chain.ok()) << text;
        EXPECT_NE(chain.error().message.find("outside the CERTIFICATE blocks"), std::string::npos)
            << chain.error().message;
    }
}

TEST(ForwardedClientCert, ABlockThatIsNotACertificateIsRefused) {
    auto chain = parse_forwarded_client_cert(percent_encode(pem_encode(Bytes{0x30, 0x00}, "CERTIFICATE")));
    ASSERT_FALSE(chain.ok());
    EXPECT_NE(chain.error().message.find("certificate 1:"), std::string::npos) << chain.error().message;
}

TEST(ForwardedClientCert, BytesAfterTheCertificateDerAreRefused) {
    Bytes padded = leaf();
    padded.push_back(0x00);
    EXPECT_EQ(refusal(percent_encode(pem_encode(padded, "CERTIFICATE"))), Status::BadRequest);
}

TEST(ForwardedClientCert, MoreCertificatesThanTheLimitAreRefused) {
    std::vector<Bytes> chain(kMaxForwardedCertificates, leaf());
    EXPECT_TRUE(parse_forwarded_client_cert(header_value(chain)).ok());
    chain.push_back(leaf());
    auto refused = parse_forwarded_client_cert(header_value(chain));
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().message.find("at most"), std::string::npos) << refused.error().message;
}

TEST(ForwardedClientChain, AnAbsentHeaderIsNoForwardedCertificate) {
    auto chain =
        forwarded_client_chain(with_headers({{"Content-Type", "application/pkcs10"}}), "X-Client-Cert");
    ASSERT_TRUE(chain.ok());
    EXPECT_FALSE(chain->has_value());
}

TEST(ForwardedClientChain, TheHeaderNameIsMatchedWithoutRegardToCase) {
    auto chain =
        forwarded_client_chain(with_headers({{"x-client-cert", header_value({leaf()})}}), "X-Client-Cert");
    ASSERT_TRUE(chain.ok()) << chain.error().message;
    ASSERT_TRUE(chain->has_value());
    EXPECT_EQ(**chain, std::vector<Bytes>{leaf()});
}

TEST(ForwardedClientChain, TheHeaderTwiceIsRefused) {
    const std::string value = header_value({leaf()});
    auto chain = forwarded_client_chain(with_headers({{"X-Client-Cert", value}, {"X-CLIENT-CERT", value}}),
                                        "X-Client-Cert");
    ASSERT_FALSE(chain.ok());
    EXPECT_EQ(chain.error().status, Status::BadRequest);
    EXPECT_NE(chain.error().message.find("more than once"), std::string::npos) << chain.error().message;
}

TEST(ForwardedClientChain, AMalformedValueIsRefused) {
    EXPECT_EQ(forwarded_client_chain(with_headers({{"X-Client-Cert", "garbage"}}), "X-Client-Cert").status(),
              Status::BadRequest);
}

}  // namespace
}  // namespace estgw::mapping
