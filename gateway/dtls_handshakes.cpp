#include "gateway/dtls_handshakes.hpp"

namespace estgw::gateway {

void DtlsHandshakes::started(Session session, Bytes address, Bytes peer, Clock::time_point now,
                             bool reserved) {
    ended(session);  // libcoap reuses freed memory: a new session at a known pointer starts afresh
    ++per_address_[address];
    if (totals_ && !reserved) totals_->started(address);
    peers_[peer] = session;
    by_start_.emplace(now, session);
    sessions_.emplace(session, Entry{std::move(address), std::move(peer), now});
}

void DtlsHandshakes::ended(Session session) {
    auto found = sessions_.find(session);
    if (found == sessions_.end()) return;
    const Entry& entry = found->second;
    if (totals_) totals_->ended(entry.address);
    auto count = per_address_.find(entry.address);
    if (count != per_address_.end() && --count->second == 0) per_address_.erase(count);
    auto peer = peers_.find(entry.peer);
    if (peer != peers_.end() && peer->second == session) peers_.erase(peer);
    auto [first, last] = by_start_.equal_range(entry.started);
    for (auto it = first; it != last; ++it) {
        if (it->second == session) {
            by_start_.erase(it);
            break;
        }
    }
    sessions_.erase(found);
}

HandshakeTotals::Admission HandshakeTotals::reserve(const Bytes& address, std::size_t max_total,
                                                    std::size_t max_per_address) {
    std::lock_guard lock(mutex_);
    auto found = per_address_.find(address);
    if (found != per_address_.end() && found->second >= max_per_address) return Admission::AddressFull;
    if (total_ >= max_total) return Admission::TotalFull;
    ++total_;
    ++per_address_[address];
    return Admission::Admitted;
}

void HandshakeTotals::started(const Bytes& address) {
    std::lock_guard lock(mutex_);
    ++total_;
    ++per_address_[address];
}

void HandshakeTotals::ended(const Bytes& address) {
    std::lock_guard lock(mutex_);
    if (total_ > 0) --total_;
    auto count = per_address_.find(address);
    if (count != per_address_.end() && --count->second == 0) per_address_.erase(count);
}

void HandshakeTotals::want_eviction(std::size_t cap) {
    std::lock_guard lock(mutex_);
    if (evictions_wanted_ < cap) ++evictions_wanted_;
}

bool HandshakeTotals::claim_eviction(std::size_t max_total) {
    std::lock_guard lock(mutex_);
    if (total_ < max_total) evictions_wanted_ = 0;
    if (evictions_wanted_ == 0) return false;
    --evictions_wanted_;
    return true;
}

std::size_t HandshakeTotals::total() const {
    std::lock_guard lock(mutex_);
    return total_;
}

std::size_t HandshakeTotals::from_address(const Bytes& address) const {
    std::lock_guard lock(mutex_);
    auto found = per_address_.find(address);
    return found == per_address_.end() ? 0 : found->second;
}

std::size_t DtlsHandshakes::from_address(const Bytes& address) const {
    auto found = per_address_.find(address);
    return found == per_address_.end() ? 0 : found->second;
}

DtlsHandshakes::Session DtlsHandshakes::session_from(const Bytes& peer) const {
    auto found = peers_.find(peer);
    return found == peers_.end() ? nullptr : found->second;
}

DtlsHandshakes::Session DtlsHandshakes::oldest() const {
    return by_start_.empty() ? nullptr : by_start_.begin()->second;
}

std::vector<DtlsHandshakes::Session> DtlsHandshakes::expired(Clock::time_point now,
                                                             Clock::duration timeout) const {
    std::vector<Session> out;
    for (const auto& [started, session] : by_start_) {
        if (now - started < timeout) break;
        out.push_back(session);
    }
    return out;
}

}  // namespace estgw::gateway
