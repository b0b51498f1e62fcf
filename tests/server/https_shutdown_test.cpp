// SIGTERM while a client (a gateway, say) holds an idle keep-alive HTTPS connection to an estgw server: the
// connection is closed during the drain, nothing is served over it afterwards, and "stopped" is the last line
// the server logs. cpp-httplib 0.11 alone kept such a connection for 5 s after the server stopped, and served
// an enrollment that arrived on it, after the process had logged "stopped".
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>

#include <sstream>
#include <thread>

#include "common/base64.hpp"
#include "support/server_env.hpp"

namespace estgw::test {
namespace {

std::string last_line(const std::string& text) {
    std::istringstream in(text);
    std::string last;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) last = line;
    }
    return last;
}

std::size_t count_of(const std::string& text, const std::string& what) {
    std::size_t count = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size()))
        ++count;
    return count;
}

TEST(ServerShutdown, AnIdleHttpsKeepAliveConnectionIsClosedAndServesNothingAfterTheSignal) {
    // A write on the connection the server closed must fail, not kill the test.
    ::signal(SIGPIPE, SIG_IGN);
    ServerEnv env;
    env.start({"--drain-timeout", "2"});
    const std::string csr_der = read_file(env.csr("keep-alive", "CN=keep-alive-client", {}));
    const std::string body =
        base64_encode(ByteView(reinterpret_cast<const std::uint8_t*>(csr_der.data()), csr_der.size()), 64);
    httplib::SSLClient client("127.0.0.1", env.https_port, env.idevid.cert, env.idevid.key);
    client.enable_server_certificate_verification(false);  // the server's identity is not what is tested
    client.set_keep_alive(true);
    auto first = client.Post("/.well-known/est/simpleenroll", body, "application/pkcs10");
    ASSERT_TRUE(first) << httplib::to_string(first.error()) << env.log();
    ASSERT_EQ(first->status, 200) << env.log();

    const auto signalled = std::chrono::steady_clock::now();
    env.send_signal(SIGTERM);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    // Sent on the kept connection, or on a new one if it has gone: either way not served.
    auto second = client.Post("/.well-known/est/simpleenroll", body, "application/pkcs10");
    EXPECT_TRUE(!second || second->status == 503) << second->status;
    const int code = env.wait_exit(std::chrono::seconds(10));
    const double exited = std::chrono::duration<double>(std::chrono::steady_clock::now() - signalled).count();
    EXPECT_EQ(code, 0) << env.log();
    EXPECT_LT(exited, 3.0) << "the drain timeout is 2 s";  // not the 5 s of an idle keep-alive connection

    const std::string log = env.log();
    EXPECT_EQ(count_of(log, "https-request peer="), 1u) << log;
    EXPECT_NE(last_line(log).find(" stopped"), std::string::npos) << log;
}

}  // namespace
}  // namespace estgw::test
