#include "mapping/block1_assembler.hpp"

#include <algorithm>
#include <utility>

namespace estgw::mapping {

Result<BlockOption> decode_block_option(std::uint32_t value) {
    if (value > 0xFFFFFFu) {
        return make_error(Status::BadRequest, "Block1 option longer than 3 bytes (RFC 7959 §2.2)");
    }
    BlockOption option;
    option.num = value >> 4;
    option.more = (value & 8u) != 0;
    option.szx = value & 7u;
    if (option.szx == 7) {
        return make_error(Status::BadRequest, "Block1 SZX 7 is reserved (RFC 7959 §2.2)");
    }
    return option;
}

Block1Assembler::Block1Assembler(Block1Limits limits) : limits_(limits) {
    limits_.max_uploads = std::max<std::size_t>(limits_.max_uploads, 1);
    limits_.max_uploads_per_session = std::max<std::size_t>(limits_.max_uploads_per_session, 1);
}

Block1Answer Block1Assembler::accept(const BlockRequest& block, Clock::time_point now) {
    auto found = uploads_.find(block.key);
    const std::optional<Uploads::iterator> upload =
        found == uploads_.end() ? std::nullopt : std::optional<Uploads::iterator>(found);
    auto decoded = decode_block_option(block.block1);
    if (!decoded) return refuse(upload, {}, decoded.error().status, decoded.error().message);
    const BlockOption option = *decoded;
    const std::string limit = std::to_string(limits_.max_body);

    // Before anything is kept: a body that will not fit is refused at the first block that shows it.
    if (block.size1 && *block.size1 > limits_.max_body) {
        return refuse(upload, option, Status::PayloadTooLarge,
                      "Size1 of " + std::to_string(*block.size1) + " bytes exceeds the limit of " + limit);
    }
    const std::size_t end = option.offset() + block.payload.size();
    if (end + (option.more ? 1 : 0) > limits_.max_body) {
        return refuse(upload, option, Status::PayloadTooLarge,
                      "block " + std::to_string(option.num) + " ends at byte " + std::to_string(end) +
                          (option.more ? " with more to come" : "") + "; the limit is " + limit);
    }

    if (option.num == 0) {
        if (upload) remove(*upload);
        return start(block, option, now);
    }
    if (!upload) {
        return refuse(std::nullopt, option, Status::RequestIncomplete,
                      "block " + std::to_string(option.num) +
                          " of a body that is not under way (its block 0 never came, or it was dropped); "
                          "send it again from block 0");
    }
    Upload& u = (*upload)->second;
    if (block.content_format != u.content_format) {
        return refuse(upload, option, Status::RequestIncomplete,
                      "Content-Format changed between blocks (RFC 7959 §2.3)");
    }
    const std::size_t received = u.body.size();
    if (option.offset() == received) {
        append(*upload, block.payload);
        if (!option.more) {
            Block1Answer answer{Block1Answer::Kind::Complete, option, remove(*upload), {}, std::nullopt};
            return answer;
        }
        touch(*upload, now);
        return Block1Answer{Block1Answer::Kind::Continue, option, {}, {}, std::nullopt};
    }
    if (option.more && end <= received) {
        touch(*upload, now);
        return Block1Answer{Block1Answer::Kind::Continue, option, {}, {}, std::nullopt};
    }
    return refuse(upload, option, Status::RequestIncomplete,
                  "block " + std::to_string(option.num) + " starts at byte " +
                      std::to_string(option.offset()) + " but " + std::to_string(received) +
                      " bytes have been received (RFC 7959 §2.9.2)");
}

Block1Answer Block1Assembler::start(const BlockRequest& block, const BlockOption& option,
                                    Clock::time_point now) {
    if (!option.more) {
        // A body in one block: nothing to keep.
        return Block1Answer{Block1Answer::Kind::Complete,
                            option,
                            Bytes(block.payload.begin(), block.payload.end()),
                            {},
                            std::nullopt};
    }
    // The session's own uploads sit together in the map (the session orders the key first).
    const auto first = uploads_.lower_bound(UploadKey{block.key.session, {}, {}});
    auto oldest = uploads_.end();
    std::size_t of_session = 0;
    for (auto it = first; it != uploads_.end() && it->first.session == block.key.session; ++it) {
        ++of_session;
        if (oldest == uploads_.end() || it->second.last_block < oldest->second.last_block) oldest = it;
    }
    if (of_session >= limits_.max_uploads_per_session && oldest != uploads_.end()) remove(oldest);
    if (uploads_.size() >= limits_.max_uploads) {
        // The least recently active upload is the first that can end; the client may try again then.
        const auto until = by_age_.front()->second.last_block + limits_.timeout - now;
        const auto seconds = std::chrono::ceil<std::chrono::seconds>(until);
        Block1Answer answer = refuse(std::nullopt, option, Status::ServiceUnavailable,
                                     "too many request bodies arriving at once; try again later");
        answer.retry_after = std::max(seconds, std::chrono::seconds(1));
        return answer;
    }
    auto [it, inserted] = uploads_.try_emplace(block.key);
    Upload& u = it->second;
    u.content_format = block.content_format;
    u.by_age = by_age_.insert(by_age_.end(), it);
    if (block.size1 && *block.size1 > 0) u.body.reserve(static_cast<std::size_t>(*block.size1));
    append(it, block.payload);
    touch(it, now);
    return Block1Answer{Block1Answer::Kind::Continue, option, {}, {}, std::nullopt};
}

void Block1Assembler::append(Uploads::iterator upload, ByteView payload) {
    Bytes& body = upload->second.body;
    const std::size_t needed = body.size() + payload.size();  // at most max_body: accept() checked
    if (needed > body.capacity()) {
        // Growth by doubling, but never past max_body: the buffer, not only the body, stays within the limit.
        body.reserve(std::min(limits_.max_body, std::max(needed, body.capacity() * 2)));
    }
    body.insert(body.end(), payload.begin(), payload.end());
    bytes_held_ += payload.size();
}

void Block1Assembler::touch(Uploads::iterator upload, Clock::time_point now) {
    upload->second.last_block = now;
    by_age_.splice(by_age_.end(), by_age_, upload->second.by_age);
}

Bytes Block1Assembler::remove(Uploads::iterator upload) {
    bytes_held_ -= upload->second.body.size();
    Bytes body = std::move(upload->second.body);
    by_age_.erase(upload->second.by_age);
    uploads_.erase(upload);
    return body;
}

Block1Answer Block1Assembler::refuse(std::optional<Uploads::iterator> upload, const BlockOption& option,
                                     Status status, std::string message) {
    if (upload) remove(*upload);
    return Block1Answer{
        Block1Answer::Kind::Refused, option, {}, make_error(status, std::move(message)), std::nullopt};
}

std::size_t Block1Assembler::expire(Clock::time_point now) {
    std::size_t dropped = 0;
    while (!by_age_.empty() && now - by_age_.front()->second.last_block >= limits_.timeout) {
        remove(by_age_.front());
        ++dropped;
    }
    return dropped;
}

std::size_t Block1Assembler::forget_session(std::uintptr_t session) {
    std::size_t dropped = 0;
    auto it = uploads_.lower_bound(UploadKey{session, {}, {}});
    while (it != uploads_.end() && it->first.session == session) {
        auto next = std::next(it);
        remove(it);
        it = next;
        ++dropped;
    }
    return dropped;
}

}  // namespace estgw::mapping
