// CoAP request → EstRequest (RFC 9148 §4.1–4.4, RFC 7252 §5.4.1 and §5.10, RFC 7959 §2.9.3; cBRSKI §6.5;
// digest §1, §3, §4 and "codes the gateway generates itself" in §5).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/est.hpp"
#include "common/result.hpp"
#include "mapping/coap_response.hpp"
#include "mapping/paths.hpp"

namespace estgw::mapping {

// What the CoAP front read from a (reassembled) request PDU. Plain data: no libcoap types.
struct CoapRequestView {
    std::uint8_t method = 0;                         // request code byte 0.01–0.31 (CoapMethod for 1–7)
    std::vector<std::string> uri_path;               // Uri-Path options, in order, as received (decoded)
    std::optional<unsigned> uri_path_abbrev;         // option 13, when present
    std::optional<unsigned> content_format;          // option 12
    std::optional<unsigned> accept;                  // option 17
    std::optional<unsigned> block2_num;              // NUM of option 23, when present (RFC 7959 §2.2)
    ByteView payload;                                // the whole body after Block1 reassembly
    std::vector<unsigned> unknown_critical_options;  // odd option numbers the front does not understand
};

// Checks the request and names it in EST terms. The first failing check decides the answer:
//   4.02 BadOption          an unknown critical option (RFC 7252 §5.4.1); an unknown Uri-Path-Abbrev value,
//                           or Uri-Path-Abbrev together with Uri-Path (draft-ietf-core-uri-path-abbrev)
//   4.04 NotFound           unknown path, invalid label, or a function this server does not offer
//   4.05 MethodNotAllowed   not the resource's method (GET for crts/att, POST for the rest)
//   4.08 RequestIncomplete  a POST asking for Block2 block NUM > 0: a later block of an answer that is no
//                           longer kept (the front serves those from the answer it keeps); never a new
//                           enrollment
//   4.13 PayloadTooLarge    payload longer than config.max_body (error_response adds Size1)
//   4.15 UnsupportedFormat  a POST without Content-Format or with one the resource does not take; a GET's
//                           Content-Format is ignored, and so is its payload
//   4.06 NotAcceptable      an Accept the resource cannot produce; ignored by vs and es, which answer
//                           without payload
//   4.00 BadRequest         a body that is not what its Content-Format says: one DER PKCS#10 CSR for 286,
//                           well-formed CBOR for 60 and 836 (COSE_Sign1 is CBOR), a JSON object for 50 (a
//                           light check: the gateway relays it, the upstream parses it)
// Without Accept, `accept` stays empty (the resource's default) unless the request's own Content-Format is
// one the resource answers in: then it is that format (cBRSKI, digest §12: /rv without Accept answers in
// the format of the voucher request).
// The peer identity is left for the caller to fill.
Result<EstRequest> parse_coap_request(const CoapRequestView& request, const RouteConfig& config);

// parse_coap_request's checks that come before the payload's (critical options, path, method, Block2), in
// the same order and with the same errors. The front runs them on every Block1 block, so that a body the
// resource would refuse anyway is refused at its first block instead of being reassembled.
Result<void> check_coap_request_target(const CoapRequestView& request, const RouteConfig& config);

// The CoAP answer to a failed parse_coap_request (or any other error before a backend is involved):
// coap_error_response, plus Size1 = config.max_body on 4.13 (RFC 7959 §2.9.3).
CoapResponse error_response(const Error& error, const RouteConfig& config);

}  // namespace estgw::mapping
