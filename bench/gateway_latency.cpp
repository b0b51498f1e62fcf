// The latency estgw adds in gateway mode: N enrollments through the gateway (one DTLS session, libcoap
// client) and N directly against the same HTTPS upstream (one keep-alive TLS connection), in the same run.
//
// Usage: gateway_latency [N]   (default 100). Needs the built estgw binary and coap-client-free loopback.
#include <httplib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "client/bench_stats.hpp"
#include "client/coap_client.hpp"
#include "common/base64.hpp"
#include "gateway/gateway_env.hpp"

using namespace estgw;
using Clock = std::chrono::steady_clock;

namespace {

using Summary = client::LatencySummary;

void print(const char* what, const Summary& s, std::size_t n) {
    std::printf("%-34s n=%zu  p50=%.3f ms  p90=%.3f ms  p99=%.3f ms  max=%.3f ms\n", what, n, s.p50, s.p90,
                s.p99, s.max);
}

}  // namespace

int main(int argc, char** argv) {
    int n = argc > 1 ? std::atoi(argv[1]) : 100;
    if (n < 1) n = 100;
    test::GatewayEnv env;
    env.start_gateway({"--log-level", "warn"});
    std::string csr_file = env.write_csr("bench", "CN=pledge-1,O=estgw tests", {"DNS:pledge-1.example"});
    std::string csr_text = test::read_file(csr_file);
    Bytes csr(csr_text.begin(), csr_text.end());

    // Directly: RFC 7030 over one keep-alive HTTPS connection, as the gateway's pool does.
    httplib::SSLClient direct("127.0.0.1", env.upstream_port, env.ra_cert, env.ra_key);
    direct.set_ca_cert_path(env.ca_file.c_str());
    direct.enable_server_certificate_verification(true);
    direct.set_tcp_nodelay(true);
    direct.set_keep_alive(true);
    std::string b64 = base64_encode(csr);
    std::vector<double> direct_ms;
    for (int i = 0; i < n + 5; ++i) {
        auto t0 = Clock::now();
        auto res = direct.Post("/.well-known/est/simpleenroll", b64, "application/pkcs10");
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        if (!res || res->status != 200) {
            std::fprintf(stderr, "direct request failed\n");
            return 1;
        }
        if (i >= 5) direct_ms.push_back(ms);  // the first five warm up the connection
    }

    // Through the gateway: EST-coaps over one DTLS session.
    std::vector<double> gateway_ms;
    {
        client::CoapLibrary library(LOG_WARNING);
        client::CoapsUrl url{"127.0.0.1", static_cast<std::uint16_t>(env.port)};
        client::DtlsIdentity identity;
        identity.cert_file = env.pledge.cert;
        identity.key_file = env.pledge.key;
        identity.ca_file = env.ca_file;
        auto server = client::resolve_server(url);
        if (!server) {
            std::fprintf(stderr, "%s\n", server.error().message.c_str());
            return 1;
        }
        auto client = client::CoapClient::open(*server, identity);
        if (!client) {
            std::fprintf(stderr, "cannot open the DTLS session: %s\n", client.error().message.c_str());
            return 1;
        }
        client::CoapRequest sen;
        sen.method = COAP_REQUEST_CODE_POST;
        sen.path = {"est", "sen"};
        sen.content_format = 286;
        sen.body = csr;
        for (int i = 0; i < n + 5; ++i) {
            auto t0 = Clock::now();
            auto answer = (*client)->request(sen);
            double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
            if (!answer || answer->code != COAP_RESPONSE_CODE(204)) {
                std::fprintf(
                    stderr, "gateway request failed: %s\n",
                    answer ? client::code_string(answer->code).c_str() : answer.error().message.c_str());
                return 1;
            }
            if (i >= 5) gateway_ms.push_back(ms);
        }
    }

    // The same nearest-rank percentiles as `estgw bench`, so the figures in one results.jsonl agree.
    Summary d = client::summarize_latencies(direct_ms), g = client::summarize_latencies(gateway_ms);
    print("direct HTTPS simpleenroll", d, direct_ms.size());
    print("through gateway CoAP sen", g, gateway_ms.size());
    std::printf("gateway adds at p50: %.3f ms\n", g.p50 - d.p50);
    return 0;
}
