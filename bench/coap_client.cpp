#include "bench/coap_client.hpp"

#include <arpa/inet.h>

#include <cstring>
#include <stdexcept>

namespace estgw::bench {

CoapClient::CoapClient(const std::string& host, int port, const std::string& cert, const std::string& key,
                       const std::string& ca)
    : cert_(cert), key_(key), ca_(ca) {
    context_ = coap_new_context(nullptr);
    if (!context_) throw std::runtime_error("coap_new_context failed");
    coap_set_app_data(context_, this);
    coap_context_set_block_mode(context_, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
    coap_register_response_handler(context_, on_response);
    coap_context_set_pki_root_cas(context_, ca_.c_str(), nullptr);

    coap_address_t dst;
    coap_address_init(&dst);
    dst.addr.sin.sin_family = AF_INET;
    dst.addr.sin.sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, host.c_str(), &dst.addr.sin.sin_addr) != 1)
        throw std::runtime_error("IPv4 address expected");
    dst.size = sizeof(dst.addr.sin);

    coap_dtls_pki_t pki{};
    pki.version = COAP_DTLS_PKI_SETUP_VERSION;
    pki.verify_peer_cert = 1;
    pki.cert_chain_validation = 1;
    pki.cert_chain_verify_depth = 3;
    pki.pki_key.key_type = COAP_PKI_KEY_PEM;
    pki.pki_key.key.pem.public_cert = cert_.c_str();
    pki.pki_key.key.pem.private_key = key_.c_str();
    session_ = coap_new_client_session_pki(context_, nullptr, &dst, COAP_PROTO_DTLS, &pki);
    if (!session_) throw std::runtime_error("cannot create the DTLS client session");
}

CoapClient::~CoapClient() {
    if (session_) coap_session_release(session_);
    if (context_) coap_free_context(context_);
}

coap_response_t CoapClient::on_response(coap_session_t* session, const coap_pdu_t*,
                                        const coap_pdu_t* received, const coap_mid_t) {
    auto* self = static_cast<CoapClient*>(coap_get_app_data(coap_session_get_context(session)));
    coap_bin_const_t token = coap_pdu_get_token(received);
    if (Bytes(token.s, token.s + token.length) != self->token_) return COAP_RESPONSE_OK;
    CoapAnswer answer;
    answer.code = coap_pdu_get_code(received);
    std::size_t length = 0, offset = 0, total = 0;
    const std::uint8_t* data = nullptr;
    if (coap_get_data_large(received, &length, &data, &offset, &total))
        answer.body.assign(data, data + length);
    self->answer_ = std::move(answer);
    return COAP_RESPONSE_OK;
}

Result<CoapAnswer> CoapClient::request(coap_pdu_code_t method, const std::vector<std::string>& path,
                                       std::optional<unsigned> content_format, const Bytes& body,
                                       std::chrono::milliseconds timeout) {
    coap_pdu_t* pdu = coap_pdu_init(COAP_MESSAGE_CON, method, coap_new_message_id(session_),
                                    coap_session_max_pdu_size(session_));
    if (!pdu) return make_error(Status::Internal, "coap_pdu_init failed");
    std::uint8_t token[8];
    std::size_t token_length = 0;
    coap_session_new_token(session_, &token_length, token);
    coap_add_token(pdu, token_length, token);
    token_.assign(token, token + token_length);
    for (const auto& segment : path) {
        coap_add_option(pdu, COAP_OPTION_URI_PATH, segment.size(),
                        reinterpret_cast<const std::uint8_t*>(segment.data()));
    }
    std::uint8_t buf[4];
    if (content_format) {
        coap_add_option(pdu, COAP_OPTION_CONTENT_FORMAT,
                        coap_encode_var_safe(buf, sizeof buf, *content_format), buf);
    }
    if (!body.empty()) coap_add_data_large_request(session_, pdu, body.size(), body.data(), nullptr, nullptr);
    answer_.reset();
    if (coap_send(session_, pdu) == COAP_INVALID_MID)
        return make_error(Status::UpstreamFailed, "coap_send failed");
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!answer_) {
        if (std::chrono::steady_clock::now() >= deadline)
            return make_error(Status::UpstreamTimeout, "no answer");
        coap_io_process(context_, 50);
    }
    return *answer_;
}

}  // namespace estgw::bench
