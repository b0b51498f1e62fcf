// Issue 11 §1: floods of DTLS ClientHellos must not lock legitimate pledges out (RFC 6347 §4.2.1: the
// cookie exchange exists so that unverified ClientHellos cost the server no state). With estgw's default
// settings, legitimate `estgw enroll` runs during each flood must all succeed, each within 3 s, and the
// memory that abandoned handshakes take must be given back after the handshake timeout.
//
// The floods are bounded in count and time and go to 127.0.0.1 only. The figures each test prints are
// recorded in docs/BENCHMARKS.md.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "support/dtls_flood.hpp"
#include "support/server_env.hpp"

namespace estgw::test {
namespace {

using Clock = std::chrono::steady_clock;

long rss_kb(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    }
    return -1;
}

struct Enrollment {
    int exit_code = -1;
    double seconds = 0;
    std::string output;
};

class HandshakeFlood : public ::testing::Test {
  protected:
    void SetUp() override {
        env.start();
        target.sin_family = AF_INET;
        target.sin_port = htons(static_cast<std::uint16_t>(env.port));
        target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        // Some enrollments first: what served pledges cost (sessions, the store's page cache) is in the
        // baseline, not in the flood's figures.
        for (int i = 0; i < 10; ++i)
            ASSERT_EQ(enroll().exit_code, 0);
        baseline_kb = rss_kb(env.pid());
    }

    Enrollment enroll() {
        const std::string out = env.dir.file("enroll" + std::to_string(++enrollments));
        const auto started = Clock::now();
        RunResult r =
            run_estgw({"enroll", "--server", "coaps://127.0.0.1:" + std::to_string(env.port), "--cert",
                       env.idevid.cert, "--key", env.idevid.key, "--ca", env.pki + "/ca.crt", "--out", out},
                      std::chrono::seconds(30));
        return {r.exit_code, std::chrono::duration<double>(Clock::now() - started).count(), r.output};
    }

    // Enrolls one pledge after another while `flood` runs, and at least `minimum` times.
    std::vector<Enrollment> enroll_during(const std::function<FloodResult()>& flood, std::size_t minimum,
                                          FloodResult& result,
                                          std::chrono::milliseconds pause = std::chrono::milliseconds(50)) {
        auto running = std::async(std::launch::async, flood);
        std::vector<Enrollment> done;
        while (done.size() < minimum ||
               running.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
            done.push_back(enroll());
            if (done.size() >= 100) break;  // bounded whatever happens
            std::this_thread::sleep_for(pause);
        }
        result = running.get();
        return done;
    }

    static void expect_all_fast(const std::vector<Enrollment>& runs, const char* what) {
        double slowest = 0;
        for (const auto& r : runs) {
            EXPECT_EQ(r.exit_code, 0) << what << ": " << r.output;
            EXPECT_LT(r.seconds, 3.0) << what << ": " << r.output;
            slowest = std::max(slowest, r.seconds);
        }
        std::printf("[figures] %s: %zu enrollments, slowest %.0f ms\n", what, runs.size(), slowest * 1000);
    }

    ServerEnv env;
    sockaddr_in target{};
    long baseline_kb = 0;
    int enrollments = 0;
};

TEST_F(HandshakeFlood, EnrollmentsSucceedDuringABurstOf20000CookielessClientHellos) {
    FloodResult flood;
    auto runs = enroll_during([&] { return flood_client_hellos(target, 20000, 0); }, 3, flood);
    EXPECT_EQ(flood.sent, 20000u);
    expect_all_fast(runs, "20000-ClientHello burst");
    std::printf("[figures] burst sent in %.2f s; RSS %ld -> %ld kB\n", flood.seconds, baseline_kb,
                rss_kb(env.pid()));
    // Afterwards too: the burst left no state that holds a handshake slot.
    Enrollment after = enroll();
    EXPECT_EQ(after.exit_code, 0) << after.output;
    EXPECT_LT(after.seconds, 3.0);
}

TEST_F(HandshakeFlood, EnrollmentsSucceedDuringAHundredCookielessClientHellosASecond) {
    FloodResult flood;
    auto runs = enroll_during([&] { return flood_client_hellos(target, 1000, 100); }, 5, flood);
    EXPECT_EQ(flood.sent, 1000u);
    EXPECT_GE(flood.seconds, 9.0);  // it really was sustained for about 10 s
    expect_all_fast(runs, "100 ClientHellos/s for 10 s");
}

TEST_F(HandshakeFlood, EnrollmentsSucceedDuring5000AbandonedHandshakesAndMemoryReturnsAfterTheTimeout) {
    FloodResult flood;
    // 200 source addresses, 500 handshakes a second: more than --max-handshakes (1000) are abandoned within
    // the handshake timeout, so the oldest give way.
    auto runs = enroll_during([&] { return abandoned_handshakes(target, 5000, 200, 500); }, 3, flood,
                              std::chrono::milliseconds(500));
    EXPECT_EQ(flood.sent, 5000u);
    // The server answered the first flight of each (statelessly) and the attacker echoed the cookies.
    EXPECT_GT(flood.cookies_echoed, 4500u);
    expect_all_fast(runs, "5000 abandoned cookie-echoed handshakes");
    const long peak_kb = rss_kb(env.pid());
    // --handshake-timeout (8 s by default) ends them; libcoap frees their sessions on its next pass, and the
    // heap goes back to the system a second later. Polled for up to 15 s, bounded.
    // Each CoAP I/O thread (--io-threads, default: the cores) allocates from a glibc arena of its own, and
    // each arena keeps about 1 MB of partly used pages after the flood (measured with /proc/PID/smaps: two
    // threads, +0.98 and +1.13 MB on their arenas, +0.78 MB on the main heap), so 1 MB per thread beyond
    // the first is allowed on top of the 10 %.
    const long io_threads = std::max(1u, std::thread::hardware_concurrency());
    const long allowed_kb = baseline_kb * 11 / 10 + 1024 * (io_threads - 1);
    const auto flood_end = Clock::now();
    long after_kb = peak_kb;
    while (Clock::now() - flood_end < std::chrono::seconds(15)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        after_kb = rss_kb(env.pid());
        if (after_kb <= allowed_kb) break;
    }
    const double returned_after = std::chrono::duration<double>(Clock::now() - flood_end).count();
    std::printf(
        "[figures] abandoned: sent in %.2f s, cookies echoed %zu; RSS %ld kB before, %ld kB at the end "
        "of the flood, %ld kB %.1f s later\n",
        flood.seconds, flood.cookies_echoed, baseline_kb, peak_kb, after_kb, returned_after);
    EXPECT_LE(after_kb, allowed_kb) << "RSS did not return within 10 % of " << baseline_kb << " kB (plus "
                                    << io_threads - 1 << " MB for the I/O threads beyond the first)";
    Enrollment after = enroll();
    EXPECT_EQ(after.exit_code, 0) << after.output;
}

TEST_F(HandshakeFlood, OneAddressCannotHoldMoreThanItsShareOfHandshakes) {
    // 400 abandoned handshakes from 127.0.1.1 at once: only --max-handshakes-per-address (a quarter of
    // --max-handshakes: 250) of them get as far as libcoap; a pledge on another address (127.0.0.1) enrolls
    // meanwhile.
    FloodResult flood;
    auto runs = enroll_during([&] { return abandoned_handshakes(target, 400, 1, 0, 400); }, 2, flood);
    EXPECT_EQ(flood.cookies_echoed, 400u);
    expect_all_fast(runs, "400 abandoned handshakes from one address");
    std::string log;
    for (int i = 0; i < 40 && log.find("dtls-handshake-refused") == std::string::npos; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        log = env.log();
    }
    EXPECT_NE(
        log.find("dtls-handshake-refused peer=127.0.1.1 reason=\"too many handshakes from this address at "
                 "once\" limit=250 option=--max-handshakes-per-address"),
        std::string::npos)
        << log;
}

}  // namespace
}  // namespace estgw::test
