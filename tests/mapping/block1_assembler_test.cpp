// Block1 reassembly with the body limit held while the body arrives (RFC 7959 §2.2, §2.3, §2.5, §2.9;
// RFC 9175 §3 Request-Tag). Time is passed in: nothing here sleeps.
#include "mapping/block1_assembler.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace estgw::mapping {
namespace {

using Kind = Block1Answer::Kind;
using std::chrono::milliseconds;
using std::chrono::seconds;

const Block1Assembler::Clock::time_point kStart =
    Block1Assembler::Clock::time_point{} + std::chrono::hours(1);
const UploadKey kKey{1, "/.well-known/est/sen", {}};

constexpr unsigned kSzx16 = 0, kSzx64 = 2;

// The block's bytes: a letter per block, so that a body tells which blocks it was made of.
std::string chunk(char letter, std::size_t size) {
    return std::string(size, letter);
}

struct Block {
    BlockRequest request;
    std::string data;  // what request.payload points at

    Block(std::uint32_t num, bool more, unsigned szx, std::string bytes, UploadKey key = kKey)
        : data(std::move(bytes)) {
        request.key = std::move(key);
        request.block1 = BlockOption{num, more, szx}.value();
        request.content_format = 286;
        request.payload = as_bytes(data);
    }
    Block(const Block& other) : request(other.request), data(other.data) { request.payload = as_bytes(data); }
    Block& size1(std::uint64_t size) {
        request.size1 = size;
        return *this;
    }
    Block& content_format(std::optional<unsigned> cf) {
        request.content_format = cf;
        return *this;
    }
    Block& raw_option(std::uint32_t value) {
        request.block1 = value;
        return *this;
    }
};

Block1Limits limits(std::size_t max_body = 1024) {
    Block1Limits l;
    l.max_body = max_body;
    l.timeout = seconds(30);
    return l;
}

// Sends blocks 0..count-1 of 16 bytes (letters a, b, ...), the last with M=0 when `last` says so.
Block1Answer send_16_byte_blocks(Block1Assembler& assembler, unsigned count, bool last,
                                 const UploadKey& key = kKey,
                                 Block1Assembler::Clock::time_point now = kStart) {
    Block1Answer answer;
    for (unsigned n = 0; n < count; ++n) {
        const bool more = !(last && n + 1 == count);
        answer = assembler.accept(
            Block(n, more, kSzx16, chunk(static_cast<char>('a' + n % 26), 16), key).request, now);
    }
    return answer;
}

// ---- the option value (RFC 7959 §2.2) ----

TEST(DecodeBlockOption, ReadsNumMoreAndSize) {
    auto first = decode_block_option(0x0A);  // the digest's example: block 0, M=1, 64 bytes
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(first->num, 0u);
    EXPECT_TRUE(first->more);
    EXPECT_EQ(first->size(), 64u);
    auto last = decode_block_option(0x92);  // block 9, the last, 64 bytes
    ASSERT_TRUE(last.ok());
    EXPECT_EQ(last->num, 9u);
    EXPECT_FALSE(last->more);
    EXPECT_EQ(last->offset(), 576u);
}

TEST(DecodeBlockOption, ReadsTheLargestNumberAndSize) {
    auto option = decode_block_option(0xFFFFF6);
    ASSERT_TRUE(option.ok());
    EXPECT_EQ(option->num, 0xFFFFFu);
    EXPECT_EQ(option->size(), 1024u);
}

TEST(DecodeBlockOption, RefusesTheReservedSzx7) {
    EXPECT_EQ(decode_block_option(0x07).status(), Status::BadRequest);
}

TEST(DecodeBlockOption, RefusesAValueLongerThanThreeBytes) {
    EXPECT_EQ(decode_block_option(0x1000000).status(), Status::BadRequest);
}

TEST(DecodeBlockOption, EncodesBackToTheSameValue) {
    for (std::uint32_t value : {0x00u, 0x0Au, 0x92u, 0x1E6u, 0xFFFFFEu}) {
        auto option = decode_block_option(value);
        ASSERT_TRUE(option.ok());
        EXPECT_EQ(option->value(), value);
    }
}

// ---- bodies that arrive whole ----

TEST(Block1Assembler, HandsOverABodyInOneBlockWithoutKeepingIt) {
    Block1Assembler assembler(limits());
    auto answer = assembler.accept(Block(0, false, kSzx64, "whole").request, kStart);
    ASSERT_EQ(answer.kind, Kind::Complete);
    EXPECT_EQ(to_string(answer.body), "whole");
    EXPECT_EQ(assembler.uploads(), 0u);
}

TEST(Block1Assembler, AnswersEveryBlockButTheLastWithContinueEchoingIt) {
    Block1Assembler assembler(limits());
    for (unsigned n = 0; n < 3; ++n) {
        auto answer = assembler.accept(Block(n, true, kSzx16, chunk('x', 16)).request, kStart);
        ASSERT_EQ(answer.kind, Kind::Continue) << answer.error.message;
        EXPECT_EQ(answer.block, (BlockOption{n, true, kSzx16}));
    }
    EXPECT_EQ(assembler.uploads(), 1u);
    EXPECT_EQ(assembler.bytes_held(), 48u);
}

TEST(Block1Assembler, HandsOverTheWholeBodyOnTheLastBlockAndKeepsNothing) {
    Block1Assembler assembler(limits());
    send_16_byte_blocks(assembler, 2, false);
    auto answer = assembler.accept(Block(2, false, kSzx16, "tail").request, kStart);
    ASSERT_EQ(answer.kind, Kind::Complete);
    EXPECT_EQ(to_string(answer.body), chunk('a', 16) + chunk('b', 16) + "tail");
    EXPECT_EQ(assembler.uploads(), 0u);
    EXPECT_EQ(assembler.bytes_held(), 0u);
}

// RFC 7959 §2.2: a client may continue with a smaller block size; the offset is what counts.
TEST(Block1Assembler, FollowsASmallerBlockSizeAtTheSameOffset) {
    Block1Assembler assembler(limits());
    assembler.accept(Block(0, true, kSzx64, chunk('a', 64)).request, kStart);
    auto answer = assembler.accept(Block(4, false, kSzx16, "end").request, kStart);  // offset 4 × 16 = 64
    ASSERT_EQ(answer.kind, Kind::Complete) << answer.error.message;
    EXPECT_EQ(to_string(answer.body), chunk('a', 64) + "end");
}

// ---- repeats and order (RFC 7959 §2.9.2) ----

TEST(Block1Assembler, ARetransmittedBlockIsAnsweredAgainAndChangesNothing) {
    Block1Assembler assembler(limits());
    send_16_byte_blocks(assembler, 3, false);
    auto again = assembler.accept(Block(1, true, kSzx16, chunk('b', 16)).request, kStart);
    EXPECT_EQ(again.kind, Kind::Continue);
    EXPECT_EQ(again.block.num, 1u);
    auto last = assembler.accept(Block(2, true, kSzx16, chunk('c', 16)).request, kStart);
    EXPECT_EQ(last.kind, Kind::Continue);
    EXPECT_EQ(assembler.bytes_held(), 48u);
    auto done = assembler.accept(Block(3, false, kSzx16, "!").request, kStart);
    ASSERT_EQ(done.kind, Kind::Complete);
    EXPECT_EQ(to_string(done.body), chunk('a', 16) + chunk('b', 16) + chunk('c', 16) + "!");
}

TEST(Block1Assembler, ARetransmittedBlockZeroGivesTheSameStateAsTheFirst) {
    Block1Assembler assembler(limits());
    send_16_byte_blocks(assembler, 1, false);
    EXPECT_EQ(assembler.accept(Block(0, true, kSzx16, chunk('a', 16)).request, kStart).kind, Kind::Continue);
    auto done = assembler.accept(Block(1, false, kSzx16, "z").request, kStart);
    ASSERT_EQ(done.kind, Kind::Complete);
    EXPECT_EQ(to_string(done.body), chunk('a', 16) + "z");
}

TEST(Block1Assembler, BlockZeroStartsTheBodyAfresh) {
    Block1Assembler assembler(limits());
    send_16_byte_blocks(assembler, 4, false);
    assembler.accept(Block(0, true, kSzx16, chunk('N', 16)).request, kStart);
    EXPECT_EQ(assembler.bytes_held(), 16u);
    auto done = assembler.accept(Block(1, false, kSzx16, "ew").request, kStart);
    ASSERT_EQ(done.kind, Kind::Complete);
    EXPECT_EQ(to_string(done.body), chunk('N', 16) + "ew");
}

TEST(Block1Assembler, ABlockAfterAGapIsRequestIncompleteAndDropsTheBody) {
    Block1Assembler assembler(limits());
    send_16_byte_blocks(assembler, 2, false);
    auto answer = assembler.accept(Block(3, true, kSzx16, chunk('d', 16)).request, kStart);
    ASSERT_EQ(answer.kind, Kind::Refused);
    EXPECT_EQ(answer.error.status, Status::RequestIncomplete);
    EXPECT_EQ(assembler.uploads(), 0u);
    EXPECT_EQ(assembler.bytes_held(), 0u);
}

TEST(Block1Assembler, ALaterBlockWithNoBodyUnderWayIsRequestIncomplete) {
    Block1Assembler assembler(limits());
    auto answer = assembler.accept(Block(5, false, kSzx16, "late").request, kStart);
    ASSERT_EQ(answer.kind, Kind::Refused);
    EXPECT_EQ(answer.error.status, Status::RequestIncomplete);
    EXPECT_EQ(assembler.uploads(), 0u);
}

TEST(Block1Assembler, ABlockOverlappingTheEndOfWhatArrivedIsRequestIncomplete) {
    Block1Assembler assembler(limits());
    assembler.accept(Block(0, true, kSzx64, chunk('a', 64)).request, kStart);
    auto answer = assembler.accept(Block(3, true, kSzx16, chunk('b', 16) + chunk('c', 16)).request, kStart);
    ASSERT_EQ(answer.kind, Kind::Refused);  // bytes 48..80 where 64 have arrived
    EXPECT_EQ(answer.error.status, Status::RequestIncomplete);
}

TEST(Block1Assembler, AShortBlockBeforeTheLastLeavesAGapThatIsRequestIncomplete) {
    Block1Assembler assembler(limits());
    assembler.accept(Block(0, true, kSzx16, "short").request, kStart);
    EXPECT_EQ(assembler.accept(Block(1, false, kSzx16, "x").request, kStart).error.status,
              Status::RequestIncomplete);
}

TEST(Block1Assembler, AContentFormatChangeBetweenBlocksIsRequestIncomplete) {
    Block1Assembler assembler(limits());
    send_16_byte_blocks(assembler, 1, false);
    auto answer = assembler.accept(Block(1, false, kSzx16, "x").content_format(60).request, kStart);
    ASSERT_EQ(answer.kind, Kind::Refused);
    EXPECT_EQ(answer.error.status, Status::RequestIncomplete);
    EXPECT_EQ(assembler.uploads(), 0u);
}

TEST(Block1Assembler, ABadBlock1ValueIsBadRequestAndDropsTheBody) {
    Block1Assembler assembler(limits());
    send_16_byte_blocks(assembler, 2, false);
    auto answer = assembler.accept(Block(2, true, kSzx16, "x").raw_option(0x27).request, kStart);  // SZX 7
    ASSERT_EQ(answer.kind, Kind::Refused);
    EXPECT_EQ(answer.error.status, Status::BadRequest);
    EXPECT_EQ(assembler.uploads(), 0u);
}

// ---- the body limit, while the body arrives (RFC 7959 §2.9.3) ----

TEST(Block1Assembler, ASize1AboveTheLimitIsRefusedAtBlockZeroKeepingNothing) {
    Block1Assembler assembler(limits(1024));
    auto answer = assembler.accept(Block(0, true, kSzx16, chunk('a', 16)).size1(20000).request, kStart);
    ASSERT_EQ(answer.kind, Kind::Refused);
    EXPECT_EQ(answer.error.status, Status::PayloadTooLarge);
    EXPECT_EQ(assembler.uploads(), 0u);
    EXPECT_EQ(assembler.bytes_held(), 0u);
}

TEST(Block1Assembler, ASize1OfExactlyTheLimitIsAccepted) {
    Block1Assembler assembler(limits(32));
    EXPECT_EQ(assembler.accept(Block(0, true, kSzx16, chunk('a', 16)).size1(32).request, kStart).kind,
              Kind::Continue);
    auto done = assembler.accept(Block(1, false, kSzx16, chunk('b', 16)).size1(32).request, kStart);
    ASSERT_EQ(done.kind, Kind::Complete);
    EXPECT_EQ(done.body.size(), 32u);
}

TEST(Block1Assembler, ASize1AboveTheLimitOnALaterBlockDropsTheBody) {
    Block1Assembler assembler(limits(1024));
    send_16_byte_blocks(assembler, 2, false);
    auto answer = assembler.accept(Block(2, true, kSzx16, chunk('c', 16)).size1(5000).request, kStart);
    EXPECT_EQ(answer.error.status, Status::PayloadTooLarge);
    EXPECT_EQ(assembler.uploads(), 0u);
}

TEST(Block1Assembler, TheFirstBlockEndingPastTheLimitIsRefusedAndTheBodyDropped) {
    Block1Assembler assembler(limits(100));
    EXPECT_EQ(send_16_byte_blocks(assembler, 6, false).kind, Kind::Continue);  // bytes 0..96
    EXPECT_EQ(assembler.bytes_held(), 96u);
    auto answer = assembler.accept(Block(6, true, kSzx16, chunk('g', 16)).request, kStart);  // ..112
    ASSERT_EQ(answer.kind, Kind::Refused);
    EXPECT_EQ(answer.error.status, Status::PayloadTooLarge);
    EXPECT_EQ(answer.block.num, 6u);
    EXPECT_EQ(assembler.uploads(), 0u);
    EXPECT_EQ(assembler.bytes_held(), 0u);
}

TEST(Block1Assembler, ABodyOfExactlyTheLimitIsHandedOver) {
    Block1Assembler assembler(limits(64));
    auto answer = send_16_byte_blocks(assembler, 4, true);
    ASSERT_EQ(answer.kind, Kind::Complete) << answer.error.message;
    EXPECT_EQ(answer.body.size(), 64u);
}

// M=1 on a block that ends at the limit says at least one more byte is coming.
TEST(Block1Assembler, AFullBlockAtTheLimitWithMoreToComeIsRefused) {
    Block1Assembler assembler(limits(64));
    auto answer = send_16_byte_blocks(assembler, 4, false);
    ASSERT_EQ(answer.kind, Kind::Refused);
    EXPECT_EQ(answer.error.status, Status::PayloadTooLarge);
    EXPECT_EQ(answer.block.num, 3u);
}

TEST(Block1Assembler, AnAbsurdBlockNumberIsRefusedAsTooLargeWithoutAnyState) {
    Block1Assembler assembler(limits());
    auto answer = assembler.accept(Block(0xFFFFF, true, 6, chunk('z', 1024)).request, kStart);
    EXPECT_EQ(answer.error.status, Status::PayloadTooLarge);
    EXPECT_EQ(assembler.uploads(), 0u);
}

TEST(Block1Assembler, TheBlocksAfterATooLargeOneFindNothingKept) {
    Block1Assembler assembler(limits(40));
    send_16_byte_blocks(assembler, 2, false);
    EXPECT_EQ(assembler.accept(Block(2, true, kSzx16, chunk('c', 16)).request, kStart).error.status,
              Status::PayloadTooLarge);
    EXPECT_EQ(assembler.accept(Block(2, false, kSzx16, "x").request, kStart).error.status,
              Status::RequestIncomplete);
    EXPECT_EQ(assembler.uploads(), 0u);
}

TEST(Block1Assembler, TheBufferNeverGrowsPastTheLimit) {
    Block1Assembler assembler(limits(100));
    send_16_byte_blocks(assembler, 6, false);
    auto done = assembler.accept(Block(6, false, kSzx16, "1234").request, kStart);  // 100 bytes exactly
    ASSERT_EQ(done.kind, Kind::Complete);
    EXPECT_EQ(done.body.size(), 100u);
    EXPECT_LE(done.body.capacity(), 100u);
}

// ---- uploads that must not mix (RFC 7959 §2.5, RFC 9175 §3) ----

TEST(Block1Assembler, UploadsOfTwoSessionsInterleavedStaySeparate) {
    Block1Assembler assembler(limits());
    const UploadKey other{2, kKey.path, {}};
    for (unsigned n = 0; n < 3; ++n) {
        assembler.accept(Block(n, true, kSzx16, chunk('a', 16), kKey).request, kStart);
        assembler.accept(Block(n, true, kSzx16, chunk('b', 16), other).request, kStart);
    }
    auto first = assembler.accept(Block(3, false, kSzx16, "1", kKey).request, kStart);
    auto second = assembler.accept(Block(3, false, kSzx16, "2", other).request, kStart);
    ASSERT_EQ(first.kind, Kind::Complete);
    ASSERT_EQ(second.kind, Kind::Complete);
    EXPECT_EQ(to_string(first.body), chunk('a', 48) + "1");
    EXPECT_EQ(to_string(second.body), chunk('b', 48) + "2");
}

TEST(Block1Assembler, UploadsWithDifferentRequestTagsStaySeparate) {
    Block1Assembler assembler(limits());
    const UploadKey tagged{kKey.session, kKey.path, {0x01}};
    assembler.accept(Block(0, true, kSzx16, chunk('a', 16), kKey).request, kStart);
    assembler.accept(Block(0, true, kSzx16, chunk('t', 16), tagged).request, kStart);
    EXPECT_EQ(assembler.uploads(), 2u);
    auto done = assembler.accept(Block(1, false, kSzx16, "!", tagged).request, kStart);
    ASSERT_EQ(done.kind, Kind::Complete);
    EXPECT_EQ(to_string(done.body), chunk('t', 16) + "!");
    EXPECT_EQ(assembler.uploads(), 1u);
}

TEST(Block1Assembler, UploadsToTwoResourcesStaySeparate) {
    Block1Assembler assembler(limits());
    const UploadKey sren{kKey.session, "/.well-known/est/sren", {}};
    assembler.accept(Block(0, true, kSzx16, chunk('a', 16), kKey).request, kStart);
    assembler.accept(Block(0, true, kSzx16, chunk('r', 16), sren).request, kStart);
    auto done = assembler.accept(Block(1, false, kSzx16, "!", kKey).request, kStart);
    EXPECT_EQ(to_string(done.body), chunk('a', 16) + "!");
}

// ---- time (RFC 7959 §2.5) ----

TEST(Block1Assembler, DropsAnUploadThatGotNoBlockForTheTimeout) {
    Block1Assembler assembler(limits());
    send_16_byte_blocks(assembler, 3, false);
    EXPECT_EQ(assembler.expire(kStart + seconds(30) - milliseconds(1)), 0u);
    EXPECT_EQ(assembler.expire(kStart + seconds(30)), 1u);
    EXPECT_EQ(assembler.uploads(), 0u);
    EXPECT_EQ(assembler.bytes_held(), 0u);
}

TEST(Block1Assembler, EachBlockStartsTheTimeoutAgain) {
    Block1Assembler assembler(limits());
    send_16_byte_blocks(assembler, 1, false);
    assembler.accept(Block(1, true, kSzx16, chunk('b', 16)).request, kStart + seconds(20));
    EXPECT_EQ(assembler.expire(kStart + seconds(40)), 0u);
    EXPECT_EQ(assembler.expire(kStart + seconds(50)), 1u);
}

TEST(Block1Assembler, ARetransmittedBlockAlsoStartsTheTimeoutAgain) {
    Block1Assembler assembler(limits());
    send_16_byte_blocks(assembler, 2, false);
    assembler.accept(Block(1, true, kSzx16, chunk('b', 16)).request, kStart + seconds(20));
    EXPECT_EQ(assembler.expire(kStart + seconds(40)), 0u);
}

TEST(Block1Assembler, DropsEveryAbandonedUploadAndKeepsTheActiveOnes) {
    Block1Assembler assembler(limits());
    for (std::uintptr_t session = 1; session <= 200; ++session)
        send_16_byte_blocks(assembler, 2, false, UploadKey{session, kKey.path, {}});
    const UploadKey active{1000, kKey.path, {}};
    send_16_byte_blocks(assembler, 1, false, active, kStart + seconds(29));
    EXPECT_EQ(assembler.expire(kStart + seconds(31)), 200u);
    EXPECT_EQ(assembler.uploads(), 1u);
    EXPECT_EQ(assembler.bytes_held(), 16u);
}

TEST(Block1Assembler, ABlockAfterItsUploadExpiredIsRequestIncomplete) {
    Block1Assembler assembler(limits());
    send_16_byte_blocks(assembler, 2, false);
    assembler.expire(kStart + seconds(31));
    EXPECT_EQ(assembler.accept(Block(2, false, kSzx16, "x").request, kStart + seconds(31)).error.status,
              Status::RequestIncomplete);
}

TEST(Block1Assembler, ForgettingASessionDropsOnlyItsUploads) {
    Block1Assembler assembler(limits());
    send_16_byte_blocks(assembler, 2, false, UploadKey{7, "/a", {}});
    send_16_byte_blocks(assembler, 2, false, UploadKey{7, "/b", {}});
    send_16_byte_blocks(assembler, 2, false, UploadKey{8, "/a", {}});
    EXPECT_EQ(assembler.forget_session(7), 2u);
    EXPECT_EQ(assembler.uploads(), 1u);
    EXPECT_EQ(assembler.bytes_held(), 32u);
    EXPECT_EQ(assembler.forget_session(7), 0u);
}

// ---- how many at once ----

TEST(Block1Assembler, ASessionOverItsLimitLosesItsLeastRecentlyActiveUpload) {
    Block1Limits l = limits();
    l.max_uploads_per_session = 2;
    Block1Assembler assembler(l);
    send_16_byte_blocks(assembler, 1, false, UploadKey{1, "/old", {}}, kStart);
    send_16_byte_blocks(assembler, 1, false, UploadKey{1, "/recent", {}}, kStart + seconds(2));
    send_16_byte_blocks(assembler, 1, false, UploadKey{2, "/other-session", {}}, kStart);
    auto answer = send_16_byte_blocks(assembler, 1, false, UploadKey{1, "/new", {}}, kStart + seconds(3));
    EXPECT_EQ(answer.kind, Kind::Continue);
    EXPECT_EQ(assembler.uploads(), 3u);
    auto old =
        assembler.accept(Block(1, false, kSzx16, "x", UploadKey{1, "/old", {}}).request, kStart + seconds(3));
    EXPECT_EQ(old.error.status, Status::RequestIncomplete);
    auto recent = assembler.accept(Block(1, false, kSzx16, "x", UploadKey{1, "/recent", {}}).request,
                                   kStart + seconds(3));
    EXPECT_EQ(recent.kind, Kind::Complete);
}

TEST(Block1Assembler, ANewUploadBeyondTheLimitGetsServiceUnavailableUntilTheOldestCanExpire) {
    Block1Limits l = limits();
    l.max_uploads = 2;
    Block1Assembler assembler(l);
    send_16_byte_blocks(assembler, 1, false, UploadKey{1, "/a", {}}, kStart);
    send_16_byte_blocks(assembler, 1, false, UploadKey{2, "/a", {}}, kStart + seconds(5));
    auto refused = assembler.accept(Block(0, true, kSzx16, chunk('a', 16), UploadKey{3, "/a", {}}).request,
                                    kStart + seconds(10));
    ASSERT_EQ(refused.kind, Kind::Refused);
    EXPECT_EQ(refused.error.status, Status::ServiceUnavailable);
    EXPECT_EQ(refused.retry_after, seconds(20));  // the first one can expire 30 s after its block
    EXPECT_EQ(assembler.uploads(), 2u);
    // The uploads under way go on.
    EXPECT_EQ(assembler.accept(Block(1, false, kSzx16, "x", UploadKey{1, "/a", {}}).request, kStart).kind,
              Kind::Complete);
}

TEST(Block1Assembler, TheRetryAfterABusyRefusalIsAtLeastOneSecond) {
    Block1Limits l = limits();
    l.max_uploads = 1;
    Block1Assembler assembler(l);
    send_16_byte_blocks(assembler, 1, false, UploadKey{1, "/a", {}}, kStart);
    auto refused = assembler.accept(Block(0, true, kSzx16, chunk('a', 16), UploadKey{2, "/a", {}}).request,
                                    kStart + seconds(30));
    EXPECT_EQ(refused.retry_after, seconds(1));
}

TEST(Block1Assembler, ABodyInOneBlockIsHandedOverEvenWhenTheLimitIsReached) {
    Block1Limits l = limits();
    l.max_uploads = 1;
    Block1Assembler assembler(l);
    send_16_byte_blocks(assembler, 1, false, UploadKey{1, "/a", {}});
    EXPECT_EQ(assembler.accept(Block(0, false, kSzx16, "one", UploadKey{2, "/a", {}}).request, kStart).kind,
              Kind::Complete);
}

}  // namespace
}  // namespace estgw::mapping
