// A minimal blocking EST-coaps client over libcoap's client API, for measurements: one DTLS session, one
// request at a time, Block-wise handled by libcoap.
#pragma once

#include <coap3/coap.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace estgw::bench {

struct CoapAnswer {
    unsigned code = 0;  // class<<5 | detail
    Bytes body;
};

class CoapClient {
  public:
    CoapClient(const std::string& host, int port, const std::string& cert, const std::string& key,
               const std::string& ca);
    ~CoapClient();
    CoapClient(const CoapClient&) = delete;
    CoapClient& operator=(const CoapClient&) = delete;

    // Sends one request on the session (opened on first use) and waits for the whole answer.
    Result<CoapAnswer> request(coap_pdu_code_t method, const std::vector<std::string>& path,
                               std::optional<unsigned> content_format, const Bytes& body,
                               std::chrono::milliseconds timeout = std::chrono::seconds(30));

  private:
    static coap_response_t on_response(coap_session_t* session, const coap_pdu_t* sent,
                                       const coap_pdu_t* received, const coap_mid_t mid);

    std::string cert_, key_, ca_;
    coap_context_t* context_ = nullptr;
    coap_session_t* session_ = nullptr;
    std::optional<CoapAnswer> answer_;
    Bytes token_;
};

}  // namespace estgw::bench
