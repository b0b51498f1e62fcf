// dtls_hello::classify on arbitrary datagrams, as the hello gate meets them on the CoAP port; for what it
// takes for a ClientHello, the HelloVerifyRequest and the cookie check must work on any cookie it read.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "common/dtls_hello.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace estgw;
    static const dtls_hello::CookieJar jar;
    const auto classified = dtls_hello::classify(ByteView(data, size));
    if (classified.kind != dtls_hello::Kind::ClientHello) return 0;
    const auto& hello = classified.hello;
    // What was read lies inside the datagram.
    if (!hello.cookie.empty() &&
        (hello.cookie.data() < data || hello.cookie.data() + hello.cookie.size() > data + size)) {
        std::abort();
    }
    const Bytes peer{2, 127, 0, 0, 1, 0x16, 0x34};
    const auto cookie = jar.make(peer, 100);
    if (jar.check(peer, hello.cookie, 100) &&
        !std::equal(cookie.begin(), cookie.end(), hello.cookie.begin(), hello.cookie.end())) {
        std::abort();
    }
    const Bytes reply = dtls_hello::hello_verify_request(hello, cookie);
    if (reply.size() !=
        dtls_hello::kRecordHeaderLength + dtls_hello::kHandshakeHeaderLength + 3 + cookie.size())
        std::abort();
    return 0;
}
