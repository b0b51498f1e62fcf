// Answers of the CoAP front: a mapping::CoapResponse written into libcoap's response PDU (Block2 by libcoap),
// and the one log line per request.
#pragma once

#include <coap3/coap.h>

#include <chrono>
#include <cstddef>
#include <string_view>

#include "common/est.hpp"
#include "mapping/coap_response.hpp"

namespace estgw::gateway {

// Code, Size1, Max-Age and payload; a representation (an answer with a Content-Format) goes through
// libcoap's coap_add_data_large_response, which serves its later Block2 blocks.
void send_answer(coap_resource_t* resource, coap_session_t* session, const coap_pdu_t* request,
                 const coap_string_t* query, coap_pdu_t* response, const mapping::CoapResponse& answer);

// "request peer=... client=... path=... op=... code=... upstream=... in=... out=... ms=..." at info level;
// `request` is null when the request never became an EST request (errors, discovery). Also counts the request
// in estgw_coap_requests_total and estgw_coap_request_duration_seconds (metrics.hpp).
void log_request(const EstRequest* request, const PeerIdentity& peer, const mapping::CoapResponse& answer,
                 std::size_t bytes_in, int upstream_status, std::chrono::steady_clock::time_point started,
                 std::string_view path);

}  // namespace estgw::gateway
