// The stateless first flight of a DTLS handshake (RFC 6347 §4.2.1), as the hello gate uses it.
#include "common/dtls_hello.hpp"

#include <gtest/gtest.h>

#include "support/dtls_flood.hpp"

namespace estgw::dtls_hello {
namespace {

Bytes hello(ByteView cookie = {}, std::uint64_t record_seq = 5, std::uint16_t message_seq = 0) {
    return test::dtls_client_hello(42, cookie, record_seq, message_seq);
}

TEST(DtlsHello, AClientHelloWithoutCookieIsRecognised) {
    const Bytes datagram = hello();
    auto c = classify(datagram);
    ASSERT_EQ(c.kind, Kind::ClientHello);
    EXPECT_TRUE(c.hello.cookie.empty());
    EXPECT_EQ(c.hello.client_version, 0xfefd);
    EXPECT_EQ(c.hello.record_sequence[5], 5);
}

TEST(DtlsHello, TheCookieOfASecondClientHelloIsRead) {
    const Bytes cookie(32, 0xab);
    const Bytes datagram = hello(cookie, 1, 1);  // the classification points into it
    auto c = classify(datagram);
    ASSERT_EQ(c.kind, Kind::ClientHello);
    EXPECT_EQ(Bytes(c.hello.cookie.begin(), c.hello.cookie.end()), cookie);
    EXPECT_EQ(c.hello.message_seq, 1);
}

TEST(DtlsHello, ApplicationDataAndOtherHandshakeMessagesAreNotTheGatesBusiness) {
    Bytes data = hello();
    data[0] = 23;  // application_data
    EXPECT_EQ(classify(data).kind, Kind::Other);
    data = hello();
    data[13] = 11;  // certificate
    EXPECT_EQ(classify(data).kind, Kind::Other);
    EXPECT_EQ(classify(Bytes{22, 0xfe}).kind, Kind::Other);
    EXPECT_EQ(classify(Bytes{}).kind, Kind::Other);
}

TEST(DtlsHello, AnEncryptedRecordThatHappensToLookLikeAClientHelloIsLeftAlone) {
    Bytes data = hello();
    data[4] = 1;  // epoch 1: a Finished whose ciphertext starts with 0x01
    EXPECT_EQ(classify(data).kind, Kind::Other);
}

TEST(DtlsHello, ATruncatedClientHelloIsMalformed) {
    const Bytes full = hello();
    for (std::size_t n : {std::size_t{14}, std::size_t{25}, std::size_t{60}, full.size() - 1}) {
        EXPECT_EQ(classify(ByteView(full.data(), n)).kind, Kind::MalformedClientHello) << n;
    }
}

TEST(DtlsHello, AFragmentedClientHelloIsMalformed) {
    Bytes data = hello();
    data[13 + 8] = 1;  // fragment_offset 1
    EXPECT_EQ(classify(data).kind, Kind::MalformedClientHello);
}

TEST(DtlsHello, AWrongRecordVersionIsMalformed) {
    Bytes data = hello();
    data[1] = 0x03;  // TLS, not DTLS
    data[2] = 0x03;
    EXPECT_EQ(classify(data).kind, Kind::MalformedClientHello);
}

TEST(DtlsHello, LengthsThatDisagreeAreMalformed) {
    Bytes data = hello();
    data[13 + 12 + 2 + 32] = 33;  // session_id longer than 32
    EXPECT_EQ(classify(data).kind, Kind::MalformedClientHello);
    data = hello();
    data.push_back(0);  // a byte more than the extensions claim, inside the record
    data[12] = static_cast<std::uint8_t>(data[12] + 1);
    data[13 + 3] = static_cast<std::uint8_t>(data[13 + 3] + 1);
    data[13 + 11] = static_cast<std::uint8_t>(data[13 + 11] + 1);
    EXPECT_EQ(classify(data).kind, Kind::MalformedClientHello);
}

// RFC 6347 §4.2.1: record and message version DTLS 1.0, the ClientHello's record sequence number,
// message_seq 0, and the cookie.
TEST(DtlsHello, TheHelloVerifyRequestEchoesTheRecordSequenceAndCarriesTheCookie) {
    const Bytes datagram = hello({}, 0x010203);
    auto c = classify(datagram);
    const Bytes cookie(32, 0x5a);
    const Bytes hvr = hello_verify_request(c.hello, cookie);
    ASSERT_EQ(hvr.size(), 13u + 12 + 3 + 32);
    EXPECT_EQ(hvr[0], 22);
    EXPECT_EQ(hvr[1], 0xfe);
    EXPECT_EQ(hvr[2], 0xff);
    EXPECT_EQ(hvr[8], 0x01);
    EXPECT_EQ(hvr[9], 0x02);
    EXPECT_EQ(hvr[10], 0x03);
    EXPECT_EQ(hvr[13], kHelloVerifyRequest);
    EXPECT_EQ(hvr[17], 0);  // message_seq
    EXPECT_EQ(hvr[18], 0);
    EXPECT_EQ(test::hello_verify_cookie(hvr), cookie);
}

TEST(DtlsHelloCookies, ACookieIsGoodForTheAddressItWasMadeFor) {
    CookieJar jar(30);
    const Bytes peer{2, 127, 0, 0, 1, 0x16, 0x34};
    auto cookie = jar.make(peer, 1000);
    EXPECT_TRUE(jar.check(peer, cookie, 1000));
    const Bytes other_port{2, 127, 0, 0, 1, 0x16, 0x35};
    EXPECT_FALSE(jar.check(other_port, cookie, 1000));
}

TEST(DtlsHelloCookies, ACookieLivesBetweenOneAndTwoWindows) {
    CookieJar jar(30);
    const Bytes peer{2, 10, 0, 0, 1, 0, 80};
    auto cookie = jar.make(peer, 1019);  // window 33 (990..1019)
    EXPECT_TRUE(jar.check(peer, cookie, 1020));
    EXPECT_TRUE(jar.check(peer, cookie, 1049));
    EXPECT_FALSE(jar.check(peer, cookie, 1050));
}

TEST(DtlsHelloCookies, AnotherProcessSecretRejectsTheCookie) {
    CookieJar a, b;
    const Bytes peer{2, 10, 0, 0, 1, 0, 80};
    EXPECT_FALSE(b.check(peer, a.make(peer, 5), 5));
}

TEST(DtlsHelloCookies, ACookieOfTheWrongLengthIsRejected) {
    CookieJar jar;
    const Bytes peer{2, 10, 0, 0, 1, 0, 80};
    auto cookie = jar.make(peer, 5);
    EXPECT_FALSE(jar.check(peer, ByteView(cookie.data(), 31), 5));
    EXPECT_FALSE(jar.check(peer, {}, 5));
}

}  // namespace
}  // namespace estgw::dtls_hello
