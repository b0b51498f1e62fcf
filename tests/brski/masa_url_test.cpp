// The MASA's location (brski/masa_url, BRSKI.md §3.4 and D10): the IDevID's id-pe-masa-url and --masa-url.
#include "brski/masa_url.hpp"

#include <gtest/gtest.h>

#include "support/test_data.hpp"
#include "support/test_pki.hpp"

namespace estgw::brski {
namespace {

// A certificate carrying id-pe-masa-url with `extn_value` (DER) as the extension value. The signature does
// not matter to the parser.
X509Ptr with_masa_url(const Bytes& extn_value) {
    static const EvpPkeyPtr key = test::make_key();
    X509Ptr cert = test::make_certificate("CN=pledge,serialNumber=7", key.get(), nullptr, key.get());
    ASN1_OBJECT* oid = OBJ_txt2obj(kOidMasaUrlExtension, 1);
    ASN1_OCTET_STRING* data = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(data, extn_value.data(), static_cast<int>(extn_value.size()));
    X509ExtensionPtr extension(X509_EXTENSION_create_by_OBJ(nullptr, oid, 0, data));
    ASN1_OCTET_STRING_free(data);
    ASN1_OBJECT_free(oid);
    X509_add_ext(cert.get(), extension.get(), -1);
    return cert;
}

Bytes string_tlv(std::uint8_t tag, const std::string& text) {
    return test::der_tlv(tag, to_bytes(text));
}

// cBRSKI App. C.2.1 and C.4: "masa.stok.nl" posts to https://masa.stok.nl/.well-known/brski/requestvoucher.
TEST(MasaUrlFromIdevid, OfTheAppendixIdevidIsTheWellKnownBaseOfItsAuthority) {
    const auto idevid = test::read_certificate_hex("brski/appC2-pledge-idevid-cert.hex");
    auto url = masa_url_from_idevid(idevid.get());
    ASSERT_TRUE(url.ok()) << url.error().message;
    ASSERT_TRUE(*url);
    EXPECT_EQ(**url, "https://masa.stok.nl/.well-known/brski");
    EXPECT_EQ(requestvoucher_url(**url), "https://masa.stok.nl/.well-known/brski/requestvoucher");
}

TEST(MasaUrlFromIdevid, IsAbsentWithoutTheExtension) {
    const auto key = test::make_key();
    const auto cert = test::make_certificate("CN=pledge", key.get(), nullptr, key.get());
    auto url = masa_url_from_idevid(cert.get());
    ASSERT_TRUE(url.ok()) << url.error().message;
    EXPECT_EQ(*url, std::nullopt);
}

TEST(MasaUrlFromIdevid, ToleratesAUtf8String) {
    auto url = masa_url_from_idevid(with_masa_url(string_tlv(0x0c, "masa.example.com:8443")).get());
    ASSERT_TRUE(url.ok()) << url.error().message;
    EXPECT_EQ(url->value(), "https://masa.example.com:8443/.well-known/brski");
}

TEST(MasaUrlFromIdevid, TakesAFullHttpsUri) {
    auto url =
        masa_url_from_idevid(with_masa_url(string_tlv(0x16, "https://masa.example.com/vendor/brski")).get());
    ASSERT_TRUE(url.ok()) << url.error().message;
    EXPECT_EQ(url->value(), "https://masa.example.com/vendor/brski");
}

TEST(MasaUrlFromIdevid, RefusesAnotherAsn1Type) {
    auto url = masa_url_from_idevid(with_masa_url(test::hex("020101")).get());
    ASSERT_FALSE(url.ok());
    EXPECT_EQ(url.status(), Status::BadRequest);
    EXPECT_NE(url.error().message.find("IA5String"), std::string::npos) << url.error().message;
}

TEST(MasaUrlFromIdevid, RefusesTrailingBytesAfterTheString) {
    EXPECT_EQ(masa_url_from_idevid(
                  with_masa_url(test::joined({string_tlv(0x16, "a.example"), test::hex("00")})).get())
                  .status(),
              Status::BadRequest);
}

// RFC 8995 §2.3.2: HTTPS only.
TEST(MasaUrlFromIdevid, RefusesAnHttpUriNamingTheScheme) {
    auto url = masa_url_from_idevid(with_masa_url(string_tlv(0x16, "http://masa.example.com")).get());
    ASSERT_FALSE(url.ok());
    EXPECT_EQ(url.status(), Status::BadRequest);
    EXPECT_NE(url.error().message.find("scheme 'http'"), std::string::npos) << url.error().message;
}

struct Form {
    const char* value;
    const char* base;
};

class MasaUrlOption : public ::testing::TestWithParam<Form> {};

TEST_P(MasaUrlOption, GivesTheBase) {
    auto base = masa_base_from_option(GetParam().value);
    ASSERT_TRUE(base.ok()) << base.error().message;
    EXPECT_EQ(*base, GetParam().base);
}

INSTANTIATE_TEST_SUITE_P(
    Forms, MasaUrlOption,
    ::testing::Values(
        Form{"masa.example.com", "https://masa.example.com/.well-known/brski"},
        Form{"masa.example.com:8443", "https://masa.example.com:8443/.well-known/brski"},
        Form{"192.0.2.7:443", "https://192.0.2.7:443/.well-known/brski"},
        Form{"[2001:db8::1]:8443", "https://[2001:db8::1]:8443/.well-known/brski"},
        Form{"[::1]", "https://[::1]/.well-known/brski"},
        Form{"https://masa.example.com", "https://masa.example.com/.well-known/brski"},
        Form{"https://masa.example.com/", "https://masa.example.com/.well-known/brski"},
        Form{"HTTPS://masa.example.com:9443", "https://masa.example.com:9443/.well-known/brski"},
        Form{"https://masa.example.com/.well-known/brski", "https://masa.example.com/.well-known/brski"},
        Form{"https://masa.example.com/.well-known/brski/", "https://masa.example.com/.well-known/brski"},
        Form{"https://masa.example.com/vendor/brski", "https://masa.example.com/vendor/brski"}));

class MasaUrlOptionRefused : public ::testing::TestWithParam<const char*> {};

TEST_P(MasaUrlOptionRefused, AsBadRequestNamingTheOption) {
    auto base = masa_base_from_option(GetParam());
    ASSERT_FALSE(base.ok()) << *base;
    EXPECT_EQ(base.status(), Status::BadRequest);
    EXPECT_EQ(base.error().message.rfind("--masa-url '", 0), 0u) << base.error().message;
}

INSTANTIATE_TEST_SUITE_P(Forms, MasaUrlOptionRefused,
                         ::testing::Values("", "http://masa.example.com", "coaps://masa.example.com",
                                           "masa.example.com/brski",
                                           "masa.example.com:", "masa.example.com:0",
                                           "masa.example.com:65536", "masa.example.com:https", "https://",
                                           "https://user@masa.example.com", "https://masa.example.com/?x=1",
                                           "https://masa.example.com/#top", "masa example.com",
                                           "[2001:db8::1", "[2001:db8::zz]", "2001:db8::1",
                                           "https://masa.example.com/brski caf\xc3\xa9"));

TEST(RequestvoucherUrl, AppendsTheOperation) {
    EXPECT_EQ(requestvoucher_url("https://m.example/.well-known/brski"),
              "https://m.example/.well-known/brski/requestvoucher");
    EXPECT_EQ(requestvoucher_url("https://m.example/vendor/"), "https://m.example/vendor/requestvoucher");
}

}  // namespace
}  // namespace estgw::brski
