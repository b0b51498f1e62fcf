#include "gateway/deferred_answers.hpp"

#include "common/log.hpp"

namespace estgw::gateway {

std::optional<std::uint64_t> DeferredAnswers::defer(coap_session_t* session, const coap_pdu_t* request,
                                                    Entry entry) {
    // libcoap sends the empty ACK when the handler returns without a code.
    if (!coap_register_async(session, request, 0)) return std::nullopt;
    coap_session_reference(session);
    coap_bin_const_t token = coap_pdu_get_token(request);
    Key key{session, Bytes(token.s, token.s + token.length)};
    entry.serial = next_serial_++;
    due_.push_back(Due{entry.ticket->deadline(), key, entry.serial});
    const std::uint64_t serial = entry.serial;
    auto [it, inserted] = entries_.try_emplace(std::move(key));
    if (!inserted) coap_session_release(session);  // one reference per entry: the earlier one is kept
    it->second = std::move(entry);
    return serial;
}

void DeferredAnswers::answer(const Key& key, std::uint64_t serial, EstResponse response) {
    auto it = entries_.find(key);
    if (it == entries_.end() || it->second.serial != serial || it->second.response) return;
    settle(it, std::move(response));
}

void DeferredAnswers::answer_overdue(Clock::time_point now, const Backend& backend) {
    while (!due_.empty() && due_.front().deadline <= now) {
        Due due = std::move(due_.front());
        due_.pop_front();
        auto it = waiting(due);
        if (it == entries_.end()) continue;
        RequestTicket& ticket = *it->second.ticket;
        if (ticket.give_up()) {
            settle(it, backend.overdue_answer(ticket, false));
        } else {
            due.deadline = ticket.started_job_deadline();
            started_.push_back(std::move(due));
        }
    }
    while (!started_.empty() && started_.front().deadline <= now) {
        auto it = waiting(started_.front());
        started_.pop_front();
        if (it != entries_.end()) settle(it, backend.overdue_answer(*it->second.ticket, true));
    }
}

std::size_t DeferredAnswers::answer_all(const EstResponse& response) {
    std::size_t count = 0;
    for (auto* list : {&due_, &started_}) {
        for (const Due& due : *list) {
            auto it = waiting(due);
            if (it == entries_.end()) continue;
            it->second.ticket->give_up();
            settle(it, response);
            ++count;
        }
        list->clear();
    }
    return count;
}

std::optional<DeferredAnswers::Clock::time_point> DeferredAnswers::next_deadline() {
    std::optional<Clock::time_point> next;
    for (auto* list : {&due_, &started_}) {
        while (!list->empty() && waiting(list->front()) == entries_.end())
            list->pop_front();
        if (!list->empty() && (!next || list->front().deadline < *next)) next = list->front().deadline;
    }
    return next;
}

std::optional<DeferredAnswers::Entry> DeferredAnswers::take_ready(coap_session_t* session,
                                                                  coap_bin_const_t token) {
    auto it = entries_.find(Key{session, Bytes(token.s, token.s + token.length)});
    // Not ready: a repeated request whose answer is still being prepared; it keeps waiting.
    if (it == entries_.end() || !it->second.response) return std::nullopt;
    Entry entry = std::move(it->second);
    entries_.erase(it);
    return entry;
}

void DeferredAnswers::release_all() {
    for (auto& [key, entry] : entries_)
        coap_session_release(key.session);
    entries_.clear();
    due_.clear();
    started_.clear();
}

void DeferredAnswers::settle(Entries::iterator it, EstResponse response) {
    const Key& key = it->first;
    coap_bin_const_t token{key.token.size(), key.token.data()};
    coap_async_t* async = coap_find_async(key.session, token);
    if (!async) {
        // The session went away (or libcoap dropped the async): nobody to answer.
        log::info("answer-dropped", {{"peer", it->second.request.peer.address}, {"reason", "session gone"}});
        coap_session_release(key.session);
        entries_.erase(it);
        return;
    }
    it->second.response = std::move(response);
    coap_async_trigger(async);
}

DeferredAnswers::Entries::iterator DeferredAnswers::waiting(const Due& due) {
    auto it = entries_.find(due.key);
    if (it == entries_.end() || it->second.serial != due.serial || it->second.response) return entries_.end();
    return it;
}

}  // namespace estgw::gateway
