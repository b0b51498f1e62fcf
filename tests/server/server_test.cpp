// estgw in full-server mode, end to end: `estgw pki init`, the real binary, coap-client-openssl as the
// pledge, curl for RFC 7030 over HTTPS, and openssl to check what was issued. Nothing on the protocol
// boundary is mocked.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cctype>
#include <future>
#include <set>

#include "common/base64.hpp"
#include "common/file_descriptor.hpp"
#include "common/keys.hpp"
#include "common/pem.hpp"
#include "common/pkcs7.hpp"
#include "common/x509.hpp"
#include "gateway/gateway_env.hpp"
#include "mapping/multipart_core.hpp"
#include "support/coap_cli.hpp"
#include "support/process.hpp"
#include "support/server_env.hpp"
#include "support/shared_env.hpp"
#include "support/test_pki.hpp"

namespace estgw::test {
namespace {

Bytes bytes_of(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

class Server : public SharedEnvTest<Server, ServerEnv> {};

std::string serial_of(const std::string& der) {
    auto cert = parse_certificate_der(bytes_of(der));
    if (!cert) return "";
    const ASN1_INTEGER* serial = X509_get0_serialNumber(cert->get());
    std::string hex = to_hex(ByteView(ASN1_STRING_get0_data(serial), ASN1_STRING_length(serial)));
    for (char& c : hex)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return hex;  // as `estgw certs list` and `openssl x509 -serial` print it
}

// ---- every resource ----

TEST_F(Server, CrtsReturnsTheDomainCa) {
    auto r = env().coap("/.well-known/est/crts");
    ASSERT_EQ(r.code, "2.05");
    auto certs = certs_only_certificates_der(bytes_of(r.payload));
    ASSERT_TRUE(certs.ok());
    ASSERT_EQ(certs->size(), 1u);
    EXPECT_EQ(to_string((*certs)[0]), to_string(pem_decode(read_file(env().pki + "/ca.crt")).value()));
}

TEST_F(Server, SenIssuesACertificateThatVerifiesAgainstTheCa) {
    auto r = env().coap("/.well-known/est/sen", {"-m", "post", "-t", "286", "-f",
                                                 env().csr("sen", "CN=device-1", {"DNS:device-1.example"})});
    ASSERT_EQ(r.code, "2.04") << r.output;
    auto certs = certs_only_certificates_der(bytes_of(r.payload));
    ASSERT_TRUE(certs.ok());
    ASSERT_EQ(certs->size(), 1u);
    EXPECT_TRUE(env().verifies(to_string((*certs)[0])));
    auto cert = parse_certificate_der((*certs)[0]);
    EXPECT_EQ(name_to_string(X509_get_subject_name(cert->get())), "CN=device-1");
    EXPECT_EQ(X509_get_extended_key_usage(cert->get()) & XKU_SSL_CLIENT, XKU_SSL_CLIENT);
    EXPECT_EQ(serial_of(to_string((*certs)[0])).size(), 32u);  // 128-bit serial (top bit clear: no 00 pad)
}

TEST_F(Server, SenWithAccept287ReturnsTheBareCertificate) {
    auto r =
        env().coap("/.well-known/est/sen", {"-m", "post", "-t", "286", "-A", "287", "-f",
                                            env().csr("sen287", "CN=device-2", {"DNS:device-2.example"})});
    ASSERT_EQ(r.code, "2.04");
    EXPECT_TRUE(env().verifies(r.payload));
}

TEST_F(Server, AttReturnsTheDefaultCsrAttributes) {
    auto r = env().coap("/.well-known/est/att");
    ASSERT_EQ(r.code, "2.05");
    EXPECT_EQ(static_cast<unsigned char>(r.payload.at(0)), 0x30);
    // id-ecPublicKey 1.2.840.10045.2.1 and extensionRequest 1.2.840.113549.1.9.14 are both asked for.
    EXPECT_NE(r.payload.find(std::string("\x2a\x86\x48\xce\x3d\x02\x01", 7)), std::string::npos);
    EXPECT_NE(r.payload.find(std::string("\x2a\x86\x48\x86\xf7\x0d\x01\x09\x0e", 9)), std::string::npos);
}

void expect_generated_key_matches(ServerEnv& env, const std::string& path, ContentFormat cert_format) {
    auto r = env.coap(path, {"-m", "post", "-t", "286", "-f", env.csr("skg", "CN=skg-device", {})});
    EXPECT_EQ(env.generated_key_fault(r, cert_format), "");
}

TEST_F(Server, SkgGeneratesAKeyThatMatchesTheCertificate) {
    expect_generated_key_matches(env(), "/.well-known/est/skg", ContentFormat::CertsOnly);
}

TEST_F(Server, SkcGeneratesAKeyThatMatchesThePkixCertificate) {
    expect_generated_key_matches(env(), "/.well-known/est/skc", ContentFormat::PkixCert);
}

// A /skg CSR asking for its key encrypted to the shared key `kek_id` (RFC 7030 §4.4.1.1):
// DecryptKeyIdentifier plus SMIMECapabilities listing aes128-CBC. Returns the CSR file.
std::string csr_asking_for_kek(ServerEnv& env, const std::string& name, const Bytes& kek_id) {
    EvpPkeyPtr key = make_key();
    X509ReqPtr request = make_csr("CN=" + name, {}, key.get());
    // id-aa-decryptKeyID (RFC 4108); OpenSSL has no NID for it.
    EXPECT_EQ(X509_REQ_add1_attr_by_txt(request.get(), "1.2.840.113549.1.9.16.2.37", V_ASN1_OCTET_STRING,
                                        kek_id.data(), static_cast<int>(kek_id.size())),
              1);
    Bytes capabilities;  // SMIMECapabilities ::= SEQUENCE { SEQUENCE { aes128-CBC } }
    EXPECT_TRUE(from_hex("300d300b0609608648016503040102", capabilities));
    add_csr_string_attribute(request.get(), NID_SMIMECapabilities, V_ASN1_SEQUENCE, to_string(capabilities));
    sign_csr(request.get(), key.get());
    std::string file = env.dir.file(name + ".csr");
    write_file(file, to_string(to_der(request.get())));
    return file;
}

// RFC 7030 §4.4.1.1: with no shared key by that name the request cannot be served. It is refused with a
// diagnostic naming the identifier (and, tests/certs/key_envelope_test.cpp shows, before any key is
// generated). This server has no --kek-file at all.
TEST_F(Server, SkgAskingForAnUnknownSharedKeyIs400NamingTheIdentifier) {
    const Bytes kek_id = bytes_of("device-kek-1");
    auto r = env().coap("/.well-known/est/skg",
                        {"-m", "post", "-t", "286", "-f", csr_asking_for_kek(env(), "kek-unknown", kek_id)});
    EXPECT_EQ(r.code, "4.00") << r.output;
    EXPECT_NE(r.diagnostic.find("DecryptKeyIdentifier " + to_hex(kek_id)), std::string::npos) << r.diagnostic;
    EXPECT_EQ(env().certs_list().find("CN=kek-unknown"), std::string::npos);
}

// RFC 7030 §4.4.2, RFC 9148 §4.8: with the shared key configured the same request gets its key encrypted.
TEST(ServerSharedKeys, SkgAskingForAConfiguredSharedKeyGetsAnEncryptedKey) {
    ServerEnv env;
    const Bytes kek_id = bytes_of("device-kek-1");
    write_file(env.dir.file("keks"), to_hex(kek_id) + " 000102030405060708090a0b0c0d0e0f\n");
    env.start({"--kek-file", env.dir.file("keks")});
    // The signed and encrypted key makes the answer longer than 1024 bytes. coap-client 4.3.1 reassembles a
    // separate response's Block2 only when its request went block-wise too and asked for Block2 up front
    // (RFC 7959 §2.4): 256-byte blocks both ways do that for this ~270-byte CSR.
    auto r = env.coap("/.well-known/est/skg", {"-m", "post", "-t", "286", "-b", "256", "-O", "23,0x04", "-f",
                                               csr_asking_for_kek(env, "kek-known", kek_id)});
    ASSERT_EQ(r.code, "2.04") << r.output << env.log();
    auto parts = mapping::decode_multipart_core(bytes_of(r.payload));
    ASSERT_TRUE(parts.ok()) << r.output;
    ASSERT_EQ(parts->size(), 2u);
    EXPECT_EQ((*parts)[0].format, ContentFormat::ServerGeneratedKey);
    EXPECT_EQ((*parts)[1].format, ContentFormat::CertsOnly);
}

TEST_F(Server, EnrollStatusIsAcceptedAndLogged) {
    std::string file = env().dir.file("es.cbor");
    Bytes body;
    ASSERT_TRUE(from_hex("A26776657273696F6E0166737461747573F5", body));
    write_file(file, to_string(body));
    auto r = env().coap("/.well-known/brski/es", {"-m", "post", "-t", "60", "-f", file});
    EXPECT_EQ(r.code, "2.04");
    EXPECT_NE(env().log().find("telemetry resource=es status=true"), std::string::npos);
}

// ---- re-enrollment (RFC 7030 §4.2.2) ----

TEST_F(Server, SrenWithTheSameKeyRenewsAndWithANewKeyRekeys) {
    Credentials ldevid = env().enroll("ldevid", "CN=ldevid-1", {"DNS:ldevid-1.example"});
    // Renew: a CSR with the same subject, SAN and key, over a DTLS session authenticated by that certificate.
    auto key = parse_private_key_der(pem_decode(read_file(ldevid.key)).value());
    ASSERT_TRUE(key.ok());
    std::string renew =
        env().csr("ldevid-renew", "CN=ldevid-1", {"DNS:ldevid-1.example"}, KeyKind::P256, key->get());
    auto r1 =
        env().coap("/.well-known/est/sren", {"-m", "post", "-t", "286", "-A", "287", "-f", renew}, ldevid);
    ASSERT_EQ(r1.code, "2.04") << r1.output;
    EXPECT_TRUE(env().verifies(r1.payload));
    std::string rekey = env().csr("ldevid-rekey", "CN=ldevid-1", {"DNS:ldevid-1.example"});
    auto r2 =
        env().coap("/.well-known/est/sren", {"-m", "post", "-t", "286", "-A", "287", "-f", rekey}, ldevid);
    ASSERT_EQ(r2.code, "2.04") << r2.output;
    std::string list = env().certs_list();
    EXPECT_NE(list.find("\trenew\t"), std::string::npos) << list;
    EXPECT_NE(list.find("\trekey\t"), std::string::npos) << list;
}

TEST_F(Server, SrenWithAnotherSubjectIsForbidden) {
    Credentials ldevid = env().enroll("ldevid-m", "CN=ldevid-2", {"DNS:ldevid-2.example"});
    std::string other = env().csr("mismatch", "CN=someone-else", {"DNS:ldevid-2.example"});
    EXPECT_EQ(env().coap("/.well-known/est/sren", {"-m", "post", "-t", "286", "-f", other}, ldevid).code,
              "4.03");
}

TEST_F(Server, SrenWithACertificateFromAnotherCaIsForbidden) {
    // The IDevID comes from the manufacturer CA: it authenticates, but it is not ours to renew.
    auto idevid = parse_certificate_der(pem_decode(read_file(env().idevid.cert)).value());
    ASSERT_TRUE(idevid.ok());
    std::string same_identity =
        env().csr("idevid-sren", name_to_string(X509_get_subject_name(idevid->get())), {});
    auto r = env().coap("/.well-known/est/sren", {"-m", "post", "-t", "286", "-f", same_identity});
    EXPECT_EQ(r.code, "4.03");
}

// ---- errors ----

TEST_F(Server, TamperedCsrSignatureIs400) {
    std::string csr = read_file(env().csr("tamper", "CN=tamper", {}));
    csr[csr.size() - 5] ^= 0x01;
    std::string file = env().dir.file("tampered.csr");
    write_file(file, csr);
    EXPECT_EQ(env().coap("/.well-known/est/sen", {"-m", "post", "-t", "286", "-f", file}).code, "4.00");
}

TEST_F(Server, DisallowedKeyTypeIs400) {
    // P-384 is allowed by default, so the server is started here with P-256 only.
    ServerEnv strict;
    strict.start({"--key-types", "p256"});
    auto r = strict.coap("/.well-known/est/sen",
                         {"-m", "post", "-t", "286", "-f", strict.csr("p384", "CN=p384", {}, KeyKind::P384)});
    EXPECT_EQ(r.code, "4.00") << r.output;
    EXPECT_NE(r.diagnostic.find("key type p384 is not allowed"), std::string::npos) << r.diagnostic;
}

TEST_F(Server, OversizedRequestIs413) {
    std::string file = env().dir.file("big");
    write_file(file, std::string(20000, '\x30'));
    auto r = env().coap("/.well-known/est/sen", {"-m", "post", "-t", "286", "-b", "1024", "-f", file});
    EXPECT_EQ(r.code, "4.13");
    EXPECT_EQ(r.options["Size1"], "16384");
}

TEST_F(Server, WrongContentFormatIs415) {
    EXPECT_EQ(
        env()
            .coap("/.well-known/est/sen", {"-m", "post", "-t", "60", "-f", env().csr("cf", "CN=cf", {})})
            .code,
        "4.15");
}

TEST_F(Server, WrongAcceptIs406) {
    EXPECT_EQ(env()
                  .coap("/.well-known/est/sen",
                        {"-m", "post", "-t", "286", "-A", "62", "-f", env().csr("acc", "CN=acc", {})})
                  .code,
              "4.06");
}

TEST_F(Server, WrongMethodIs405) {
    EXPECT_EQ(env().coap("/.well-known/est/sen").code, "4.05");
}

// ---- store ----

TEST_F(Server, FiftyConcurrentEnrollmentsGetFiftyDistinctSerials) {
    constexpr int kClients = 50;
    std::string file = env().csr("concurrent", "CN=concurrent", {});
    std::vector<CoapClientRun> runs;
    for (int i = 0; i < kClients; ++i) {
        std::string out = env().dir.file("c-" + std::to_string(i));
        runs.push_back(
            {coap_client_command("coaps://127.0.0.1:" + std::to_string(env().port) + "/.well-known/est/sen",
                                 {"-m", "post", "-t", "286", "-A", "287", "-f", file}, env().idevid,
                                 env().pki + "/ca.crt", out),
             out});
    }
    std::vector<CoapOutcome> all = run_coap_clients_at_once(runs);
    std::set<std::string> serials;
    for (const CoapOutcome& r : all) {
        ASSERT_EQ(r.code, "2.04") << r.output;
        serials.insert(serial_of(r.payload));
    }
    EXPECT_EQ(serials.size(), static_cast<std::size_t>(kClients));
    std::string list = env().certs_list();
    for (const auto& serial : serials)
        EXPECT_NE(list.find(serial + "\t"), std::string::npos) << serial;
}

// ---- a client starting over from the address:port of an earlier session (RFC 6347 §4.2.8) ----

// The first client's close_notify is lost (its fifth datagram: ClientHello, ClientHello with the cookie, its
// last handshake flight, the request, close_notify), so the server still holds that session. libcoap 4.3.1
// would feed every ClientHello from the same address:port to it, where OpenSSL drops them, for good.
TEST_F(Server, ClientReusingTheAddressOfASessionWhoseCloseWasLostHandshakesAgain) {
    const std::string port = std::to_string(free_port(true));
    auto first = env().coap("/.well-known/est/crts", {"-p", port, "-l", "5"});
    ASSERT_EQ(first.code, "2.05") << first.output;
    auto second = env().coap("/.well-known/est/crts", {"-p", port});
    EXPECT_EQ(second.code, "2.05") << second.output;
    EXPECT_NE(env().log().find("dtls-new-association peer=127.0.0.1:" + port), std::string::npos);
}

// A handshake abandoned half way: nothing after the ClientHello with the cookie arrives (datagrams 3 on are
// lost), and the client gives up after a second, leaving a session in the middle of its handshake.
TEST_F(Server, ClientReusingTheAddressOfAnAbandonedHandshakeHandshakesAgain) {
    const std::string port = std::to_string(free_port(true));
    auto first = env().coap("/.well-known/est/crts", {"-p", port, "-l", "3-50", "-B", "1"});
    ASSERT_TRUE(first.code.empty()) << first.output;
    auto second = env().coap("/.well-known/est/crts", {"-p", port});
    EXPECT_EQ(second.code, "2.05") << second.output;
}

// ---- an address another process holds is refused, not shared ----

// A second `estgw serve` with the shared server's configuration and `extra` options; its exit code and
// output.
RunResult second_server(const ServerEnv& first, const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {ESTGW_BINARY, "serve"};
    const std::vector<std::string> options = merge_options(
        {{"--config", first.pki + "/estgw.conf"}, {"--db", first.dir.file("second.db")}}, extra);
    argv.insert(argv.end(), options.begin(), options.end());
    return run_command(argv, std::chrono::seconds(10));
}

// A socket like the ones libcoap (UDP) and cpp-httplib (TCP) bind: SO_REUSEADDR and SO_REUSEPORT, which let
// a second bind with the same options share the port.
FileDescriptor hold(int family, int type, const std::string& host, int port) {
    FileDescriptor fd(::socket(family, type, 0));
    int on = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
    sockaddr_storage address{};
    socklen_t length = 0;
    if (family == AF_INET) {
        auto* in = reinterpret_cast<sockaddr_in*>(&address);
        in->sin_family = AF_INET;
        in->sin_port = htons(static_cast<std::uint16_t>(port));
        ::inet_pton(AF_INET, host.c_str(), &in->sin_addr);
        length = sizeof *in;
    } else {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&address);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(static_cast<std::uint16_t>(port));
        ::inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr);
        length = sizeof *in6;
    }
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), length) != 0)
        throw std::runtime_error("cannot bind " + host + ":" + std::to_string(port));
    if (type == SOCK_STREAM) ::listen(fd.get(), 4);
    return fd;
}

void expect_refused(const RunResult& r, const std::string& option, const std::string& address) {
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("--" + option + " " + address), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("in use by another process"), std::string::npos) << r.output;
}

// The registrar already running on the address: a second one must not take part of its pledges.
TEST_F(Server, ASecondServerOnTheSameDtlsAddressRefusesToStart) {
    const std::string address = "127.0.0.1:" + std::to_string(env().port);
    expect_refused(second_server(env(), {"--listen", address, "--https-listen", "127.0.0.1:0"}), "listen",
                   address);
    EXPECT_EQ(env().coap("/.well-known/est/crts").code, "2.05");  // the first one still serves
}

TEST_F(Server, ASecondServerOnTheSameHttpsAddressRefusesToStart) {
    const std::string address = "127.0.0.1:" + std::to_string(env().https_port);
    const std::string udp = "127.0.0.1:" + std::to_string(free_port(true));
    expect_refused(second_server(env(), {"--listen", udp, "--https-listen", address}), "https-listen",
                   address);
}

struct HeldAddress {
    const char* name;
    int family;
    const char* held;    // what another process binds
    const char* listen;  // what estgw is asked for
};

class ServerAddressInUse : public ::testing::TestWithParam<HeldAddress> {};

// IPv4, IPv6, and the [::] wildcard (dual-stack) against a specific IPv4 address.
TEST_P(ServerAddressInUse, UdpAddressHeldByAnotherSocketIsRefused) {
    static ServerEnv env;  // its PKI and configuration only: it is never started
    const int port = free_port(true);
    FileDescriptor held = hold(GetParam().family, SOCK_DGRAM, GetParam().held, port);
    const std::string host = GetParam().listen;
    const std::string address =
        (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
    expect_refused(second_server(env, {"--listen", address, "--https-listen", "127.0.0.1:0"}), "listen",
                   address);
}

INSTANTIATE_TEST_SUITE_P(Held, ServerAddressInUse,
                         ::testing::Values(HeldAddress{"ipv4", AF_INET, "127.0.0.1", "127.0.0.1"},
                                           HeldAddress{"ipv6", AF_INET6, "::1", "::1"},
                                           HeldAddress{"wildcard", AF_INET6, "::", "127.0.0.1"}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ServerAddressInUseTcp, HttpsAddressHeldByAnotherListenerIsRefused) {
    ServerEnv env;
    const int port = free_port(false);
    FileDescriptor held = hold(AF_INET, SOCK_STREAM, "127.0.0.1", port);
    const std::string address = "127.0.0.1:" + std::to_string(port);
    const std::string udp = "127.0.0.1:" + std::to_string(free_port(true));
    expect_refused(second_server(env, {"--listen", udp, "--https-listen", address}), "https-listen", address);
}

TEST(ServerPersistence, IssuedCertificatesSurviveARestart) {
    ServerEnv env;
    env.start();
    auto r = env.coap("/.well-known/est/sen",
                      {"-m", "post", "-t", "286", "-A", "287", "-f", env.csr("p", "CN=persist", {})});
    ASSERT_EQ(r.code, "2.04");
    std::string serial = serial_of(r.payload);
    EXPECT_EQ(env.stop(), 0);  // SIGTERM drains and exits 0
    env.start();
    std::string list = env.certs_list();
    EXPECT_NE(list.find("CN=persist"), std::string::npos) << list;
    auto again = env.coap("/.well-known/est/sen",
                          {"-m", "post", "-t", "286", "-A", "287", "-f", env.csr("p2", "CN=persist-2", {})});
    ASSERT_EQ(again.code, "2.04");
    std::string after = env.certs_list();
    EXPECT_NE(after.find("CN=persist-2"), std::string::npos);
    EXPECT_NE(after.find("CN=persist\t"), std::string::npos);
}

// ---- RFC 7030 over HTTPS for regular devices ----

TEST_F(Server, HttpsCacertsAndSimpleenrollWork) {
    std::string body;
    ASSERT_EQ(env().curl("/.well-known/est/cacerts", body), "200");
    ASSERT_TRUE(base64_decode(body).ok());
    std::string csr_b64 = base64_encode(bytes_of(read_file(env().csr("https", "CN=regular-device", {}))), 64);
    write_file(env().dir.file("https.b64"), csr_b64);
    ASSERT_EQ(env().curl("/.well-known/est/simpleenroll", body,
                         {"-H", "Content-Type: application/pkcs10", "--data-binary",
                          "@" + env().dir.file("https.b64")}),
              "200");
    auto der = base64_decode(body);
    ASSERT_TRUE(der.ok());
    auto certs = certs_only_certificates_der(*der);
    ASSERT_TRUE(certs.ok());
    EXPECT_TRUE(env().verifies(to_string(certs->at(0))));
}

TEST_F(Server, HttpsServerkeygenAnswersMultipartMixed) {
    std::string csr_b64 =
        base64_encode(bytes_of(read_file(env().csr("https-skg", "CN=regular-skg", {}))), 64);
    write_file(env().dir.file("https-skg.b64"), csr_b64);
    std::string body;
    ASSERT_EQ(env().curl("/.well-known/est/serverkeygen", body,
                         {"-H", "Content-Type: application/pkcs10", "--data-binary",
                          "@" + env().dir.file("https-skg.b64")}),
              "200");
    EXPECT_NE(body.find("application/pkcs8"), std::string::npos);
    EXPECT_NE(body.find("smime-type=certs-only"), std::string::npos);
}

// RFC 7030 §3.2.2: the labels are the server's. This server has none configured, so a well-formed label is
// 404 over HTTPS exactly as over CoAP, with a text naming it.
TEST_F(Server, HttpsUnknownLabelIs404NamingTheLabel) {
    std::string body;
    EXPECT_EQ(env().curl("/.well-known/est/tenant-b/cacerts", body), "404");
    EXPECT_NE(body.find("unknown label \"tenant-b\""), std::string::npos) << body;
    EXPECT_EQ(env().coap("/.well-known/est/tenant-b/crts").code, "4.04");
}

// A label given with --label is served by both fronts; any other still is not.
TEST(ServerLabels, BothFrontsServeTheConfiguredLabelOnly) {
    ServerEnv env;
    env.start({"--label", "tenant-a"});
    std::string body;
    EXPECT_EQ(env.curl("/.well-known/est/tenant-a/cacerts", body), "200") << body;
    EXPECT_EQ(env.coap("/.well-known/est/tenant-a/crts").code, "2.05");
    EXPECT_EQ(env.curl("/.well-known/est/tenant-b/cacerts", body), "404");
    EXPECT_NE(body.find("\"tenant-b\""), std::string::npos) << body;
    EXPECT_EQ(env.coap("/.well-known/est/tenant-b/crts").code, "4.04");
}

TEST_F(Server, HttpsWithoutClientCertificateIsRefused) {
    std::string body;
    EXPECT_EQ(env().curl("/.well-known/est/cacerts", body, {}, false), "000");
}

// estgw's own gateway mode in front of its own HTTPS front: both directions of the RFC 7030 mapping agree.
TEST(ServerAsUpstream, TheGatewayRelaysToTheHttpsFront) {
    ServerEnv server;
    server.start();
    GatewayEnv gw;  // its own PKI for the DTLS side; the upstream is the server's HTTPS front
    gw.start_gateway({"--upstream", "https://127.0.0.1:" + std::to_string(server.https_port), "--upstream-ca",
                      server.pki + "/ca.crt", "--upstream-cert", server.pki + "/server.crt", "--upstream-key",
                      server.pki + "/server.key"});
    auto crts = gw.coap("/est/crts");
    EXPECT_EQ(crts.code, "2.05") << gw.gateway_log();
    std::string csr = gw.write_csr("relay", "CN=pledge-1,O=estgw tests", {"DNS:pledge-1.example"});
    auto sen = gw.coap("/est/sen", {"-m", "post", "-t", "286", "-A", "287", "-f", csr});
    ASSERT_EQ(sen.code, "2.04") << sen.output << gw.gateway_log() << server.log();
    EXPECT_TRUE(server.verifies(sen.payload));
    auto skg = gw.coap("/est/skg", {"-m", "post", "-t", "286", "-f", csr});
    ASSERT_EQ(skg.code, "2.04") << skg.output;
    EXPECT_TRUE(mapping::decode_multipart_core(bytes_of(skg.payload)).ok());
    auto att = gw.coap("/est/att");
    EXPECT_EQ(att.code, "2.05");
    auto skc = gw.coap("/est/skc", {"-m", "post", "-t", "286", "-f", csr});
    ASSERT_EQ(skc.code, "2.04") << skc.output;
    auto parts = mapping::decode_multipart_core(bytes_of(skc.payload));
    ASSERT_TRUE(parts.ok());
    EXPECT_EQ(parts->at(1).format, ContentFormat::PkixCert);
    // Block-wise both ways through both of estgw's ends.
    auto blocks = gw.coap("/est/sen", {"-m", "post", "-t", "286", "-b", "64", "-O", "23,0x02", "-f", csr});
    ASSERT_EQ(blocks.code, "2.04") << blocks.output;
    EXPECT_GT(blocks.blocks_received, 1);
    auto crts287 = gw.coap("/est/crts", {"-A", "287"});
    ASSERT_EQ(crts287.code, "2.05");
    EXPECT_TRUE(server.verifies(crts287.payload));
}

}  // namespace
}  // namespace estgw::test
