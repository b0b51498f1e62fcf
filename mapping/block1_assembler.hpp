// Block1 reassembly with the body limit held while the body arrives (RFC 7959 §2.3, §2.5, §2.9; RFC 9175
// §3 Request-Tag; digest §7 "Block1, handled atomically" and "DoS").
//
// The CoAP front hands every request that carries Block1 here, one block at a time. An upload is the body
// one client sends to one resource: the session, the request URI and the Request-Tag (RFC 9175 §3.3: blocks
// with different tags are different bodies) name it. Bodies are kept whole in memory, so three limits keep
// that memory bounded:
// - a body never holds more than max_body bytes: a block whose Size1, or whose end (NUM × size + length, plus
//   one when M says more follows), passes max_body is refused with 4.13 at once, and nothing of its upload
//   is kept;
// - an upload that has seen no block for `timeout` is dropped by expire() (RFC 7959 §2.5: the server may
//   forget a body whose blocks stop coming), whatever the session's own idle timeout;
// - at most max_uploads at once (beyond that a new upload gets 5.03 + Max-Age and the ones under way go on)
//   and max_uploads_per_session per session (beyond that the session's least recently active one is dropped:
//   a pledge that abandoned an upload and starts another must not be refused for its own leftovers).
// So the bodies never hold more than max_uploads × max_body bytes.
//
// Pure: no libcoap, no clock (the caller passes the time), no threads.
#pragma once

#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <string>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace estgw::mapping {

// A Block1 (or Block2) option value, RFC 7959 §2.2: NUM << 4 | M << 3 | SZX, in 0–3 bytes.
struct BlockOption {
    std::uint32_t num = 0;  // below 2^20
    bool more = false;      // M
    unsigned szx = 0;       // 0–6: the block size is 2^(SZX + 4)

    std::size_t size() const { return std::size_t{16} << szx; }
    std::size_t offset() const { return std::size_t{num} * size(); }
    std::uint32_t value() const { return num << 4 | (more ? 8u : 0u) | szx; }
    bool operator==(const BlockOption&) const = default;
};

// Status::BadRequest for a value longer than 3 bytes and for SZX 7, which RFC 7959 §2.2 reserves (RFC 8323
// gives it to BERT, over reliable transports only).
Result<BlockOption> decode_block_option(std::uint32_t value);

// What names one upload.
struct UploadKey {
    std::uintptr_t session = 0;  // the front's handle of the DTLS session; opaque here
    std::string path;            // the request URI the body is for, as the front spells it
    Bytes request_tag;           // RFC 9175 Request-Tag; empty when absent
    auto operator<=>(const UploadKey&) const = default;
};

struct BlockRequest {
    UploadKey key;
    std::uint32_t block1 = 0;            // the Block1 option's value
    std::optional<std::uint64_t> size1;  // RFC 7959 §4: the size of the whole body, when the client says
    std::optional<unsigned> content_format;
    ByteView payload;
};

struct Block1Limits {
    std::size_t max_body = 16384;
    std::chrono::seconds timeout{30};
    std::size_t max_uploads = 10000;
    std::size_t max_uploads_per_session = 4;
};

// What to answer a block.
struct Block1Answer {
    enum class Kind {
        Continue,  // 2.31 Continue, echoing `block` (M=1) in Block1 (RFC 7959 §2.3)
        Complete,  // the last block: `body` is the whole body, to be handled as one request
        Refused,   // `error`; the upload is gone
    };
    Kind kind = Kind::Refused;
    BlockOption block;  // the block this answers
    Bytes body;         // Complete only
    // Refused: 4.00 (a bad Block1 value), 4.08 RequestIncomplete (a block out of order or that fits no
    // upload, a Content-Format that changes, RFC 7959 §2.9.2), 4.13 PayloadTooLarge (answer with Size1 =
    // max_body, §2.9.3) or 5.03 ServiceUnavailable (too many uploads at once; `retry_after` for Max-Age).
    Error error;
    std::optional<std::chrono::seconds> retry_after;
};

class Block1Assembler {
  public:
    using Clock = std::chrono::steady_clock;

    explicit Block1Assembler(Block1Limits limits);

    // The rules, in order:
    // - block 0 starts the upload afresh (a client restarts a body from block 0; a retransmitted block 0 so
    //   gives the same state as the first);
    // - the next block in order (its offset is the bytes received so far) is appended;
    // - a block received already (it ends at or before the bytes received so far) changes nothing and is
    //   answered as before: retransmissions are idempotent;
    // - anything else (a gap, an overlap, a later block with no upload under way) is 4.08.
    // Every refusal drops the upload's bytes; so does Complete, which hands them over.
    Block1Answer accept(const BlockRequest& block, Clock::time_point now);

    // Drops the uploads with no block for longer than the timeout; returns how many.
    std::size_t expire(Clock::time_point now);

    // Drops every upload of a session that is gone; returns how many.
    std::size_t forget_session(std::uintptr_t session);

    std::size_t uploads() const { return uploads_.size(); }
    std::size_t bytes_held() const { return bytes_held_; }  // body bytes of the uploads under way
    const Block1Limits& limits() const { return limits_; }

  private:
    struct Upload;
    using Uploads = std::map<UploadKey, Upload>;
    struct Upload {
        Bytes body;
        std::optional<unsigned> content_format;
        Clock::time_point last_block;
        std::list<Uploads::iterator>::iterator by_age;  // its place in by_age_
    };

    Block1Answer start(const BlockRequest& block, const BlockOption& option, Clock::time_point now);
    void append(Uploads::iterator upload, ByteView payload);
    void touch(Uploads::iterator upload, Clock::time_point now);
    Bytes remove(Uploads::iterator upload);  // the upload's body, moved out
    Block1Answer refuse(std::optional<Uploads::iterator> upload, const BlockOption& option, Status status,
                        std::string message);

    Block1Limits limits_;
    Uploads uploads_;
    std::list<Uploads::iterator> by_age_;  // least recently active first
    std::size_t bytes_held_ = 0;
};

}  // namespace estgw::mapping
