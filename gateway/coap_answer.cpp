#include "gateway/coap_answer.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>

#include "common/log.hpp"
#include "gateway/metrics.hpp"
#include "mapping/resources.hpp"

namespace estgw::gateway {

namespace {

void release_bytes(coap_session_t*, void* app_ptr) {
    std::unique_ptr<Bytes> owned(static_cast<Bytes*>(app_ptr));
}

}  // namespace

void send_answer(coap_resource_t* resource, coap_session_t* session, const coap_pdu_t* request,
                 const coap_string_t* query, coap_pdu_t* response, const mapping::CoapResponse& answer) {
    coap_pdu_set_code(response, static_cast<coap_pdu_code_t>(answer.code));
    std::uint8_t buf[8];
    if (answer.size1) {
        coap_add_option(response, COAP_OPTION_SIZE1, coap_encode_var_safe(buf, sizeof buf, *answer.size1),
                        buf);
    }
    if (answer.content_format) {
        // Why libcoap's own Block2 store is safe here (libcoap 4.3.1, src/block.c): it keeps one answer per
        // session, resource, method and query, and serves only requests asking for Block2 NUM > 0 from it.
        // A request without Block2, or asking for block 0, always reaches the handler, and the answer given
        // here replaces the one kept (coap_add_data_large_internal deletes it first). A pledge keeps one
        // exchange at a time per server (NSTART = 1, RFC 7252 §4.7), so a later sen, sren or crts in the
        // same DTLS session gets its own answer, whatever Accept or body it has (tests/session prove it
        // with 16- and 64-byte blocks). What remains is a NUM > 0 request whose answer libcoap no longer
        // keeps (8 s after its last block, or 93 s after it was made): it reaches the handler, and mapping/
        // answers a POST's with 4.08 instead of enrolling again. coap_add_data_blocked_response (no store)
        // would need a store of our own for deferred POST answers, with the same matching rules.
        // libcoap keeps the body for the follow-up Block2 requests and calls release_bytes when done with it.
        auto body = std::make_unique<Bytes>(answer.payload);
        const std::uint8_t* data = body->data();
        std::size_t length = body->size();
        int max_age =
            answer.max_age ? static_cast<int>(std::min<std::uint32_t>(*answer.max_age, INT32_MAX)) : -1;
        coap_add_data_large_response(resource, session, request, response, query,
                                     static_cast<std::uint16_t>(*answer.content_format), max_age, 0, length,
                                     data, release_bytes, body.release());
        return;
    }
    if (answer.max_age) {
        coap_add_option(response, COAP_OPTION_MAXAGE, coap_encode_var_safe(buf, sizeof buf, *answer.max_age),
                        buf);
    }
    if (!answer.payload.empty()) coap_add_data(response, answer.payload.size(), answer.payload.data());
}

void log_request(const EstRequest* request, const PeerIdentity& peer, const mapping::CoapResponse& answer,
                 std::size_t bytes_in, int upstream_status, std::chrono::steady_clock::time_point started,
                 std::string_view path) {
    const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::string op = request ? std::string(mapping::resource_for(request->op).short_name) : "-";
    // Every answered request passes here once, which makes it the one place to count them.
    const std::string metric_op = request ? op : path == "/.well-known/core" ? "core" : "none";
    auto& metrics = metrics::estgw_metrics();
    metrics.coap_requests.add({metric_op, mapping::coap_code_string(answer.code)});
    metrics.coap_request_duration.observe({metric_op}, seconds);
    if (!log::enabled(log::Level::Info)) return;
    char ms_text[32];
    std::snprintf(ms_text, sizeof ms_text, "%.2f", seconds * 1000);
    log::info("request", {{"peer", peer.address},
                          {"client", peer.subject.empty() ? std::string("-") : peer.subject},
                          {"path", path},
                          {"op", op},
                          {"code", mapping::coap_code_string(answer.code)},
                          {"upstream", upstream_status ? std::to_string(upstream_status) : std::string("-")},
                          {"in", bytes_in},
                          {"out", answer.payload.size()},
                          {"ms", std::string(ms_text)}});
}

}  // namespace estgw::gateway
