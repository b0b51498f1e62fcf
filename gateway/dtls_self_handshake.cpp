#include "gateway/dtls_self_handshake.hpp"

#include <netinet/in.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstring>

#include "common/file_descriptor.hpp"
#include "common/openssl.hpp"

namespace estgw::gateway {

namespace {

// The wildcard addresses are not destinations: use loopback of the same family.
sockaddr_storage destination(const sockaddr* target, socklen_t length) {
    sockaddr_storage out{};
    std::memcpy(&out, target, std::min<std::size_t>(length, sizeof out));
    if (out.ss_family == AF_INET6) {
        auto& v6 = reinterpret_cast<sockaddr_in6&>(out);
        if (IN6_IS_ADDR_UNSPECIFIED(&v6.sin6_addr)) v6.sin6_addr = in6addr_loopback;
    } else if (out.ss_family == AF_INET) {
        auto& v4 = reinterpret_cast<sockaddr_in&>(out);
        if (v4.sin_addr.s_addr == htonl(INADDR_ANY)) v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    }
    return out;
}

}  // namespace

Result<SelfHandshake> handshake_with_self(const sockaddr* target, socklen_t target_length,
                                          const std::function<void(const sockaddr* client)>& pump,
                                          const std::function<bool()>& done,
                                          std::chrono::milliseconds budget) {
    const sockaddr_storage to = destination(target, target_length);
    FileDescriptor socket_fd(::socket(to.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (socket_fd.get() < 0 ||
        ::connect(socket_fd.get(), reinterpret_cast<const sockaddr*>(&to), target_length) != 0)
        return make_error(Status::Internal,
                          std::string("self handshake: cannot reach the front: ") + std::strerror(errno));
    SelfHandshake result;
    socklen_t client_length = sizeof result.client;
    ::getsockname(socket_fd.get(), reinterpret_cast<sockaddr*>(&result.client), &client_length);

    SslCtxPtr client_ctx(SSL_CTX_new(DTLS_client_method()));
    if (!client_ctx) return openssl_error(Status::Internal, "self handshake", "SSL_CTX_new");
    SSL_CTX_set_verify(client_ctx.get(), SSL_VERIFY_NONE, nullptr);  // it never gets as far as a certificate
    SslPtr ssl(SSL_new(client_ctx.get()));
    BIO* bio = ssl ? BIO_new_dgram(socket_fd.get(), BIO_NOCLOSE) : nullptr;
    if (!bio) return openssl_error(Status::Internal, "self handshake", "SSL_new");
    BIO_ctrl(bio, BIO_CTRL_DGRAM_SET_CONNECTED, 0, const_cast<sockaddr_storage*>(&to));
    SSL_set_bio(ssl.get(), bio, bio);  // the SSL owns the BIO from here
    SSL_set_connect_state(ssl.get());

    const auto deadline = std::chrono::steady_clock::now() + budget;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return make_error(Status::Internal,
                              "self handshake: the front did not take the ClientHello in time");
        SSL_do_handshake(ssl.get());  // sends, or answers the HelloVerifyRequest; never blocks
        pump(reinterpret_cast<const sockaddr*>(&result.client));
    }
    return result;
}

}  // namespace estgw::gateway
