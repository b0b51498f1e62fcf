// A small cBRSKI registrar for testing `estgw pledge` until estgw's server mode serves /rv (issue 13): a
// libcoap DTLS server on 127.0.0.1 in a thread of the test process. The test decides the voucher (usually
// one it signs as the MASA for the request received, or a forged one); everything else is fixed:
//   POST /.well-known/brski/rv      the test's answer to the voucher request
//   POST /.well-known/brski/vs, es  2.04, the body and the client's certificate recorded
//   POST /.well-known/est/sen       a certificate from `issuing_ca` for the CSR (Accept 287, else 281)
//   GET  /.well-known/est/crts      Accept 62: `crts` as multipart-core of 287 parts; 287: the first of
//                                   `crts`; else the certs-only of `issuing_ca` (281)
// Every request is recorded with its body and the DTLS client certificate it came over.
#pragma once

#include <coap3/coap.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "certs/ca.hpp"
#include "common/bytes.hpp"
#include "common/dtls_credentials.hpp"

namespace estgw::test {

struct RegistrarRequest {
    std::string path;  // "brski/rv", "est/sen", ... (after /.well-known/)
    Bytes body;
    std::optional<unsigned> content_format, accept;
    Bytes client_certificate;  // DER of the DTLS client certificate
};

struct RegistrarAnswer {
    std::uint8_t code = COAP_RESPONSE_CODE(204);
    std::optional<unsigned> content_format;
    std::optional<unsigned> max_age;
    Bytes body;
};

class TestRegistrar {
  public:
    struct Config {
        std::string cert_file, key_file;  // DTLS server identity; the chain after the leaf is sent
        std::string client_ca_file;       // issuers of accepted client certificates (IDevIDs and LDevIDs)
        const certs::IssuingCa* issuing_ca = nullptr;
        std::vector<Bytes> crts;  // DER, issuing CA first
        // The answer to POST /rv; `count` is 1 for the first request of this registrar's life.
        std::function<RegistrarAnswer(const RegistrarRequest& request, int count)> voucher;
    };

    // Starts serving on a free port; throws std::runtime_error when libcoap refuses.
    explicit TestRegistrar(Config config);
    ~TestRegistrar();
    TestRegistrar(const TestRegistrar&) = delete;
    TestRegistrar& operator=(const TestRegistrar&) = delete;

    int port() const { return port_; }
    std::vector<RegistrarRequest> received() const;
    // The requests to one path, in order.
    std::vector<RegistrarRequest> received(const std::string& path) const;

  private:
    static void handle(coap_resource_t* resource, coap_session_t* session, const coap_pdu_t* request,
                       const coap_string_t* query, coap_pdu_t* response);
    static int tls_setup(void* tls_session, coap_dtls_pki_t* setup);
    RegistrarAnswer answer(const RegistrarRequest& request);

    Config config_;
    std::optional<DtlsCredentials> credentials_;
    int port_ = 0;
    coap_context_t* context_ = nullptr;  // freed by the destructor, after the thread stopped
    std::atomic<bool> stop_{false};
    std::thread thread_;
    mutable std::mutex mutex_;
    std::vector<RegistrarRequest> received_;
    int voucher_requests_ = 0;
};

}  // namespace estgw::test
