// The OpenSSL glue every DER parser builds on: error queue text, i2d/d2i wrappers with whole-input checks.
#include "common/openssl.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include "support/test_data.hpp"

namespace estgw {
namespace {

using test::hex;

void push_openssl_error() {
    // Parsing one byte as a certificate always fails and queues at least one error.
    const unsigned char byte = 0x30;
    const unsigned char* p = &byte;
    X509Ptr cert(d2i_X509(nullptr, &p, 1));
    ASSERT_EQ(cert, nullptr);
}

TEST(OpensslErrors, IsEmptyWhenTheQueueIsEmpty) {
    ERR_clear_error();
    EXPECT_EQ(openssl_errors(), "");
}

TEST(OpensslErrors, DescribesQueuedErrorsAndClearsTheQueue) {
    ERR_clear_error();
    push_openssl_error();
    const std::string text = openssl_errors();
    EXPECT_NE(text.find("error:"), std::string::npos) << text;
    EXPECT_EQ(ERR_peek_error(), 0u);
    EXPECT_EQ(openssl_errors(), "");
}

TEST(OpensslErrors, JoinsSeveralErrorsAndTheirDetailText) {
    ERR_clear_error();
    ERR_raise_data(ERR_LIB_X509, X509_R_CERT_ALREADY_IN_HASH_TABLE, "first detail");
    ERR_raise(ERR_LIB_ASN1, ASN1_R_TOO_LONG);
    const std::string text = openssl_errors();
    EXPECT_NE(text.find(": first detail; error:"), std::string::npos) << text;
}

TEST(OpensslError, CombinesContextWhatAndQueue) {
    ERR_clear_error();
    push_openssl_error();
    const Error error = openssl_error(Status::BadRequest, "certificate", "not valid DER");
    EXPECT_EQ(error.status, Status::BadRequest);
    EXPECT_EQ(error.message.rfind("certificate: not valid DER (error:", 0), 0u) << error.message;
    EXPECT_EQ(error.message.back(), ')');
}

TEST(OpensslError, OmitsTheParenthesesWhenTheQueueIsEmpty) {
    ERR_clear_error();
    const Error error = openssl_error(Status::Internal, "key", "missing");
    EXPECT_EQ(error.message, "key: missing");
}

struct Fake {
    int value = 0;
};

int fake_i2d_failing(const Fake*, unsigned char**) {
    return -1;
}
int fake_i2d_unstable(const Fake* fake, unsigned char** out) {
    return out == nullptr ? fake->value : 1;
}
int fake_i2d_three(const Fake*, unsigned char** out) {
    if (out != nullptr) {
        for (std::uint8_t b : {0x05, 0x01, 0x07})
            *(*out)++ = b;
    }
    return 3;
}

TEST(I2dBytes, ReturnsTheEncoding) {
    const Fake fake;
    const auto der = i2d_bytes(&fake, fake_i2d_three);
    ASSERT_TRUE(der.ok());
    EXPECT_EQ(*der, hex("050107"));
}

TEST(I2dBytes, RejectsNullObject) {
    EXPECT_EQ(i2d_bytes<Fake>(nullptr, fake_i2d_three).status(), Status::Internal);
}

TEST(I2dBytes, ReportsEncoderFailure) {
    const Fake fake;
    EXPECT_EQ(i2d_bytes(&fake, fake_i2d_failing).status(), Status::Internal);
}

TEST(I2dBytes, ReportsALengthThatChangesBetweenPasses) {
    const Fake fake{4};
    EXPECT_EQ(i2d_bytes(&fake, fake_i2d_unstable).status(), Status::Internal);
}

// A d2i that "decodes" one byte into a static object, which the no-op deleter then leaves alone.
Fake* fake_d2i_consumes_one(Fake**, const unsigned char** in, long) {
    static Fake fake;
    ++*in;
    return &fake;
}
void keep_fake(Fake*) {}
using FakePtr = std::unique_ptr<Fake, OpensslDeleter<Fake, keep_fake>>;

TEST(D2iExactly, DecodesOneObject) {
    const Bytes der = test::read_hex("brski/appC2-masa-ca-cert.hex");
    const auto cert = d2i_exactly<X509Ptr>(der, d2i_X509, "certificate");
    ASSERT_TRUE(cert.ok()) << cert.error().message;
    EXPECT_NE(cert->get(), nullptr);
}

TEST(D2iExactly, RejectsADecoderThatStopsBeforeTheEnd) {
    const auto object = d2i_exactly<FakePtr>(hex("3003020101"), fake_d2i_consumes_one, "fake");
    ASSERT_FALSE(object.ok());
    EXPECT_EQ(object.status(), Status::BadRequest);
    EXPECT_EQ(object.error().message, "fake: 4 trailing byte(s) after 1 byte(s)");
}

TEST(D2iExactly, RejectsUndecodableInputWithTheOpensslReason) {
    const auto cert = d2i_exactly<X509Ptr>(hex("3003020101"), d2i_X509, "certificate");
    ASSERT_FALSE(cert.ok());
    EXPECT_EQ(cert.status(), Status::BadRequest);
    EXPECT_EQ(cert.error().message.rfind("certificate: not valid DER (error:", 0), 0u)
        << cert.error().message;
}

TEST(D2iExactly, RejectsBadFramingBeforeDecoding) {
    EXPECT_EQ(d2i_exactly<X509Ptr>(ByteView{}, d2i_X509, "certificate").status(), Status::BadRequest);
    EXPECT_EQ(d2i_exactly<X509Ptr>(hex("3080020101 0000"), d2i_X509, "certificate").status(),
              Status::BadRequest);
}

}  // namespace
}  // namespace estgw
