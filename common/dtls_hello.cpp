#include "common/dtls_hello.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace estgw::dtls_hello {

namespace {

std::uint32_t be16(ByteView b, std::size_t at) {
    return static_cast<std::uint32_t>(b[at]) << 8 | b[at + 1];
}
std::uint32_t be24(ByteView b, std::size_t at) {
    return static_cast<std::uint32_t>(b[at]) << 16 | be16(b, at + 1);
}

void put16(Bytes& out, std::uint32_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 8));
    out.push_back(static_cast<std::uint8_t>(v));
}
void put24(Bytes& out, std::uint32_t v) {
    out.push_back(static_cast<std::uint8_t>(v >> 16));
    put16(out, v);
}

// DTLS 1.0 (0xfeff) and 1.2 (0xfefd); DTLS 1.3 ClientHellos still say 1.2 in the record.
bool is_dtls_version(std::uint32_t v) {
    return v == 0xfeff || v == 0xfefd;
}

// The ClientHello body (RFC 6347 §4.2.1): client_version, random[32], session_id<0..32>, cookie<0..2^8-1>,
// cipher_suites<2..2^16-2>, compression_methods<1..2^8-1>, then optional extensions up to the end.
std::optional<ClientHello> read_body(ByteView body) {
    ClientHello hello;
    std::size_t at = 0;
    if (body.size() < 2 + 32 + 1) return std::nullopt;
    hello.client_version = static_cast<std::uint16_t>(be16(body, 0));
    at = 2 + 32;
    std::size_t session_id = body[at++];
    if (session_id > 32 || body.size() < at + session_id + 1) return std::nullopt;
    at += session_id;
    std::size_t cookie = body[at++];
    if (body.size() < at + cookie + 2) return std::nullopt;
    hello.cookie = body.subspan(at, cookie);
    at += cookie;
    std::size_t suites = be16(body, at);
    at += 2;
    if (suites < 2 || suites % 2 != 0 || body.size() < at + suites + 1) return std::nullopt;
    at += suites;
    std::size_t compressions = body[at++];
    if (compressions < 1 || body.size() < at + compressions) return std::nullopt;
    at += compressions;
    if (at == body.size()) return hello;
    if (body.size() < at + 2 || be16(body, at) != body.size() - at - 2) return std::nullopt;
    return hello;
}

}  // namespace

Classified classify(ByteView datagram) {
    Classified out;
    // What libcoap 4.3.1 takes for a ClientHello (content type and handshake type only) must never reach
    // it unchecked, so anything with those two bytes at epoch 0 is a ClientHello or malformed here.
    if (datagram.size() < kRecordHeaderLength + 1 || datagram[0] != kContentHandshake ||
        datagram[kRecordHeaderLength] != kClientHello) {
        return out;
    }
    const std::uint32_t epoch = be16(datagram, 3);
    if (epoch != 0) return out;  // an encrypted handshake record of an existing session
    out.kind = Kind::MalformedClientHello;
    const std::uint32_t record_version = be16(datagram, 1);
    const std::size_t record_length = be16(datagram, 11);
    if (!is_dtls_version(record_version) || datagram.size() < kRecordHeaderLength + record_length ||
        record_length < kHandshakeHeaderLength) {
        return out;
    }
    ByteView record = datagram.subspan(kRecordHeaderLength, record_length);
    const std::size_t message_length = be24(record, 1);
    const std::uint32_t message_seq = be16(record, 4);
    const std::size_t fragment_offset = be24(record, 6);
    const std::size_t fragment_length = be24(record, 9);
    // A fragmented ClientHello cannot be answered statelessly (OpenSSL's DTLSv1_listen refuses it too).
    if (fragment_offset != 0 || fragment_length != message_length ||
        record.size() != kHandshakeHeaderLength + message_length) {
        return out;
    }
    auto hello = read_body(record.subspan(kHandshakeHeaderLength));
    if (!hello) return out;
    hello->record_version = static_cast<std::uint16_t>(record_version);
    for (std::size_t i = 0; i < 6; ++i)
        hello->record_sequence[i] = datagram[5 + i];
    hello->message_seq = static_cast<std::uint16_t>(message_seq);
    out.kind = Kind::ClientHello;
    out.hello = *hello;
    return out;
}

Bytes hello_verify_request(const ClientHello& hello, ByteView cookie) {
    const std::size_t body_length = 2 + 1 + cookie.size();
    Bytes out;
    out.reserve(kRecordHeaderLength + kHandshakeHeaderLength + body_length);
    out.push_back(kContentHandshake);
    put16(out, 0xfeff);  // RFC 6347 §4.2.1: DTLS 1.0 whatever version will be negotiated
    put16(out, 0);       // epoch
    out.insert(out.end(), hello.record_sequence.begin(), hello.record_sequence.end());
    put16(out, static_cast<std::uint32_t>(kHandshakeHeaderLength + body_length));
    out.push_back(kHelloVerifyRequest);
    put24(out, static_cast<std::uint32_t>(body_length));
    put16(out, 0);  // message_seq: the server's first message; its ServerHello then has 1
    put24(out, 0);  // fragment_offset
    put24(out, static_cast<std::uint32_t>(body_length));
    put16(out, 0xfeff);
    out.push_back(static_cast<std::uint8_t>(cookie.size()));
    out.insert(out.end(), cookie.begin(), cookie.end());
    return out;
}

CookieJar::CookieJar(std::uint32_t window_seconds) : window_(window_seconds == 0 ? 1 : window_seconds) {
    if (RAND_bytes(secret_.data(), static_cast<int>(secret_.size())) != 1) {
        throw std::runtime_error("no randomness for the DTLS cookie secret");
    }
}

CookieJar::Cookie CookieJar::mac(ByteView peer, std::uint64_t window_index) const {
    std::uint8_t index[8];
    for (int i = 0; i < 8; ++i)
        index[i] = static_cast<std::uint8_t>(window_index >> (56 - 8 * i));
    Bytes input(peer.begin(), peer.end());
    input.insert(input.end(), index, index + 8);
    Cookie out{};
    unsigned length = 0;
    HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()), input.data(), input.size(),
         out.data(), &length);
    return out;
}

CookieJar::Cookie CookieJar::make(ByteView peer, std::uint64_t now_seconds) const {
    return mac(peer, now_seconds / window_);
}

bool CookieJar::check(ByteView peer, ByteView cookie, std::uint64_t now_seconds) const {
    if (cookie.size() != kCookieLength) return false;
    const std::uint64_t window = now_seconds / window_;
    for (std::uint64_t w : {window, window - 1}) {
        if (window == 0 && w != 0) continue;
        Cookie expected = mac(peer, w);
        if (CRYPTO_memcmp(expected.data(), cookie.data(), kCookieLength) == 0) return true;
    }
    return false;
}

}  // namespace estgw::dtls_hello
