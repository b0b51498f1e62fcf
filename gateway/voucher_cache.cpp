#include "gateway/voucher_cache.hpp"

#include <openssl/sha.h>

namespace estgw::gateway {

VoucherCache::Lookup VoucherCache::lookup(ByteView pvr, Clock::time_point now) {
    Lookup out;
    out.key.resize(SHA256_DIGEST_LENGTH);
    SHA256(pvr.data(), pvr.size(), out.key.data());
    std::lock_guard lock(mutex_);
    if (auto found = cached_.find(out.key); found != cached_.end()) {
        if (found->second.expires > now) {
            out.decision = Decision::Answer;
            out.answer = found->second.answer;
            return out;
        }
        cached_.erase(found);  // its key stays in order_ until it reaches the front
    }
    if (pending_.count(out.key) != 0) {
        out.decision = Decision::Wait;
        return out;
    }
    pending_.emplace(out.key, std::make_shared<Pending>());
    out.decision = Decision::Call;
    return out;
}

std::optional<EstResponse> VoucherCache::wait(const Bytes& key, Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    auto found = pending_.find(key);
    if (found == pending_.end()) {
        // Finished between lookup() and now.
        if (auto cached = cached_.find(key); cached != cached_.end()) return cached->second.answer;
        return std::nullopt;
    }
    std::shared_ptr<Pending> pending = found->second;
    finished_.wait_until(lock, deadline, [&] { return pending->answer.has_value(); });
    return pending->answer;
}

void VoucherCache::finish(const Bytes& key, const EstResponse& answer, Clock::time_point now) {
    {
        std::lock_guard lock(mutex_);
        if (auto found = pending_.find(key); found != pending_.end()) {
            found->second->answer = answer;
            pending_.erase(found);
        }
        if (answer.status == Status::Ok && capacity_ > 0) {
            while (cached_.size() >= capacity_ && !order_.empty()) {
                cached_.erase(order_.front());
                order_.pop_front();
            }
            // Expired entries are dropped as they reach the front, so order_ stays bounded too.
            while (!order_.empty() && cached_.count(order_.front()) == 0)
                order_.pop_front();
            cached_.insert_or_assign(key, Cached{answer, now + lifetime_});
            order_.push_back(key);
        }
    }
    finished_.notify_all();
}

}  // namespace estgw::gateway
