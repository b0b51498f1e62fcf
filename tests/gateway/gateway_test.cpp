// estgw in gateway mode, end to end: the real binary, coap-client-openssl as the pledge (Debian
// libcoap3-bin), and a real HTTPS RFC 7030 server as upstream. Nothing on the protocol boundary is mocked.
#include <gtest/gtest.h>
#include <signal.h>

#include <future>
#include <set>
#include <thread>

#include "common/base64.hpp"
#include "common/cbor.hpp"
#include "common/pkcs7.hpp"
#include "common/x509.hpp"
#include "gateway/gateway_env.hpp"
#include "mapping/multipart_core.hpp"
#include "support/shared_env.hpp"
#include "support/test_pki.hpp"

namespace estgw::test {
namespace {

// One gateway for the tests that use the default configuration.
class Gateway : public SharedEnvTest<Gateway, GatewayEnv> {
  protected:
    void SetUp() override { env_->upstream->restore_defaults(); }

    std::string csr(const std::string& name = "pledge") {
        return env().write_csr(name, "CN=pledge-1,O=estgw tests", {"DNS:pledge-1.example"});
    }
};

Bytes bytes_of(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

std::vector<Bytes> certs_in(const std::string& certs_only) {
    auto certs = certs_only_certificates_der(bytes_of(certs_only));
    EXPECT_TRUE(certs.ok()) << (certs.ok() ? "" : certs.error().message);
    return certs.ok() ? *certs : std::vector<Bytes>{};
}

std::string subject_of(const Bytes& der) {
    auto cert = parse_certificate_der(der);
    return cert ? name_to_string(X509_get_subject_name(cert->get())) : "<unparseable>";
}

// ---- discovery (RFC 9148 §4.1) ----

TEST_F(Gateway, DiscoveryListsEveryServedResourceWithRtAndCt) {
    auto r = env().coap("/.well-known/core");
    ASSERT_EQ(r.code, "2.05");
    EXPECT_EQ(r.options["Content-Format"], "application/link-format");  // coap-client names CF 40
    for (const char* link : {"</est/crts>;rt=\"ace.est.crts\"", "</est/sen>;rt=\"ace.est.sen\"",
                             "</est/sren>;rt=\"ace.est.sren\"", "</est/att>;rt=\"ace.est.att\";ct=285",
                             "</est/skg>;rt=\"ace.est.skg\";ct=62", "</est/skc>;rt=\"ace.est.skc\";ct=62"}) {
        EXPECT_NE(r.payload.find(link), std::string::npos) << link << " missing in " << r.payload;
    }
    // /rv is not relayed without pledge-certificate forwarding (RFC 8995 §5.2), so it is not advertised.
    EXPECT_EQ(r.payload.find("brski.rv"), std::string::npos);
}

TEST_F(Gateway, DiscoveryFiltersByRtPrefix) {
    auto r = env().coap("/.well-known/core?rt=ace.est.s*");
    ASSERT_EQ(r.code, "2.05");
    EXPECT_NE(r.payload.find("ace.est.sen"), std::string::npos);
    EXPECT_NE(r.payload.find("ace.est.skg"), std::string::npos);
    EXPECT_EQ(r.payload.find("ace.est.crts"), std::string::npos);
    EXPECT_EQ(r.payload.find("brski"), std::string::npos);
}

// ---- every resource ----

TEST_F(Gateway, CrtsReturnsTheCaCertificatesAsCertsOnly) {
    auto r = env().coap("/.well-known/est/crts");
    ASSERT_EQ(r.code, "2.05") << r.output;
    EXPECT_EQ(r.options["Content-Format"], "281");
    auto certs = certs_in(r.payload);
    ASSERT_EQ(certs.size(), 1u);
    EXPECT_EQ(subject_of(certs[0]), "O=estgw tests,CN=estgw Test Root CA");
}

TEST_F(Gateway, CrtsWithAccept287ReturnsTheIssuingCaCertificate) {
    auto r = env().coap("/est/crts", {"-A", "287"});
    ASSERT_EQ(r.code, "2.05");
    EXPECT_EQ(r.options["Content-Format"], "287");
    EXPECT_EQ(subject_of(bytes_of(r.payload)), "O=estgw tests,CN=estgw Test Root CA");
}

TEST_F(Gateway, CrtsIsServedFromTheCacheWithoutCallingTheUpstreamEachTime) {
    ASSERT_EQ(env().coap("/est/crts").code, "2.05");
    int before = env().upstream->calls("cacerts");
    for (int i = 0; i < 3; ++i)
        ASSERT_EQ(env().coap("/est/crts").code, "2.05");
    EXPECT_EQ(env().upstream->calls("cacerts"), before);
}

TEST_F(Gateway, SenEnrollsAndReturnsCertsOnlyByDefault) {
    auto r = env().coap("/est/sen", {"-m", "post", "-t", "286", "-f", csr()});
    ASSERT_EQ(r.code, "2.04") << r.output;
    EXPECT_EQ(r.options["Content-Format"], "281");
    auto certs = certs_in(r.payload);
    ASSERT_EQ(certs.size(), 1u);
    EXPECT_EQ(subject_of(certs[0]), "O=estgw tests,CN=pledge-1");
}

TEST_F(Gateway, SenWithAccept287ReturnsTheBareCertificate) {
    auto r = env().coap("/.well-known/est/sen", {"-m", "post", "-t", "286", "-A", "287", "-f", csr()});
    ASSERT_EQ(r.code, "2.04");
    EXPECT_EQ(r.options["Content-Format"], "287");
    EXPECT_EQ(subject_of(bytes_of(r.payload)), "O=estgw tests,CN=pledge-1");
}

TEST_F(Gateway, SenSendsBase64Pkcs10ToTheUpstreamsSimpleenroll) {
    std::string file = csr("forwarded");
    ASSERT_EQ(env().coap("/est/sen", {"-m", "post", "-t", "286", "-f", file}).code, "2.04");
    auto requests = env().upstream->requests();
    ASSERT_FALSE(requests.empty());
    const auto& last = requests.back();
    EXPECT_EQ(last.path, "/.well-known/est/simpleenroll");
    EXPECT_EQ(last.content_type, "application/pkcs10");
    EXPECT_EQ(last.client_subject, "CN=estgw RA");
    auto der = base64_decode(last.body);
    ASSERT_TRUE(der.ok());
    EXPECT_EQ(*der, bytes_of(read_file(file)));
}

TEST_F(Gateway, SrenWithTheSameIdentityRenews) {
    auto r = env().coap("/est/sren", {"-m", "post", "-t", "286", "-f", csr("renew")});
    ASSERT_EQ(r.code, "2.04") << r.output;
    EXPECT_EQ(subject_of(certs_in(r.payload).at(0)), "O=estgw tests,CN=pledge-1");
}

// RFC 7030 §4.2.2, RFC 9148 §5: the gateway checks what the upstream cannot see.
TEST_F(Gateway, SrenWithAnotherSubjectIsForbiddenAndNotForwarded) {
    int before = env().upstream->calls("simplereenroll");
    std::string other = env().write_csr("other", "CN=someone-else,O=estgw tests", {"DNS:pledge-1.example"});
    auto r = env().coap("/est/sren", {"-m", "post", "-t", "286", "-f", other});
    EXPECT_EQ(r.code, "4.03");
    EXPECT_EQ(env().upstream->calls("simplereenroll"), before);
}

TEST_F(Gateway, SrenWithAnotherSubjectAltNameIsForbidden) {
    std::string other = env().write_csr("othersan", "CN=pledge-1,O=estgw tests", {"DNS:evil.example"});
    EXPECT_EQ(env().coap("/est/sren", {"-m", "post", "-t", "286", "-f", other}).code, "4.03");
}

TEST_F(Gateway, AttReturnsCsrAttributes) {
    auto r = env().coap("/est/att");
    ASSERT_EQ(r.code, "2.05");
    EXPECT_EQ(r.options["Content-Format"], "285");
    EXPECT_EQ(static_cast<unsigned char>(r.payload.at(0)), 0x30);
}

TEST_F(Gateway, SkgReturnsMultipartCoreWithPkcs8KeyAndCertsOnly) {
    auto r = env().coap("/est/skg", {"-m", "post", "-t", "286", "-A", "62", "-f", csr("skg")});
    ASSERT_EQ(r.code, "2.04") << r.output;
    EXPECT_EQ(r.options["Content-Format"], "62");
    auto parts = mapping::decode_multipart_core(bytes_of(r.payload));
    ASSERT_TRUE(parts.ok()) << parts.error().message;
    ASSERT_EQ(parts->size(), 2u);
    EXPECT_EQ((*parts)[0].format, ContentFormat::Pkcs8);
    EXPECT_EQ((*parts)[1].format, ContentFormat::CertsOnly);
    auto cert = parse_certificate_der(certs_in(to_string(*(*parts)[1].body)).at(0));
    ASSERT_TRUE(cert.ok());
    // The generated key belongs to the issued certificate.
    const Bytes& key_der = *(*parts)[0].body;
    const unsigned char* p = key_der.data();
    EvpPkeyPtr key(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(key_der.size())));
    ASSERT_TRUE(key);
    EXPECT_EQ(X509_check_private_key(cert->get(), key.get()), 1);
}

TEST_F(Gateway, SkcReturnsTheCertificateAsPkixCert) {
    auto r = env().coap("/est/skc", {"-m", "post", "-t", "286", "-f", csr("skc")});
    ASSERT_EQ(r.code, "2.04") << r.output;
    auto parts = mapping::decode_multipart_core(bytes_of(r.payload));
    ASSERT_TRUE(parts.ok());
    ASSERT_EQ(parts->size(), 2u);
    EXPECT_EQ((*parts)[0].format, ContentFormat::Pkcs8);
    EXPECT_EQ((*parts)[1].format, ContentFormat::PkixCert);
    EXPECT_EQ(subject_of(*(*parts)[1].body), "O=estgw tests,CN=pledge-1");
}

// cBRSKI §6.5.1: CBOR telemetry is relayed to the RFC 8995 JSON endpoint; the pledge gets 2.04 empty.
TEST_F(Gateway, EnrollStatusInCborIsRelayedAsJson) {
    std::string file = env().dir.file("es.cbor");
    Bytes body;
    ASSERT_TRUE(from_hex("A26776657273696F6E0166737461747573F5", body));
    write_file(file, to_string(body));
    auto r = env().coap("/.well-known/brski/es", {"-m", "post", "-t", "60", "-f", file});
    ASSERT_EQ(r.code, "2.04") << r.output;
    EXPECT_TRUE(r.payload.empty());
    auto requests = env().upstream->requests();
    ASSERT_EQ(requests.back().path, "/.well-known/brski/enrollstatus");
    EXPECT_EQ(requests.back().content_type, "application/json");
    EXPECT_NE(requests.back().body.find("\"status\":true"), std::string::npos) << requests.back().body;
}

TEST_F(Gateway, VoucherStatusInJsonIsRelayed) {
    std::string file = env().dir.file("vs.json");
    write_file(file, R"({"version":1,"status":false,"reason":"bad voucher"})");
    auto r = env().coap("/.well-known/brski/vs", {"-m", "post", "-t", "50", "-f", file});
    EXPECT_EQ(r.code, "2.04") << r.output;
    EXPECT_EQ(env().upstream->requests().back().path, "/.well-known/brski/voucher_status");
}

TEST_F(Gateway, RequestVoucherIsNotOfferedWithoutCertificateForwarding) {
    std::string file = env().dir.file("pvr.cose");
    write_file(file, std::string("\xd2\x84\x40\xa0\x40\x40", 6));
    EXPECT_EQ(env().coap("/.well-known/brski/rv", {"-m", "post", "-t", "836", "-f", file}).code, "4.04");
}

// ---- block-wise transfer (RFC 7959; RFC 9148 §4.6) ----

class GatewayBlocks : public Gateway, public ::testing::WithParamInterface<int> {};

TEST_P(GatewayBlocks, CrtsArrivesInBlocksOfTheRequestedSize) {
    std::string size = std::to_string(GetParam());
    auto r = env().coap("/est/crts", {"-b", size});
    ASSERT_EQ(r.code, "2.05");
    EXPECT_EQ(certs_in(r.payload).size(), 1u);
    if (GetParam() < static_cast<int>(r.payload.size())) {
        EXPECT_EQ(r.blocks_received, static_cast<int>((r.payload.size() + GetParam() - 1) / GetParam()));
    }
}

TEST_P(GatewayBlocks, SenSendsTheCsrAndReceivesTheCertificateInBlocks) {
    std::string size = std::to_string(GetParam());
    // Block2 (option 23) with NUM 0 asks early for the answer's block size (RFC 7959 §2.4); SZX = log2(size)
    // - 4.
    int szx = 0;
    while ((16 << szx) < GetParam())
        ++szx;
    std::string early_block2 = "23,0x0" + std::to_string(szx);
    std::vector<std::string> args = {"-m", "post", "-t", "286", "-b", size, "-f", csr("blocks")};
    // At 1024 the ~500-byte answer fits one datagram; coap-client 4.3.1 then writes no body when it asked
    // early for Block2, so the early option is only sent where the answer really needs blocks.
    if (GetParam() < 1024) args.insert(args.end(), {"-O", early_block2});
    auto r = env().coap("/est/sen", args);
    ASSERT_EQ(r.code, "2.04") << r.output;
    EXPECT_EQ(subject_of(certs_in(r.payload).at(0)), "O=estgw tests,CN=pledge-1");
    if (GetParam() < static_cast<int>(r.payload.size())) {
        EXPECT_NE(r.output.find("Block1:0/M/" + size), std::string::npos);
        EXPECT_EQ(r.blocks_received, static_cast<int>((r.payload.size() + GetParam() - 1) / GetParam()));
    }
}

INSTANTIATE_TEST_SUITE_P(BlockSizes, GatewayBlocks, ::testing::Values(16, 64, 256, 1024));

TEST_F(Gateway, UpstreamIsCalledOnceForAnAnswerFetchedInManyBlocks) {
    int before = env().upstream->calls("serverkeygen");
    // Option 23 (Block2) 0x00 asks early for 16-byte blocks of the answer (RFC 7959 §2.4).
    auto r = env().coap("/est/skg",
                        {"-m", "post", "-t", "286", "-b", "16", "-O", "23,0x00", "-f", csr("manyblocks")});
    ASSERT_EQ(r.code, "2.04") << r.output;
    EXPECT_GT(r.blocks_received, 20);  // ~700 bytes in 16-byte blocks
    EXPECT_TRUE(mapping::decode_multipart_core(bytes_of(r.payload)).ok());
    EXPECT_EQ(env().upstream->calls("serverkeygen"), before + 1);
}

// RFC 7959 §2.7: a POST for Block2 block 3 of an answer nobody keeps is 4.08, never a second enrollment.
TEST_F(Gateway, PostForALaterBlockOfAnAnswerNoLongerKeptIs408AndNotForwarded) {
    int before = env().upstream->calls("simpleenroll");
    auto r = env().coap("/est/sen", {"-m", "post", "-t", "286", "-O", "23,0x32", "-f", csr("late-block")});
    EXPECT_EQ(r.code, "4.08") << r.output;
    EXPECT_EQ(env().upstream->calls("simpleenroll"), before);
}

TEST_F(Gateway, SurvivesTenPercentPacketLoss) {
    for (int i = 0; i < 3; ++i) {
        auto r =
            env().coap("/est/sen", {"-m", "post", "-t", "286", "-b", "64", "-l", "10%", "-f", csr("lossy")});
        ASSERT_EQ(r.code, "2.04") << r.output;
        EXPECT_EQ(certs_in(r.payload).size(), 1u);
    }
    auto r = env().coap("/est/crts", {"-b", "64", "-l", "10%"});
    ASSERT_EQ(r.code, "2.05");
}

// ---- concurrency ----

TEST_F(Gateway, AnswersTwentyClientsAtOnce) {
    constexpr int kClients = 20;
    std::string file = csr("concurrent");
    std::vector<CoapClientRun> runs;
    for (int i = 0; i < kClients; ++i) {
        std::string out = env().dir.file("concurrent-" + std::to_string(i));
        runs.push_back(
            {env().coap_command("/est/sen", {"-m", "post", "-t", "286", "-f", file}, std::nullopt, out),
             out});
    }
    std::vector<CoapOutcome> all = run_coap_clients_at_once(runs);
    std::set<std::string> serials;
    for (const CoapOutcome& r : all) {
        ASSERT_EQ(r.code, "2.04") << r.output;
        auto cert = parse_certificate_der(certs_in(r.payload).at(0));
        ASSERT_TRUE(cert.ok());
        serials.insert(to_hex(bytes_of(std::string(
            reinterpret_cast<const char*>(ASN1_STRING_get0_data(X509_get0_serialNumber(cert->get()))),
            ASN1_STRING_length(X509_get0_serialNumber(cert->get()))))));
    }
    EXPECT_EQ(serials.size(), static_cast<std::size_t>(kClients));
}

// ---- errors the gateway generates itself (digest §5) ----

// RFC 7252 §5.4.1: an unrecognized critical (odd-numbered) option is answered 4.02.
TEST_F(Gateway, UnknownCriticalOptionIs402) {
    // coap-client 4.3.1 keeps waiting after a 4.02 until -B expires, so the wait is kept short here.
    EXPECT_EQ(env().coap("/est/crts", {"-O", "2049,0x01", "-B", "3"}).code, "4.02");
}

TEST_F(Gateway, UnknownPathIs404) {
    EXPECT_EQ(env().coap("/est/nothing").code, "4.04");
}

TEST_F(Gateway, UnknownLabelIs404) {
    EXPECT_EQ(env().coap("/est/nolabel/crts").code, "4.04");
}

TEST_F(Gateway, WrongMethodIs405) {
    EXPECT_EQ(env().coap("/est/crts", {"-m", "post", "-t", "286", "-f", csr("m")}).code, "4.05");
    EXPECT_EQ(env().coap("/est/sen").code, "4.05");
}

TEST_F(Gateway, WrongContentFormatIs415) {
    EXPECT_EQ(env().coap("/est/sen", {"-m", "post", "-t", "60", "-f", csr("cf")}).code, "4.15");
}

TEST_F(Gateway, MissingContentFormatIs415) {
    EXPECT_EQ(env().coap("/est/sen", {"-m", "post", "-f", csr("nocf")}).code, "4.15");
}

TEST_F(Gateway, UnsupportedAcceptIs406) {
    EXPECT_EQ(env().coap("/est/sen", {"-m", "post", "-t", "286", "-A", "285", "-f", csr("acc")}).code,
              "4.06");
    EXPECT_EQ(env().coap("/est/att", {"-A", "281"}).code, "4.06");
}

TEST_F(Gateway, MalformedCsrIs400AndNotForwarded) {
    int before = env().upstream->calls("simpleenroll");
    std::string file = env().dir.file("garbage.der");
    write_file(file, std::string("\x30\x03\x02\x01\x01", 5));
    EXPECT_EQ(env().coap("/est/sen", {"-m", "post", "-t", "286", "-f", file}).code, "4.00");
    EXPECT_EQ(env().upstream->calls("simpleenroll"), before);
}

TEST_F(Gateway, CsrWithBadSignatureIs400) {
    std::string good = read_file(csr("tamper"));
    good[good.size() - 5] ^= 0x01;  // inside the signature BIT STRING
    std::string file = env().dir.file("tampered.der");
    write_file(file, good);
    EXPECT_EQ(env().coap("/est/sen", {"-m", "post", "-t", "286", "-f", file}).code, "4.00");
}

// RFC 7030 §3.5: a challengePassword must be base64(tls-unique) of this DTLS session.
TEST_F(Gateway, CsrWithAForeignTlsUniqueIs403) {
    std::string file = env().write_csr("tlsu", "CN=pledge-1,O=estgw tests", {"DNS:pledge-1.example"}, false,
                                       base64_encode(Bytes(12, 0x42)));
    EXPECT_EQ(env().coap("/est/sen", {"-m", "post", "-t", "286", "-f", file}).code, "4.03");
}

TEST_F(Gateway, BodyOverTheLimitIs413WithSize1) {
    std::string file = env().dir.file("big.der");
    write_file(file, std::string(20000, '\x30'));
    auto r = env().coap("/est/sen", {"-m", "post", "-t", "286", "-b", "1024", "-f", file});
    EXPECT_EQ(r.code, "4.13") << r.output;
    EXPECT_EQ(r.options["Size1"], "16384");
}

TEST_F(Gateway, ClientWithoutCertificateGetsNoAnswer) {
    auto r = env().coap("/est/crts", {}, Credentials{});
    EXPECT_EQ(r.code, "");
}

TEST_F(Gateway, ClientFromAnUntrustedCaGetsNoAnswer) {
    auto r = env().coap("/est/crts", {}, env().foreign_pledge);
    EXPECT_EQ(r.code, "");
}

// ---- upstream answers mapped to CoAP (digest §5 table) ----

struct StatusCase {
    int http;
    const char* coap;
};

class GatewayUpstreamStatus : public Gateway, public ::testing::WithParamInterface<StatusCase> {};

TEST_P(GatewayUpstreamStatus, UpstreamStatusBecomesTheCoapCode) {
    env().upstream->script("simpleenroll",
                           FakeReply{GetParam().http, {{"Content-Type", "text/plain"}}, "no way"});
    auto r = env().coap("/est/sen", {"-m", "post", "-t", "286", "-f", csr("status")});
    EXPECT_EQ(r.code, GetParam().coap) << r.output;
    EXPECT_NE(r.diagnostic.find("no way"), std::string::npos) << r.output;
}

INSTANTIATE_TEST_SUITE_P(Table, GatewayUpstreamStatus,
                         ::testing::Values(StatusCase{400, "4.00"}, StatusCase{401, "4.01"},
                                           StatusCase{403, "4.03"}, StatusCase{404, "4.04"},
                                           StatusCase{405, "4.05"}, StatusCase{406, "4.06"},
                                           StatusCase{413, "4.13"}, StatusCase{415, "4.15"},
                                           StatusCase{500, "5.00"}, StatusCase{501, "5.01"},
                                           StatusCase{502, "5.02"}, StatusCase{504, "5.04"}));

// RFC 9148 §5: CMS EnvelopedData around a server-generated key is relayed without decrypting it.
TEST_F(Gateway, EncryptedServerGeneratedKeyPassesThroughUntouched) {
    Bytes envelope = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                      0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07};  // stand-in CMS
    // The certificate part is a normal enroll answer from the same upstream.
    env().upstream->set_body_style(BodyStyle::Base64OneLine);
    std::string file = csr("enveloped");
    ASSERT_EQ(env().coap("/est/sen", {"-m", "post", "-t", "286", "-f", file}).code, "2.04");
    std::string certs_only_b64 =
        base64_encode(bytes_of(env().coap("/est/sen", {"-m", "post", "-t", "286", "-f", file}).payload));
    FakeReply reply;
    reply.headers = {{"Content-Type", "multipart/mixed; boundary=b1"}};
    reply.body =
        "--b1\r\nContent-Type: application/pkcs7-mime; smime-type=server-generated-key\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" +
        base64_encode(envelope) +
        "\r\n--b1\r\nContent-Type: application/pkcs7-mime; smime-type=certs-only\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" +
        certs_only_b64 + "\r\n--b1--\r\n";
    env().upstream->script("serverkeygen", reply);
    auto r = env().coap("/est/skg", {"-m", "post", "-t", "286", "-f", file});
    ASSERT_EQ(r.code, "2.04") << r.output;
    auto parts = mapping::decode_multipart_core(bytes_of(r.payload));
    ASSERT_TRUE(parts.ok());
    ASSERT_EQ(parts->size(), 2u);
    EXPECT_EQ((*parts)[0].format, ContentFormat::ServerGeneratedKey);
    EXPECT_EQ(*(*parts)[0].body, envelope);
    EXPECT_EQ((*parts)[1].format, ContentFormat::CertsOnly);
}

// RFC 9148 §4.7: a delayed enrollment is 5.03 + Max-Age; the pledge retries later with the same CSR.
TEST_F(Gateway, Upstream202WithRetryAfterIs503WithMaxAge) {
    env().upstream->script("simpleenroll", FakeReply{202, {{"Retry-After", "17"}}, ""});
    auto r = env().coap("/est/sen", {"-m", "post", "-t", "286", "-f", csr("delayed")});
    EXPECT_EQ(r.code, "5.03");
    EXPECT_EQ(r.options["Max-Age"], "17");
}

TEST_F(Gateway, Upstream503WithRetryAfterIs503WithMaxAge) {
    env().upstream->script("simpleenroll", FakeReply{503, {{"Retry-After", "42"}}, "busy"});
    auto r = env().coap("/est/sen", {"-m", "post", "-t", "286", "-f", csr("busy")});
    EXPECT_EQ(r.code, "5.03");
    EXPECT_EQ(r.options["Max-Age"], "42");
}

TEST_F(Gateway, RetryAfterAsHttpDateBecomesSecondsFromNow) {
    char date[64];
    std::time_t later = std::time(nullptr) + 120;
    std::tm tm{};
    gmtime_r(&later, &tm);
    std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    env().upstream->script("simpleenroll", FakeReply{202, {{"Retry-After", date}}, ""});
    auto r = env().coap("/est/sen", {"-m", "post", "-t", "286", "-f", csr("date")});
    ASSERT_EQ(r.code, "5.03");
    int max_age = std::stoi(r.options["Max-Age"]);
    EXPECT_GE(max_age, 110);
    EXPECT_LE(max_age, 121);
}

TEST_F(Gateway, MalformedUpstreamAnswerIs502) {
    env().upstream->script("simpleenroll",
                           FakeReply{200, {{"Content-Type", "application/pkcs7-mime"}}, "%%%%"});
    auto r = env().coap("/est/sen", {"-m", "post", "-t", "286", "-f", csr("malformed")});
    EXPECT_EQ(r.code, "5.02");
}

TEST_F(Gateway, DroppedUpstreamConnectionIs502) {
    FakeReply drop;
    drop.drop_connection = true;
    env().upstream->script("simpleenroll", drop);
    auto r = env().coap("/est/sen", {"-m", "post", "-t", "286", "-f", csr("dropped")});
    EXPECT_EQ(r.code, "5.02") << r.output;
    // The pool recovers: the next request works.
    EXPECT_EQ(env().coap("/est/sen", {"-m", "post", "-t", "286", "-f", csr("after-drop")}).code, "2.04");
}

// ---- upstream body styles seen in the field (RFC 8951 §3) ----

class GatewayBodyStyles : public Gateway, public ::testing::WithParamInterface<BodyStyle> {};

TEST_P(GatewayBodyStyles, EnrollAnswerIsDecodedWhateverTheEncoding) {
    env().upstream->set_body_style(GetParam());
    auto r = env().coap("/est/sen", {"-m", "post", "-t", "286", "-f", csr("style")});
    ASSERT_EQ(r.code, "2.04") << r.output;
    EXPECT_EQ(subject_of(certs_in(r.payload).at(0)), "O=estgw tests,CN=pledge-1");
}

TEST_P(GatewayBodyStyles, ServerKeyGenAnswerIsDecodedWhateverTheEncoding) {
    env().upstream->set_body_style(GetParam());
    auto r = env().coap("/est/skc", {"-m", "post", "-t", "286", "-f", csr("style-skc")});
    ASSERT_EQ(r.code, "2.04") << r.output;
}

INSTANTIATE_TEST_SUITE_P(Styles, GatewayBodyStyles,
                         ::testing::Values(BodyStyle::Base64LibestLines, BodyStyle::Base64OneLine,
                                           BodyStyle::Base64CrlfLinesWithCte, BodyStyle::Base64LfLines76,
                                           BodyStyle::RawDer));

// ---- wire-level habits of real HTTP servers ----

struct WireCase {
    const char* name;
    WireStyle style;
};

class GatewayUpstreamWire : public Gateway, public ::testing::WithParamInterface<WireCase> {};

// Each habit for an enroll answer (base64) and a key generation answer (multipart/mixed), twice in a row so
// that a connection the server closed is not reused.
TEST_P(GatewayUpstreamWire, EnrollAndKeyGenerationWorkTwiceInARow) {
    env().upstream->set_wire_style(GetParam().style);
    for (int round = 0; round < 2; ++round) {
        const std::string n = std::string(GetParam().name) + std::to_string(round);
        auto sen = env().coap("/est/sen", {"-m", "post", "-t", "286", "-A", "287", "-f", csr("wire-" + n)});
        ASSERT_EQ(sen.code, "2.04") << sen.output << env().gateway_log();
        EXPECT_EQ(subject_of(bytes_of(sen.payload)), "O=estgw tests,CN=pledge-1");
        auto skc = env().coap("/est/skc", {"-m", "post", "-t", "286", "-f", csr("wire-skc-" + n)});
        ASSERT_EQ(skc.code, "2.04") << skc.output << env().gateway_log();
        EXPECT_EQ(skc.options["Content-Format"], "62");
    }
}

WireStyle wire(bool WireStyle::*flag) {
    WireStyle style;
    style.*flag = true;
    return style;
}

INSTANTIATE_TEST_SUITE_P(Habits, GatewayUpstreamWire,
                         ::testing::Values(WireCase{"http10", wire(&WireStyle::http10_close_delimited)},
                                           WireCase{"chunked", wire(&WireStyle::chunked)},
                                           WireCase{"headercase", wire(&WireStyle::odd_header_case)},
                                           WireCase{"ctparams", wire(&WireStyle::content_type_parameters)},
                                           WireCase{"close", wire(&WireStyle::close_after_each_answer)}),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- configurations of their own ----

TEST(GatewayUpstreamDown, EnrollIs502AndCrtsWithNothingCachedIs503WithMaxAge) {
    GatewayEnv env;
    int dead_port = free_port(false);
    env.start_gateway({"--upstream", "https://127.0.0.1:" + std::to_string(dead_port)});
    auto crts = env.coap("/est/crts");
    EXPECT_EQ(crts.code, "5.03") << crts.output;
    EXPECT_FALSE(crts.options["Max-Age"].empty());
    std::string csr = env.write_csr("down", "CN=pledge-1,O=estgw tests", {"DNS:pledge-1.example"});
    auto sen = env.coap("/est/sen", {"-m", "post", "-t", "286", "-f", csr});
    EXPECT_EQ(sen.code, "5.02") << sen.output;
}

TEST(GatewaySlowUpstream, AnAnswerSlowerThanTheTimeoutIs504) {
    GatewayEnv env;
    env.start_gateway({"--upstream-timeout", "1"});
    FakeReply slow;
    slow.delay = std::chrono::milliseconds(2500);
    env.upstream->script("simpleenroll", slow);
    std::string csr = env.write_csr("slow", "CN=pledge-1,O=estgw tests", {"DNS:pledge-1.example"});
    auto r = env.coap("/est/sen", {"-m", "post", "-t", "286", "-f", csr});
    EXPECT_EQ(r.code, "5.04") << r.output;
}

TEST(GatewayLabels, ALabelIsServedAndPassedUpstream) {
    GatewayEnv env;
    env.start_gateway({"--label", "arbitrary"});
    std::string csr = env.write_csr("label", "CN=pledge-1,O=estgw tests", {"DNS:pledge-1.example"});
    auto r = env.coap("/.well-known/est/arbitrary/sen", {"-m", "post", "-t", "286", "-f", csr});
    ASSERT_EQ(r.code, "2.04") << r.output;
    EXPECT_EQ(env.upstream->requests().back().path, "/.well-known/est/arbitrary/simpleenroll");
    auto crts = env.coap("/est/arbitrary/crts");
    EXPECT_EQ(crts.code, "2.05") << env.gateway_log();
}

// A gateway sending user "gw" with `password` to an upstream that wants "gw" and "s3cret" on every request
// (RFC 7617), as libest's estserver does with -h.
void start_with_basic_credentials(GatewayEnv& env, const std::string& password) {
    env.upstream->require_basic("gw", "s3cret");
    write_file(env.dir.file("password"), password + "\n");
    env.start_gateway({"--upstream-user", "gw", "--upstream-password-file", env.dir.file("password")});
}

TEST(GatewayBasicAuth, CredentialsAreSentPreemptivelyOnEveryRequest) {
    GatewayEnv env;
    start_with_basic_credentials(env, "s3cret");
    std::string csr = env.write_csr("basic", "CN=pledge-1,O=estgw tests", {"DNS:pledge-1.example"});
    EXPECT_EQ(env.coap("/est/crts").code, "2.05");
    EXPECT_EQ(env.coap("/est/att").code, "2.05");
    for (const char* op : {"/est/sen", "/est/sren", "/est/skg"})
        EXPECT_EQ(env.coap(op, {"-m", "post", "-t", "286", "-f", csr}).code, "2.04") << op;
    auto requests = env.upstream->requests();
    ASSERT_GE(requests.size(), 5u);
    for (auto& r : requests)
        EXPECT_EQ(r.headers["Authorization"], "Basic " + base64_encode(as_bytes("gw:s3cret"))) << r.path;
}

// RFC 9148 §5: the upstream sees the gateway, so its 401 is the operator's to fix: 4.01 to the pledge, and a
// log line that names the options to set.
TEST(GatewayBasicAuth, UpstreamAskingForCredentialsIs401AndTheLogNamesTheOptions) {
    GatewayEnv env;
    env.upstream->require_basic("gw", "s3cret");
    env.start_gateway();
    std::string csr = env.write_csr("no-basic", "CN=pledge-1,O=estgw tests", {"DNS:pledge-1.example"});
    auto r = env.coap("/est/sen", {"-m", "post", "-t", "286", "-f", csr});
    EXPECT_EQ(r.code, "4.01") << r.output;
    std::string log = env.gateway_log();
    EXPECT_NE(log.find("upstream-refused-gateway"), std::string::npos) << log;
    EXPECT_NE(log.find("--upstream-user"), std::string::npos) << log;
    EXPECT_NE(log.find("--upstream-password-file"), std::string::npos) << log;
}

TEST(GatewayBasicAuth, WrongCredentialsAre401AndTheLogSaysTheyWereRefused) {
    GatewayEnv env;
    start_with_basic_credentials(env, "wrong");
    std::string csr = env.write_csr("bad-basic", "CN=pledge-1,O=estgw tests", {"DNS:pledge-1.example"});
    EXPECT_EQ(env.coap("/est/sen", {"-m", "post", "-t", "286", "-f", csr}).code, "4.01");
    std::string log = env.gateway_log();
    EXPECT_NE(log.find("refused the credentials of --upstream-user"), std::string::npos) << log;
}

// ---- the TLS connection to the upstream ----

// An RA certificate from an intermediate CA that the upstream does not know by itself: the gateway must send
// the chain that follows the leaf in --upstream-cert (RFC 5246 §7.4.6), or the upstream refuses the
// handshake.
TEST(GatewayUpstreamTls, TheRaChainIsSentAfterTheLeaf) {
    GatewayEnv env;
    EvpPkeyPtr sub_key = make_key();
    CertOptions ca_options;
    ca_options.ca = true;
    X509Ptr sub =
        make_certificate("CN=estgw test RA CA", sub_key.get(), env.ca.get(), env.ca_key.get(), ca_options);
    EvpPkeyPtr ra_key = make_key();
    CertOptions ra_options;
    ra_options.extended_key_usage = "clientAuth,1.3.6.1.5.5.7.3.28";
    X509Ptr ra =
        make_certificate("CN=estgw RA via sub CA", ra_key.get(), sub.get(), sub_key.get(), ra_options);
    write_cert_file(env.dir.file("ra-chain.crt"), {ra.get(), sub.get()});
    write_key_file(env.dir.file("ra-chain.key"), ra_key.get());
    env.start_gateway(
        {"--upstream-cert", env.dir.file("ra-chain.crt"), "--upstream-key", env.dir.file("ra-chain.key")});
    std::string csr = env.write_csr("chain", "CN=pledge-1,O=estgw tests", {"DNS:pledge-1.example"});
    auto r = env.coap("/est/sen", {"-m", "post", "-t", "286", "-f", csr});
    EXPECT_EQ(r.code, "2.04") << r.output << env.gateway_log();
    EXPECT_EQ(env.upstream->requests().back().client_subject, "CN=estgw RA via sub CA");
}

TEST(GatewayForwarding, PledgeCertificateGoesUpstreamInTheConfiguredHeader) {
    GatewayEnv env;
    env.start_gateway({"--forward-client-cert", "X-Pledge-Cert"});
    std::string csr = env.write_csr("fwd", "CN=pledge-1,O=estgw tests", {"DNS:pledge-1.example"});
    ASSERT_EQ(env.coap("/est/sen", {"-m", "post", "-t", "286", "-f", csr}).code, "2.04");
    // Sent URL-encoded; cpp-httplib's server percent-decodes header values before the handler sees them.
    std::string header = env.upstream->requests().back().headers["X-Pledge-Cert"];
    EXPECT_EQ(header.rfind("-----BEGIN CERTIFICATE-----", 0), 0u) << header;
    EXPECT_EQ(header, read_file(env.pledge.cert));
}

// Issue 13 §4: with the pledge certificate forwarded, /rv is relayed as RFC 8995's requestvoucher: the PVR in
// binary with application/voucher+cose, the upstream's voucher back as 2.04 CF 836; /rv is then advertised.
TEST(GatewayForwarding, VoucherRequestIsRelayedWithThePledgeCertificate) {
    GatewayEnv env;
    env.start_gateway({"--forward-client-cert", "X-Pledge-Cert"});
    const std::string pvr("\xd2\x84\x43\xa1\x01\x26\xa0\x45\xa1\x19\x09\xc5\xa0\x40", 14);
    std::string file = env.dir.file("pvr.cose");
    write_file(file, pvr);
    auto r = env.coap("/.well-known/brski/rv", {"-m", "post", "-t", "836", "-A", "836", "-f", file});
    ASSERT_EQ(r.code, "2.04") << r.output << env.gateway_log();
    EXPECT_EQ(r.payload, kFakeVoucher);
    const auto request = env.upstream->requests().back();
    EXPECT_EQ(request.path, "/.well-known/brski/requestvoucher");
    EXPECT_EQ(request.content_type, "application/voucher+cose");
    EXPECT_EQ(request.body, pvr);
    EXPECT_EQ(request.headers.at("X-Pledge-Cert"), read_file(env.pledge.cert));
    auto links = env.coap("/.well-known/core");
    EXPECT_NE(links.payload.find("rt=\"brski.rv\""), std::string::npos) << links.payload;
}

// The listening socket gets the asked receive buffer (the kernel reports twice the usable size, as "rb"),
// and the session limits are in the start-up log.
TEST(GatewaySessions, ListeningSocketHasTheReceiveBufferAndLimitsAreLogged) {
    GatewayEnv env;
    env.start_gateway({"--udp-receive-buffer", "100000", "--max-handshakes", "77", "--max-idle-sessions",
                       "88", "--idle-timeout", "99", "--max-handshakes-per-address", "7",
                       "--handshake-timeout", "9"});
    RunResult ss =
        run_command({"ss", "-Hulmn", "sport = :" + std::to_string(env.port)}, std::chrono::seconds(5));
    EXPECT_NE(ss.output.find("rb200000,"), std::string::npos) << ss.output;
    std::string log = env.gateway_log();
    EXPECT_NE(log.find("receive_buffer=100000 max_handshakes=77 max_handshakes_per_address=7 "
                       "handshake_timeout_s=9 max_idle_sessions=88 idle_timeout_s=99"),
              std::string::npos)
        << log;
}

TEST(GatewayConfigFile, OptionsComeFromTheFileAndTheCommandLineWins) {
    GatewayEnv env;
    write_file(env.dir.file("estgw.conf"), "brski-root = /from-file\nmax-body = 100\n");
    env.start_gateway({"--config", env.dir.file("estgw.conf"), "--max-body", "2000"});
    std::string status = env.dir.file("status.json");
    write_file(status, R"({"version":1,"status":true})");
    EXPECT_EQ(env.coap("/from-file/vs", {"-m", "post", "-t", "50", "-f", status}).code, "2.04");
    std::string big = env.dir.file("big");
    write_file(big, std::string(1500, '\x30'));
    // 1500 bytes pass the command line's 2000 (the file said 100) and fail later as malformed DER.
    EXPECT_EQ(env.coap("/est/sen", {"-m", "post", "-t", "286", "-f", big}).code, "4.00");
}

TEST(GatewayLifecycle, SigtermDrainsAndExitsZero) {
    GatewayEnv env;
    env.start_gateway();
    env.upstream->set_delay(std::chrono::milliseconds(1500));
    std::string csr = env.write_csr("drain", "CN=pledge-1,O=estgw tests", {"DNS:pledge-1.example"});
    auto in_flight = std::async(std::launch::async, [&] {
        return env.coap("/est/sen", {"-m", "post", "-t", "286", "-f", csr});
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    EXPECT_EQ(env.gateway_exit(SIGTERM), 0);
    EXPECT_EQ(in_flight.get().code, "2.04");  // the request in flight was still answered
}

TEST(GatewayConfiguration, BadOptionsExitTwoNamingTheOption) {
    GatewayEnv env;
    struct Case {
        std::vector<std::string> args;
        std::string expected;
    };
    std::vector<Case> cases = {
        {{"--cert", "/nonexistent.pem"}, "--cert"},
        {{"--key", env.upstream_key}, "does not match"},
        {{"--upstream", "http://insecure.example"}, "--upstream"},
        {{"--upstream-password-file", "/nonexistent"}, "--upstream-password-file"},
        {{"--listen", "nonsense"}, "--listen"},
        {{"--root", "no-slash"}, "--root"},
        {{"--upstream-cert", env.ra_cert}, "--upstream-key"},
        {{"--max-handshakes", "0"}, "--max-handshakes"},
        {{"--idle-timeout", "0"}, "--idle-timeout"},
        {{"--max-handshakes-per-address", "0"}, "--max-handshakes-per-address"},
        {{"--max-handshakes", "10", "--max-handshakes-per-address", "11"}, "--max-handshakes-per-address"},
        {{"--handshake-timeout", "0"}, "--handshake-timeout"},
        {{"--handshake-timeout", "301"}, "--handshake-timeout"},
        {{"--block-timeout", "0"}, "--block-timeout"},
        {{"--udp-receive-buffer", "100"}, "--udp-receive-buffer"},
    };
    for (const auto& c : cases) {
        const std::vector<std::string> options = merge_options({{"--cert", env.gateway_cert},
                                                                {"--key", env.gateway_key},
                                                                {"--client-ca", env.ca_file},
                                                                {"--upstream", "https://127.0.0.1:1"},
                                                                {"--upstream-ca", env.ca_file}},
                                                               c.args);
        std::vector<std::string> argv = {ESTGW_BINARY, "serve"};
        argv.insert(argv.end(), options.begin(), options.end());
        RunResult r = run_command(argv, std::chrono::seconds(10));
        EXPECT_EQ(r.exit_code, 2) << c.expected << ": " << r.output;
        EXPECT_NE(r.output.find(c.expected), std::string::npos) << r.output;
    }
}

}  // namespace
}  // namespace estgw::test

namespace estgw::test {
namespace {

// RFC 9148 §3 (RFC 7925): TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 is mandatory; OpenSSL's own DTLS client as peer.
TEST(GatewayDtls, NegotiatesTheMandatoryCcm8SuiteWhenTheClientOffersOnlyIt) {
    GatewayEnv env;
    env.start_gateway();
    RunResult r = run_command(
        {"openssl", "s_client", "-dtls1_2", "-connect", "127.0.0.1:" + std::to_string(env.port), "-cipher",
         "ECDHE-ECDSA-AES128-CCM8", "-cert", env.pledge.cert, "-key", env.pledge.key, "-CAfile", env.ca_file},
        std::chrono::seconds(10));
    EXPECT_NE(r.output.find("Cipher is ECDHE-ECDSA-AES128-CCM8"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("Verify return code: 0 (ok)"), std::string::npos) << r.output;
}

// The certificates the DTLS server sends, as OpenSSL's own DTLS client sees them (-showcerts), and whether
// that client verified them against `ca_file` alone.
struct SentChain {
    std::size_t certificates = 0;
    bool verified = false;
    std::string output;
};

SentChain chain_sent_by(const GatewayEnv& env, const std::string& ca_file) {
    RunResult r = run_command(
        {"openssl", "s_client", "-dtls1_2", "-showcerts", "-connect", "127.0.0.1:" + std::to_string(env.port),
         "-cert", env.pledge.cert, "-key", env.pledge.key, "-CAfile", ca_file},
        std::chrono::seconds(10));
    SentChain sent;
    sent.output = r.output;
    for (std::size_t at = r.output.find("-----BEGIN CERTIFICATE-----"); at != std::string::npos;
         at = r.output.find("-----BEGIN CERTIFICATE-----", at + 1)) {
        ++sent.certificates;
    }
    sent.verified = r.output.find("Verify return code: 0 (ok)") != std::string::npos;
    return sent;
}

// A server certificate issued by an intermediate CA under the test root, written as `<name>.crt` (leaf only),
// `<name>-chain.crt` (leaf + intermediate) and `<name>-bundle.pem` (root + intermediate).
struct IntermediateSetup {
    std::string leaf_only, leaf_and_chain, key, trust_bundle;
};

IntermediateSetup issue_from_intermediate(GatewayEnv& env, const std::string& name) {
    EvpPkeyPtr intermediate_key = make_key();
    CertOptions ca_options;
    ca_options.ca = true;
    X509Ptr intermediate = make_certificate("CN=estgw Test Intermediate CA", intermediate_key.get(),
                                            env.ca.get(), env.ca_key.get(), ca_options);
    EvpPkeyPtr key = make_key();
    CertOptions leaf_options;
    leaf_options.sans = {"DNS:localhost", "IP:127.0.0.1"};
    leaf_options.extended_key_usage = "serverAuth";
    X509Ptr leaf =
        make_certificate("CN=" + name, key.get(), intermediate.get(), intermediate_key.get(), leaf_options);
    IntermediateSetup s;
    s.leaf_only = env.dir.file(name + ".crt");
    s.leaf_and_chain = env.dir.file(name + "-chain.crt");
    s.key = env.dir.file(name + ".key");
    s.trust_bundle = env.dir.file(name + "-bundle.pem");
    write_cert_file(s.leaf_only, {leaf.get()});
    write_cert_file(s.leaf_and_chain, {leaf.get(), intermediate.get()});
    write_key_file(s.key, key.get());
    write_cert_file(s.trust_bundle, {env.ca.get(), intermediate.get()});
    return s;
}

// RFC 5246 §7.4.2: the self-signed root may be left out, the peer has it; the leaf alone then suffices.
TEST(GatewayDtls, SendsItsCertificateWithoutTheRootThatIssuedIt) {
    GatewayEnv env;
    env.start_gateway();
    SentChain sent = chain_sent_by(env, env.ca_file);
    EXPECT_EQ(sent.certificates, 1u) << sent.output;
    EXPECT_TRUE(sent.verified) << sent.output;
    // libcoap is given no key on purpose (DtlsCredentials); its complaint about that is not news to the user.
    EXPECT_EQ(env.gateway_log().find("setup_pki"), std::string::npos) << env.gateway_log();
}

TEST(GatewayDtls, SendsTheIntermediateFoundInTheClientCaBundleWhenTheCertFileHasOnlyTheLeaf) {
    GatewayEnv env;
    IntermediateSetup s = issue_from_intermediate(env, "gw-under-intermediate");
    env.start_gateway({"--cert", s.leaf_only, "--key", s.key, "--client-ca", s.trust_bundle});
    SentChain sent = chain_sent_by(env, env.ca_file);
    EXPECT_EQ(sent.certificates, 2u) << sent.output;
    EXPECT_TRUE(sent.verified) << sent.output;
}

TEST(GatewayDtls, SendsTheChainThatFollowsTheLeafInTheCertFile) {
    GatewayEnv env;
    IntermediateSetup s = issue_from_intermediate(env, "gw-with-chain");
    // The client CA bundle holds only the root: the intermediate can come only from --cert.
    env.start_gateway({"--cert", s.leaf_and_chain, "--key", s.key});
    SentChain sent = chain_sent_by(env, env.ca_file);
    EXPECT_EQ(sent.certificates, 2u) << sent.output;
    EXPECT_TRUE(sent.verified) << sent.output;
    // Without the intermediate the root alone cannot verify the leaf: the chain really came from the server.
    EXPECT_NE(sent.output.find("CN = estgw Test Intermediate CA"), std::string::npos) << sent.output;
}

}  // namespace
}  // namespace estgw::test
