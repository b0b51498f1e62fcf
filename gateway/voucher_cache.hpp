// The registrar's memory of voucher-requests it took to a MASA (BRSKI.md §3.5; RFC 8995 §5.6: "the MASA
// response MAY be cached for a repeated identical PVR"). A pledge resends the identical PVR bytes when an
// answer was lost or after 5.03 + Max-Age; the MASA is then not asked again:
//   - while the first is still with the MASA, the resend waits for that call's answer instead of making a
//     second one;
//   - once the MASA answered with a voucher, the voucher is answered again for `lifetime`, from at most
//     `capacity` entries (the oldest goes first).
// Keyed by the SHA-256 of the PVR bytes. Only requests that passed every check of the PVR reach the cache,
// and those bind the PVR to the DTLS client's key (its signature) and to this registrar (proximity): a
// cached voucher goes only to the pledge it was issued for. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "common/bytes.hpp"
#include "common/est.hpp"

namespace estgw::gateway {

class VoucherCache {
  public:
    using Clock = std::chrono::steady_clock;

    VoucherCache(std::size_t capacity, Clock::duration lifetime) : capacity_(capacity), lifetime_(lifetime) {}

    // What to do with a PVR: Answer (a voucher cached), Wait (the same PVR is with the MASA: wait()), or
    // Call (ours to take to the MASA; finish() must follow).
    enum class Decision { Answer, Wait, Call };
    struct Lookup {
        Decision decision = Decision::Call;
        std::optional<EstResponse> answer;  // for Answer
        Bytes key;
    };
    Lookup lookup(ByteView pvr, Clock::time_point now);

    // The answer of the call this PVR is waiting for; nullopt when `deadline` came first.
    std::optional<EstResponse> wait(const Bytes& key, Clock::time_point deadline);

    // The call's answer: handed to the waiters, and kept when it is a voucher (status Ok).
    void finish(const Bytes& key, const EstResponse& answer, Clock::time_point now);

  private:
    struct Pending {
        std::optional<EstResponse> answer;
    };
    struct Cached {
        EstResponse answer;
        Clock::time_point expires;
    };

    std::size_t capacity_;
    Clock::duration lifetime_;
    std::mutex mutex_;
    std::condition_variable finished_;
    std::map<Bytes, std::shared_ptr<Pending>> pending_;
    std::map<Bytes, Cached> cached_;
    std::deque<Bytes> order_;  // cached_'s keys, oldest first
};

}  // namespace estgw::gateway
