#include "gateway/dtls_new_association.hpp"

namespace estgw::gateway {

namespace {

// RFC 6347 §4.1: type (1), version (2), epoch (2), sequence_number (6), length (2).
constexpr std::size_t kRecordHeaderLength = 13;
constexpr unsigned char kHandshake = 22;

std::uint64_t big_endian(const unsigned char* p, int n) {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i)
        v = v << 8 | p[i];
    return v;
}

}  // namespace

void DtlsNewAssociationWatch::watch(SSL* ssl, coap_session_t* session) {
    highest_epoch0_.emplace(session, 0);
    SSL_set_msg_callback(ssl, on_message);
    SSL_set_msg_callback_arg(ssl, this);
}

void DtlsNewAssociationWatch::on_message(int write_p, int, int content_type, const void* buf, size_t len,
                                         SSL* ssl, void* arg) {
    if (write_p || content_type != SSL3_RT_HEADER || len < kRecordHeaderLength) return;
    auto* session = static_cast<coap_session_t*>(SSL_get_app_data(ssl));
    if (!session) return;
    static_cast<DtlsNewAssociationWatch*>(arg)->on_record_header(session, SSL_is_init_finished(ssl) == 1,
                                                                 static_cast<const unsigned char*>(buf));
}

void DtlsNewAssociationWatch::on_record_header(coap_session_t* session, bool established,
                                               const unsigned char* header) {
    if (header[0] != kHandshake || big_endian(header + 3, 2) != 0) return;
    const std::uint64_t sequence = big_endian(header + 5, 6);
    auto found = highest_epoch0_.find(session);
    if (found == highest_epoch0_.end()) return;
    if (sequence <= found->second) {
        restarted_.emplace(session, established);
    } else {
        found->second = sequence;
    }
}

DtlsNewAssociationWatch::Actions DtlsNewAssociationWatch::due(Clock::time_point now) {
    Actions actions;
    for (const auto& [session, established] : restarted_) {
        if (!established) {
            actions.close.push_back(session);
        } else if (probing_.emplace(session, now + kProbeWindow).second) {
            actions.probe.push_back(session);
        }
    }
    restarted_.clear();
    for (auto it = probing_.begin(); it != probing_.end();) {
        if (it->second <= now) {
            actions.close.push_back(it->first);
            it = probing_.erase(it);
        } else {
            ++it;
        }
    }
    return actions;
}

bool DtlsNewAssociationWatch::answered(coap_session_t* session) {
    return probing_.erase(session) > 0;
}

void DtlsNewAssociationWatch::forget(coap_session_t* session) {
    highest_epoch0_.erase(session);
    restarted_.erase(session);
    probing_.erase(session);
}

}  // namespace estgw::gateway
