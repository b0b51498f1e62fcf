// Block1Assembler under arbitrary sequences of blocks, sessions, Request-Tags, Size1 values and time: the
// limits hold whatever arrives.
//
// Input: records of 8 bytes. Byte 0 picks the action (low 2 bits: 0–1 a block, 2 time passes, 3 a session
// goes away) and the session (bits 2–3) and resource (bit 4), bit 5 a Request-Tag, bit 6 a Size1, bit 7 a
// Content-Format change; bytes 1–3 the Block1 value (big-endian), byte 4 the payload length (0–255), byte 5
// the Size1 (× 64), byte 6 the seconds that pass, byte 7 the payload's byte value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "mapping/block1_assembler.hpp"

namespace {

using namespace estgw;
using namespace estgw::mapping;

constexpr std::size_t kMaxBody = 1000;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Block1Limits limits;
    limits.max_body = kMaxBody;
    limits.timeout = std::chrono::seconds(30);
    limits.max_uploads = 5;
    limits.max_uploads_per_session = 2;
    Block1Assembler assembler(limits);
    auto now = Block1Assembler::Clock::time_point{} + std::chrono::hours(1);
    Bytes payload;

    for (std::size_t at = 0; at + 8 <= size; at += 8) {
        const std::uint8_t* r = data + at;
        const unsigned action = r[0] & 3u;
        const std::uintptr_t session = (r[0] >> 2) & 3u;
        if (action == 2) {
            now += std::chrono::seconds(r[6]);
            assembler.expire(now);
            continue;
        }
        if (action == 3) {
            assembler.forget_session(session);
            continue;
        }
        BlockRequest block;
        block.key.session = session;
        block.key.path = (r[0] & 0x10) ? "/sen" : "/sren";
        if (r[0] & 0x20) block.key.request_tag = {r[7]};
        block.block1 = std::uint32_t{r[1]} << 16 | std::uint32_t{r[2]} << 8 | r[3];
        if (r[0] & 0x40) block.size1 = std::uint64_t{r[5]} * 64;
        block.content_format = (r[0] & 0x80) ? 60u : 286u;
        payload.assign(r[4], r[7]);
        block.payload = payload;

        const Block1Answer answer = assembler.accept(block, now);
        const auto option = decode_block_option(block.block1);
        switch (answer.kind) {
            case Block1Answer::Kind::Continue:
                if (!option || !option->more) std::abort();
                break;
            case Block1Answer::Kind::Complete:
                if (!option || option->more || answer.body.size() > kMaxBody) std::abort();
                break;
            case Block1Answer::Kind::Refused:
                if (answer.error.status == Status::Ok) std::abort();
                if (answer.error.status == Status::ServiceUnavailable && !answer.retry_after) std::abort();
                break;
        }
        if (assembler.uploads() > limits.max_uploads) std::abort();
        if (assembler.bytes_held() > assembler.uploads() * kMaxBody) std::abort();
    }
    assembler.expire(now + limits.timeout);
    if (assembler.uploads() != 0 || assembler.bytes_held() != 0) std::abort();
    return 0;
}
