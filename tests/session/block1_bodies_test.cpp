// --max-body holds while a Block1 body arrives, and a body that stops arriving is dropped after
// --block-timeout (RFC 7959 §2.5, §2.9.3): the early 4.13 with Size1, bodies of several sessions at once,
// abandoned bodies, and the server's memory under four 100 MB uploads. The pledges are coap-client-openssl
// and BlockUploads (support/block_uploads.hpp), which sends every block itself.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "client/coap_client.hpp"
#include "common/x509.hpp"
#include "support/block_uploads.hpp"
#include "support/server_env.hpp"
#include "support/test_pki.hpp"

namespace estgw::test {
namespace {

constexpr unsigned kPkixCert = 287;

class Block1Bodies : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { library_ = std::make_unique<client::CoapLibrary>(LOG_WARNING); }
    static void TearDownTestSuite() { library_.reset(); }
    void TearDown() override {
        if (HasFailure()) std::cerr << "---- estgw log (tail) ----\n" << log_tail() << "\n";
    }

    std::string log_tail() const {
        const std::string log = env_.log();
        return log.size() > 8000 ? log.substr(log.size() - 8000) : log;
    }

    std::unique_ptr<BlockUploads> uploads(std::size_t sessions) {
        client::CoapsUrl url;
        url.host = "127.0.0.1";
        url.port = static_cast<std::uint16_t>(env_.port);
        auto address = client::resolve_server(url);
        if (!address) throw std::runtime_error(address.error().message);
        client::DtlsIdentity identity;
        identity.cert_file = env_.idevid.cert;
        identity.key_file = env_.idevid.key;
        identity.ca_file = env_.pki + "/ca.crt";
        return std::make_unique<BlockUploads>(*address, identity, sessions);
    }

    // Waits (up to 30 s) until the log holds a line matching `pattern`; returns the whole log.
    std::string wait_for_log(const std::string& pattern) {
        const std::regex re(pattern);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        std::string log = env_.log();
        while (!std::regex_search(log, re) && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            log = env_.log();
        }
        return log;
    }

    // A field of /proc/<pid>/status in KiB ("VmRSS", "VmHWM").
    long status_kib(const std::string& field) const {
        std::ifstream status("/proc/" + std::to_string(env_.pid()) + "/status");
        std::string line;
        while (std::getline(status, line)) {
            if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
        }
        return -1;
    }

    static inline std::unique_ptr<client::CoapLibrary> library_;
    ServerEnv env_;
};

// ---- the limit, at the first block that shows it (RFC 7959 §2.9.3) ----

// coap-client (libcoap) sends Size1 with every block: block 0 already says the body is too large.
TEST_F(Block1Bodies, ABodyWhoseSize1PassesTheLimitGets413WithSize1AtItsFirstBlock) {
    env_.start({"--max-body", "4096"});
    std::string file = env_.dir.file("big");
    write_file(file, std::string(20000, '\x30'));
    auto r = env_.coap("/.well-known/est/sen", {"-m", "post", "-t", "286", "-b", "1024", "-f", file});
    EXPECT_EQ(r.code, "4.13") << r.output;
    EXPECT_EQ(r.options["Size1"], "4096");
    EXPECT_EQ(r.output.find("c:2.31"), std::string::npos) << "blocks were acknowledged first:\n" << r.output;
}

TEST_F(Block1Bodies, WithoutSize1TheFirstBlockEndingPastTheLimitGets413WithSize1) {
    env_.start({"--max-body", "4096"});
    UploadPlan plan;
    plan.body_size = 20000;
    plan.block_size = 1024;
    auto results = uploads(1)->run({plan});
    const UploadResult& r = results.at(0);
    // Blocks 0–2 end at 3072 with more to come; block 3 ends at 4096 with more to come: past the limit.
    EXPECT_EQ(r.codes, (std::vector<std::string>{"2.31", "2.31", "2.31", "4.13"})) << r.failure;
    EXPECT_EQ(r.last_block, 3u);
    EXPECT_EQ(r.size1, 4096u);
}

TEST_F(Block1Bodies, ATwoMegabyteBodyIn16ByteBlocksIsRefusedAtTheLimitNotAtItsEnd) {
    env_.start({"--max-body", "4096"});
    UploadPlan plan;
    plan.body_size = 2 << 20;
    plan.block_size = 16;
    auto results = uploads(1)->run({plan});
    const UploadResult& r = results.at(0);
    EXPECT_EQ(r.count("2.31"), 255u) << r.failure;  // 256 × 16 = 4096 with more to come is block 255
    EXPECT_EQ(r.codes.back(), "4.13");
    EXPECT_EQ(r.last_block, 255u);
    EXPECT_EQ(r.size1, 4096u);
}

// The resource is checked at the first block too: nothing is reassembled for an answer known in advance.
TEST_F(Block1Bodies, ABodyForTheWrongMethodIsRefusedAtItsFirstBlock) {
    env_.start();
    UploadPlan plan;
    plan.path = {".well-known", "est", "crts"};
    plan.body_size = 5000;
    auto results = uploads(1)->run({plan});
    EXPECT_EQ(results.at(0).codes, (std::vector<std::string>{"4.05"}));
}

// ---- bodies of several sessions at once ----

TEST_F(Block1Bodies, TwoSessionsEnrollingInInterleavedBlocksEachGetTheirOwnCertificate) {
    env_.start();
    std::vector<EvpPkeyPtr> keys;
    std::vector<UploadPlan> plans;
    for (int i = 0; i < 2; ++i) {
        keys.push_back(make_key());
        UploadPlan plan;
        plan.body = to_der(make_csr("CN=interleaved-" + std::to_string(i), {}, keys.back().get()).get());
        plan.block_size = 16;
        plan.accept = kPkixCert;
        plans.push_back(plan);
    }
    auto results = uploads(2)->run(plans);
    for (int i = 0; i < 2; ++i) {
        const UploadResult& r = results.at(i);
        ASSERT_EQ(r.codes.back(), "2.04") << r.failure << " " << client::diagnostic_text(r.last);
        EXPECT_GT(r.count("2.31"), 8u);  // a ~200-byte CSR in 16-byte blocks
        auto cert = parse_certificate_der(r.last.body);
        ASSERT_TRUE(cert.ok()) << cert.error().message;
        EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(cert->get()), keys[i].get()), 1)
            << "session " << i << " got a certificate for another body's key";
    }
}

// ---- bodies that stop arriving (RFC 7959 §2.5) ----

TEST_F(Block1Bodies, AnAbandonedBodyIsDroppedAfterTheBlockTimeoutAndItsNextBlockIs408) {
    env_.start({"--block-timeout", "2"});
    auto pledge = uploads(1);
    UploadPlan plan;
    plan.body_size = 8000;
    plan.stop_after = 3;
    plan.request_tag = {0x42};
    auto first = pledge->run({plan});
    ASSERT_TRUE(first.at(0).abandoned) << first.at(0).failure;
    // The session stays open meanwhile: the body goes by the block timeout, not with its session.
    std::string log = wait_for_log("block1-expired dropped=1 timeout_s=2 bodies=0 bytes=0");
    EXPECT_NE(log.find("block1-expired dropped=1 timeout_s=2 bodies=0 bytes=0"), std::string::npos) << log;
    EXPECT_EQ(log.find("block1-dropped"), std::string::npos);
    plan.first_block = 3;  // the rest of the same body, on the same session
    auto rest = pledge->run({plan});
    EXPECT_EQ(rest.at(0).codes, (std::vector<std::string>{"4.08"}));
}

TEST_F(Block1Bodies, TwoHundredAbandonedBodiesAreDroppedAfterTheBlockTimeout) {
    env_.start({"--block-timeout", "3"});
    constexpr std::size_t kBodies = 200;
    auto pledges = uploads(kBodies);
    UploadPlan plan;
    plan.body_size = 16000;
    plan.stop_after = 2;
    auto results = pledges->run(std::vector<UploadPlan>(kBodies, plan));
    for (const auto& r : results)
        ASSERT_TRUE(r.abandoned) << r.failure;
    // The sweep may take them in more than one line; the last says none is left.
    std::string log = wait_for_log("block1-expired dropped=\\d+ timeout_s=3 bodies=0 bytes=0");
    const std::regex line("block1-expired dropped=(\\d+) timeout_s=3 bodies=(\\d+) bytes=(\\d+)");
    std::size_t dropped = 0;
    for (std::sregex_iterator it(log.begin(), log.end(), line), end; it != end; ++it)
        dropped += std::stoul((*it)[1]);
    EXPECT_EQ(dropped, kBodies) << log_tail();
    EXPECT_NE(log.find("bodies=0 bytes=0"), std::string::npos);
}

TEST_F(Block1Bodies, TheBodyOfASessionThatClosesIsDroppedWithIt) {
    env_.start();
    auto pledge = uploads(1);
    UploadPlan plan;
    plan.body_size = 8000;
    plan.stop_after = 2;
    ASSERT_TRUE(pledge->run({plan}).at(0).abandoned);
    pledge.reset();  // close_notify: libcoap deletes the server's session
    std::string log = wait_for_log("block1-dropped dropped=1 reason=\"session closed\" bodies=0 bytes=0");
    EXPECT_NE(log.find("block1-dropped dropped=1 reason=\"session closed\" bodies=0 bytes=0"),
              std::string::npos)
        << log_tail();
}

// ---- memory (issue: four 100 MB uploads at once took the server to 398 MB) ----

// Each 100 MB upload, in 1024-byte blocks without Size1, is refused when it reaches --max-body (1 MiB): the
// server never holds more than four bodies of 1 MiB. The margin covers the four DTLS sessions (~80 KB
// each), libcoap's per-body records and the allocator's slack; it is documented, not tuned to a
// measurement that happens to pass.
TEST_F(Block1Bodies, FourConcurrent100MbUploadsKeepTheServerWithinFourBodiesOfMemory) {
    constexpr std::size_t kMaxBody = 1 << 20;
    constexpr long kMarginKib = 8 * 1024;
    env_.start({"--max-body", std::to_string(kMaxBody)});
    auto pledges = uploads(4);
    // The sessions' handshakes first (a body refused at once, 4.05), so that the base includes them.
    UploadPlan handshake;
    handshake.path = {".well-known", "est", "crts"};
    handshake.body_size = 10;
    pledges->run(std::vector<UploadPlan>(4, handshake));
    const long base = status_kib("VmRSS");
    // Peak RSS from here on: writing 5 to clear_refs resets VmHWM to the current RSS (Linux ≥ 4.0).
    std::ofstream(("/proc/" + std::to_string(env_.pid()) + "/clear_refs").c_str()) << "5";
    UploadPlan plan;
    plan.body_size = std::size_t{100} << 20;
    plan.block_size = 1024;
    auto results = pledges->run(std::vector<UploadPlan>(4, plan));
    for (const auto& r : results) {
        EXPECT_EQ(r.codes.back(), "4.13") << r.failure;
        EXPECT_EQ(r.count("2.31"), kMaxBody / 1024 - 1);
    }
    const long peak = status_kib("VmHWM");
    const long after = status_kib("VmRSS");
    std::cout << "[ rss      ] base " << base << " KiB, peak " << peak << " KiB (+" << peak - base
              << "), after " << after << " KiB; bound base + 4 x " << kMaxBody / 1024 << " + " << kMarginKib
              << " KiB\n";
    EXPECT_LT(peak, base + 4 * static_cast<long>(kMaxBody / 1024) + kMarginKib);
}

}  // namespace
}  // namespace estgw::test
