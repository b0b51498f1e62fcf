// Block1 bodies on the CoAP front, block by block (RFC 7959 §2.3, §2.5, §2.9).
//
// The front runs libcoap 4.3.1 with COAP_BLOCK_USE_LIBCOAP but not COAP_BLOCK_SINGLE_BODY. With it, libcoap
// kept each Block1 body in memory, answered 2.31 itself and showed the body only after its last block: the
// body limit then held only after the whole upload, and an abandoned body lived as long as its session.
// Without it, libcoap (src/block.c, coap_handle_request_put_block) calls the handler for every block with
// the block's own payload and the request's Block1 and Size1 untouched; for a block with M=1 it has put
// Block1 in the response and turns a 2.xx from the handler into 2.31, while an error code passes with its
// Block1 removed (net.c, handle_request). It keeps only a small record per body (no payload) for
// MAX_TRANSMIT_WAIT, 93 s, after block 0; past that it passes later blocks on without any of this, so the
// 2.31 written here carries Block1 either way. Blocks go to mapping's Block1Assembler, which holds
// --max-body, --block-timeout and the number of bodies at once.
#pragma once

#include <coap3/coap.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "common/bytes.hpp"
#include "mapping/block1_assembler.hpp"
#include "mapping/coap_response.hpp"
#include "mapping/paths.hpp"

namespace estgw::gateway {

// The assembler's limits. As many bodies at once as idle sessions are kept (a pledge sends one body at a
// time, RFC 7252 §4.7 NSTART = 1; 10000 when the sessions are not limited), so that the bodies cost at most
// --max-idle-sessions × --max-body: 160 MB with the defaults, a fifth of what the sessions themselves may
// hold (about 80 KB each, PLATFORM-NOTES).
mapping::Block1Limits block1_limits(std::size_t max_body, std::chrono::seconds block_timeout,
                                    unsigned max_idle_sessions);

class Block1Receiver {
  public:
    explicit Block1Receiver(mapping::Block1Limits limits) : assembler_(limits) {}

    // One block of `request`, whose Block1 option has `block1` as value; `path` names the resource the
    // body is for. The body is the session's, resource's and Request-Tag's (RFC 9175 §3.3).
    mapping::Block1Answer receive(coap_session_t* session, const coap_pdu_t* request, std::uint32_t block1,
                                  const std::string& path, ByteView payload,
                                  std::chrono::steady_clock::time_point now);

    // 2.31 Continue with Block1 echoing `block` (RFC 7959 §2.3).
    static void write_continue(coap_pdu_t* response, const mapping::BlockOption& block);

    // The answer to a refused block: 4.13 with Size1 = --max-body (RFC 7959 §2.9.3), 5.03 with Max-Age,
    // or the error's own code.
    static mapping::CoapResponse refusal(const mapping::Block1Answer& answer,
                                         const mapping::RouteConfig& routes);

    // Drops the bodies that got no block for --block-timeout, with a log line saying how many.
    void expire(std::chrono::steady_clock::time_point now);

    // Drops the bodies of a session libcoap is deleting.
    void forget(coap_session_t* session);

  private:
    mapping::Block1Assembler assembler_;
};

}  // namespace estgw::gateway
