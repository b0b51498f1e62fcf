// Reading a request PDU on the CoAP front: its options as plain values for mapping/, which never sees
// libcoap.
#pragma once

#include <coap3/coap.h>

#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "mapping/coap_request.hpp"

namespace estgw::gateway {

// The value of a uint option (RFC 7252 §3.2), absent when the option is.
std::optional<unsigned> uint_option(const coap_pdu_t* pdu, coap_option_num_t number);

// The bytes of an opaque option, empty when absent.
Bytes opaque_option(const coap_pdu_t* pdu, coap_option_num_t number);

// The Uri-Path segments in order, and the same joined as "/a/b" ("/" for none), as logged.
std::vector<std::string> uri_path(const coap_pdu_t* pdu);
std::string join_path(const std::vector<std::string>& segments);

// Everything parse_coap_request looks at except the payload, which the caller sets: the PDU's own, or a
// body reassembled from Block1 blocks.
mapping::CoapRequestView request_view(const coap_pdu_t* request);

}  // namespace estgw::gateway
