// The requests the CoAP front answers as separate responses (RFC 7252 §5.2.2), on its I/O thread.
//
// libcoap 4.3.1's async keeps each one's request until the answer is known; triggering it makes libcoap call
// the resource handler again, which sends the answer (CoapFront::finish_async). The answer comes from the
// worker, or from the front itself when the request's deadline passes first (Backend::overdue_answer), or
// when the drain ends: every request is answered, none is left waiting until the pledge gives up.
#pragma once

#include <coap3/coap.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>

#include "common/bytes.hpp"
#include "common/est.hpp"
#include "gateway/backend.hpp"
#include "gateway/request_ticket.hpp"

namespace estgw::gateway {

class DeferredAnswers {
  public:
    using Clock = std::chrono::steady_clock;

    struct Key {
        coap_session_t* session;
        Bytes token;
        bool operator<(const Key& o) const {
            return session != o.session ? session < o.session : token < o.token;
        }
    };
    struct Entry {
        EstRequest request;  // without body: what the answer conversion and the log need
        std::shared_ptr<RequestTicket> ticket;
        std::size_t bytes_in = 0;
        std::optional<EstResponse> response;
        std::uint64_t serial =
            0;  // tells a late worker answer from one for a new request with the same token
    };

    DeferredAnswers() = default;
    DeferredAnswers(const DeferredAnswers&) = delete;
    DeferredAnswers& operator=(const DeferredAnswers&) = delete;

    // Registers libcoap's async for `request` and holds a reference on `session` until the answer is sent.
    // The serial the worker's answer must come with; nothing when libcoap cannot defer the request.
    std::optional<std::uint64_t> defer(coap_session_t* session, const coap_pdu_t* request, Entry entry);

    // A worker's answer: sent unless the request has been answered already.
    void answer(const Key& key, std::uint64_t serial, EstResponse response);

    // Answers, as `backend` says, every request whose deadline is `now` or earlier and whose job has not
    // started, and every one whose started job has overrun its deadline (RequestTicket).
    void answer_overdue(Clock::time_point now, const Backend& backend);

    // Answers every request still waiting with `response` (the end of the drain); how many there were.
    std::size_t answer_all(const EstResponse& response);

    // When the next request without an answer reaches its deadline.
    std::optional<Clock::time_point> next_deadline();

    // libcoap is sending the answer to (session, token): the entry, taken out, when its answer is ready.
    // The caller releases the session reference after sending.
    std::optional<Entry> take_ready(coap_session_t* session, coap_bin_const_t token);

    bool empty() const { return entries_.empty(); }
    std::size_t size() const { return entries_.size(); }

    // Releases the session references of the requests left; before libcoap's context goes.
    void release_all();

  private:
    using Entries = std::map<Key, Entry>;
    struct Due {
        Clock::time_point deadline;
        Key key;
        std::uint64_t serial;
    };

    // Sets the answer and triggers the async; drops the entry when its session has gone.
    void settle(Entries::iterator it, EstResponse response);
    // The entry `due` refers to, when it still waits for its answer.
    Entries::iterator waiting(const Due& due);

    Entries entries_;
    // In deadline order, since every request gets the same timeout: entries answered meanwhile are skipped
    // when they reach the front. Requests whose job had started at the deadline move to started_, in the
    // order of their later deadline.
    std::deque<Due> due_;
    std::deque<Due> started_;
    std::uint64_t next_serial_ = 1;
};

}  // namespace estgw::gateway
