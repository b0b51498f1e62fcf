#include "gateway/coap_block1.hpp"

#include "common/log.hpp"
#include "gateway/coap_request_pdu.hpp"
#include "mapping/coap_request.hpp"

namespace estgw::gateway {

mapping::Block1Limits block1_limits(std::size_t max_body, std::chrono::seconds block_timeout,
                                    unsigned max_idle_sessions) {
    mapping::Block1Limits limits;
    limits.max_body = max_body;
    limits.timeout = block_timeout;
    limits.max_uploads = max_idle_sessions != 0 ? max_idle_sessions : 10000;
    return limits;
}

mapping::Block1Answer Block1Receiver::receive(coap_session_t* session, const coap_pdu_t* request,
                                              std::uint32_t block1, const std::string& path, ByteView payload,
                                              std::chrono::steady_clock::time_point now) {
    mapping::BlockRequest block;
    block.key.session = reinterpret_cast<std::uintptr_t>(session);
    block.key.path = path;
    block.key.request_tag = opaque_option(request, COAP_OPTION_RTAG);
    block.block1 = block1;
    if (auto size1 = uint_option(request, COAP_OPTION_SIZE1)) block.size1 = *size1;
    block.content_format = uint_option(request, COAP_OPTION_CONTENT_FORMAT);
    block.payload = payload;
    return assembler_.accept(block, now);
}

void Block1Receiver::write_continue(coap_pdu_t* response, const mapping::BlockOption& block) {
    coap_pdu_set_code(response, static_cast<coap_pdu_code_t>(COAP_RESPONSE_CODE(231)));
    coap_opt_iterator_t it;
    if (coap_check_option(response, COAP_OPTION_BLOCK1, &it)) return;  // libcoap's, with the same value
    std::uint8_t buf[4];
    coap_add_option(response, COAP_OPTION_BLOCK1, coap_encode_var_safe(buf, sizeof buf, block.value()), buf);
}

mapping::CoapResponse Block1Receiver::refusal(const mapping::Block1Answer& answer,
                                              const mapping::RouteConfig& routes) {
    if (answer.retry_after) {
        return mapping::coap_error_response(answer.error.status, answer.error.message, answer.retry_after);
    }
    return mapping::error_response(answer.error, routes);
}

void Block1Receiver::expire(std::chrono::steady_clock::time_point now) {
    const std::size_t dropped = assembler_.expire(now);
    if (dropped == 0) return;
    log::info("block1-expired", {{"dropped", dropped},
                                 {"timeout_s", assembler_.limits().timeout.count()},
                                 {"bodies", assembler_.uploads()},
                                 {"bytes", assembler_.bytes_held()}});
}

void Block1Receiver::forget(coap_session_t* session) {
    const std::size_t dropped = assembler_.forget_session(reinterpret_cast<std::uintptr_t>(session));
    if (dropped == 0) return;
    log::info("block1-dropped", {{"dropped", dropped},
                                 {"reason", "session closed"},
                                 {"bodies", assembler_.uploads()},
                                 {"bytes", assembler_.bytes_held()}});
}

}  // namespace estgw::gateway
