#include "support/block_uploads.hpp"

#include <algorithm>
#include <stdexcept>

namespace estgw::test {

using client::CoapPduPtr;

std::size_t UploadResult::count(const std::string& code) const {
    return static_cast<std::size_t>(std::count(codes.begin(), codes.end(), code));
}

struct BlockUploads::Upload {
    client::CoapSessionPtr session;
    const UploadPlan* plan = nullptr;
    UploadResult result;
    std::uint32_t block = 0;  // the block sent last
    Bytes token;              // of that block
    bool done = true;

    std::size_t body_size() const { return plan->body.empty() ? plan->body_size : plan->body.size(); }
    std::size_t blocks() const { return (body_size() + plan->block_size - 1) / plan->block_size; }

    // Block `n`'s bytes: a slice of the given body, or a letter per block.
    Bytes payload(std::uint32_t n) const {
        const std::size_t offset = std::size_t{n} * plan->block_size;
        const std::size_t length = std::min<std::size_t>(plan->block_size, body_size() - offset);
        if (!plan->body.empty()) {
            return Bytes(plan->body.begin() + static_cast<std::ptrdiff_t>(offset),
                         plan->body.begin() + static_cast<std::ptrdiff_t>(offset + length));
        }
        return Bytes(length, static_cast<std::uint8_t>('A' + n % 26));
    }

    void send(std::uint32_t n) {
        block = n;
        CoapPduPtr pdu(coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_POST,
                                     coap_new_message_id(session.get()),
                                     coap_session_max_pdu_size(session.get())));
        if (!pdu) throw std::runtime_error("coap_pdu_init failed");
        std::uint8_t raw_token[8];
        std::size_t token_length = 0;
        coap_session_new_token(session.get(), &token_length, raw_token);
        token.assign(raw_token, raw_token + token_length);
        coap_add_token(pdu.get(), token_length, raw_token);
        auto add_uint = [&](coap_option_num_t number, std::uint64_t value) {
            std::uint8_t buf[8];
            coap_add_option(pdu.get(), number, coap_encode_var_safe8(buf, sizeof buf, value), buf);
        };
        for (const auto& segment : plan->path) {
            coap_add_option(pdu.get(), COAP_OPTION_URI_PATH, segment.size(),
                            reinterpret_cast<const std::uint8_t*>(segment.data()));
        }
        add_uint(COAP_OPTION_CONTENT_FORMAT, plan->content_format);
        if (plan->accept) add_uint(COAP_OPTION_ACCEPT, *plan->accept);
        unsigned szx = 0;
        while ((16u << szx) < plan->block_size)
            ++szx;
        const bool more = n + 1 < blocks();
        add_uint(COAP_OPTION_BLOCK1, std::uint64_t{n} << 4 | (more ? 8u : 0u) | szx);
        if (plan->send_size1) add_uint(COAP_OPTION_SIZE1, body_size());
        if (!plan->request_tag.empty()) {
            coap_add_option(pdu.get(), COAP_OPTION_RTAG, plan->request_tag.size(), plan->request_tag.data());
        }
        Bytes data = payload(n);
        coap_add_data(pdu.get(), data.size(), data.data());
        if (coap_send(session.get(), pdu.release()) == COAP_INVALID_MID) {
            result.failure = "coap_send failed";
            done = true;
        }
    }

    void on_answer(const coap_pdu_t* received) {
        result.last = client::read_answer(received);
        result.last_block = block;
        result.codes.push_back(client::code_string(result.last.code));
        coap_opt_iterator_t it;
        const coap_opt_t* size1 = coap_check_option(received, COAP_OPTION_SIZE1, &it);
        result.size1 = size1 ? std::optional<unsigned>(
                                   coap_decode_var_bytes(coap_opt_value(size1), coap_opt_length(size1)))
                             : std::nullopt;
        if (result.codes.back() != "2.31" || block + 1 >= blocks()) {
            done = true;
        } else if (result.count("2.31") >= plan->stop_after) {
            result.abandoned = true;
            done = true;
        } else {
            send(block + 1);
        }
    }
};

namespace {

BlockUploads::Upload* upload_of(coap_session_t* session) {
    return static_cast<BlockUploads::Upload*>(coap_session_get_app_data(session));
}

coap_response_t on_response(coap_session_t* session, const coap_pdu_t*, const coap_pdu_t* received,
                            const coap_mid_t) {
    BlockUploads::Upload* upload = upload_of(session);
    if (!upload || upload->done) return COAP_RESPONSE_OK;
    coap_bin_const_t token = coap_pdu_get_token(received);
    if (Bytes(token.s, token.s + token.length) != upload->token) return COAP_RESPONSE_OK;
    upload->on_answer(received);
    return COAP_RESPONSE_OK;
}

void on_nack(coap_session_t* session, const coap_pdu_t*, const coap_nack_reason_t reason, const coap_mid_t) {
    BlockUploads::Upload* upload = upload_of(session);
    if (!upload || upload->done) return;
    upload->result.failure = "no answer: " + std::string(client::nack_key(reason));
    upload->done = true;
}

}  // namespace

BlockUploads::BlockUploads(const coap_address_t& server, client::DtlsIdentity identity,
                           std::size_t sessions) {
    if (auto loaded = client::load_credentials(identity); !loaded)
        throw std::runtime_error(loaded.error().message);
    context_.reset(coap_new_context(nullptr));
    if (!context_) throw std::runtime_error("coap_new_context failed");
    // No COAP_BLOCK_USE_LIBCOAP: every block is ours to send.
    if (!coap_context_set_pki_root_cas(context_.get(), identity.ca_file.c_str(), nullptr))
        throw std::runtime_error("cannot load " + identity.ca_file);
    coap_register_response_handler(context_.get(), on_response);
    coap_register_nack_handler(context_.get(), on_nack);
    for (std::size_t i = 0; i < sessions; ++i) {
        auto session = client::open_dtls_session(context_.get(), server, identity);
        if (!session) throw std::runtime_error(session.error().message);
        auto upload = std::make_unique<Upload>();
        upload->session = std::move(*session);
        coap_session_set_app_data(upload->session.get(), upload.get());
        uploads_.push_back(std::move(upload));
    }
}

BlockUploads::~BlockUploads() {
    for (auto& upload : uploads_)
        coap_session_set_app_data(upload->session.get(), nullptr);
    uploads_.clear();
}

std::vector<UploadResult> BlockUploads::run(const std::vector<UploadPlan>& plans,
                                            std::chrono::milliseconds timeout) {
    if (plans.size() > uploads_.size()) throw std::invalid_argument("more plans than sessions");
    for (std::size_t i = 0; i < plans.size(); ++i) {
        Upload& upload = *uploads_[i];
        upload.plan = &plans[i];
        upload.result = UploadResult{};
        upload.done = false;
        upload.send(plans[i].first_block);
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto busy = [&] {
        return std::any_of(uploads_.begin(), uploads_.begin() + static_cast<std::ptrdiff_t>(plans.size()),
                           [](const auto& u) { return !u->done; });
    };
    while (busy()) {
        if (std::chrono::steady_clock::now() > deadline)
            throw std::runtime_error("uploads did not finish in time");
        coap_io_process(context_.get(), 100);
    }
    std::vector<UploadResult> results;
    for (std::size_t i = 0; i < plans.size(); ++i) {
        results.push_back(uploads_[i]->result);
        uploads_[i]->plan = nullptr;
    }
    return results;
}

void BlockUploads::idle(std::chrono::milliseconds duration) {
    const auto deadline = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < deadline)
        coap_io_process(context_.get(), 100);
}

}  // namespace estgw::test
