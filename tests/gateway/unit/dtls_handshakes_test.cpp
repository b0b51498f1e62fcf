// The handshake bookkeeping behind --max-handshakes, --max-handshakes-per-address and --handshake-timeout.
#include "gateway/dtls_handshakes.hpp"

#include <gtest/gtest.h>

namespace estgw::gateway {
namespace {

using namespace std::chrono_literals;
const auto t0 = DtlsHandshakes::Clock::time_point{} + 1000s;
const Bytes kA{2, 10, 0, 0, 1}, kB{2, 10, 0, 0, 2};
Bytes peer(const Bytes& address, std::uint8_t port) {
    Bytes p = address;
    p.push_back(0);
    p.push_back(port);
    return p;
}
int s1, s2, s3;

TEST(DtlsHandshakes, CountsInAllAndPerAddress) {
    DtlsHandshakes h;
    h.started(&s1, kA, peer(kA, 1), t0);
    h.started(&s2, kA, peer(kA, 2), t0);
    h.started(&s3, kB, peer(kB, 1), t0);
    EXPECT_EQ(h.total(), 3u);
    EXPECT_EQ(h.from_address(kA), 2u);
    EXPECT_EQ(h.from_address(kB), 1u);
    h.ended(&s1);
    EXPECT_EQ(h.from_address(kA), 1u);
    EXPECT_FALSE(h.in_progress(peer(kA, 1)));
    EXPECT_TRUE(h.in_progress(peer(kA, 2)));
    EXPECT_EQ(h.session_from(peer(kA, 2)), &s2);
}

TEST(DtlsHandshakes, EndingAnUnknownSessionChangesNothing) {
    DtlsHandshakes h;
    h.started(&s1, kA, peer(kA, 1), t0);
    h.ended(&s2);
    h.ended(&s1);
    h.ended(&s1);
    EXPECT_EQ(h.total(), 0u);
    EXPECT_EQ(h.from_address(kA), 0u);
    EXPECT_EQ(h.oldest(), nullptr);
}

TEST(DtlsHandshakes, TheOldestIsTheOneThatStartedFirst) {
    DtlsHandshakes h;
    h.started(&s2, kA, peer(kA, 2), t0 + 2s);
    h.started(&s1, kA, peer(kA, 1), t0 + 1s);
    h.started(&s3, kB, peer(kB, 1), t0 + 3s);
    EXPECT_EQ(h.oldest(), &s1);
    h.ended(&s1);
    EXPECT_EQ(h.oldest(), &s2);
}

TEST(DtlsHandshakes, ExpiredAreThoseAtLeastTheTimeoutOldOldestFirst) {
    DtlsHandshakes h;
    h.started(&s1, kA, peer(kA, 1), t0);
    h.started(&s2, kA, peer(kA, 2), t0 + 3s);
    h.started(&s3, kB, peer(kB, 1), t0 + 9s);
    auto expired = h.expired(t0 + 11s, 8s);
    ASSERT_EQ(expired.size(), 2u);
    EXPECT_EQ(expired[0], &s1);
    EXPECT_EQ(expired[1], &s2);
    EXPECT_TRUE(h.expired(t0 + 7s, 8s).empty());
}

TEST(DtlsHandshakes, ASessionStartedAgainAtAReusedPointerIsCountedOnce) {
    // libcoap may hand out a freed session's memory again before we heard it went away.
    DtlsHandshakes h;
    h.started(&s1, kA, peer(kA, 1), t0);
    h.started(&s1, kB, peer(kB, 1), t0 + 1s);
    EXPECT_EQ(h.total(), 1u);
    EXPECT_EQ(h.from_address(kA), 0u);
    EXPECT_EQ(h.from_address(kB), 1u);
    EXPECT_FALSE(h.in_progress(peer(kA, 1)));
}

// --io-threads: two fronts' bookkeeping adds up in one HandshakeTotals, which the limits are checked against.
TEST(HandshakeTotals, TwoFrontsCountTogether) {
    HandshakeTotals totals;
    DtlsHandshakes front0, front1;
    front0.share(&totals);
    front1.share(&totals);
    front0.started(&s1, kA, peer(kA, 1), t0);
    front1.started(&s2, kA, peer(kA, 2), t0);
    front1.started(&s3, kB, peer(kB, 1), t0);
    EXPECT_EQ(front1.total(), 2u);
    EXPECT_EQ(front1.all_total(), 3u);
    EXPECT_EQ(front0.all_from_address(kA), 2u);
    front1.ended(&s2);
    front1.ended(&s2);  // once only
    EXPECT_EQ(totals.total(), 2u);
    EXPECT_EQ(totals.from_address(kA), 1u);
}

TEST(HandshakeTotals, ReserveRefusesAtEitherLimitAndAReservedStartIsNotCountedTwice) {
    HandshakeTotals totals;
    using Admission = HandshakeTotals::Admission;
    EXPECT_EQ(totals.reserve(kA, 3, 2), Admission::Admitted);
    EXPECT_EQ(totals.reserve(kA, 3, 2), Admission::Admitted);
    EXPECT_EQ(totals.reserve(kA, 3, 2), Admission::AddressFull);
    EXPECT_EQ(totals.reserve(kB, 3, 2), Admission::Admitted);
    EXPECT_EQ(totals.reserve(kB, 3, 2), Admission::TotalFull);
    DtlsHandshakes front;
    front.share(&totals);
    front.started(&s1, kB, peer(kB, 1), t0, /*reserved=*/true);
    EXPECT_EQ(totals.total(), 3u);
    front.ended(&s1);  // gives its place back
    EXPECT_EQ(totals.total(), 2u);
    totals.ended(kA);  // a reservation that found no session
    EXPECT_EQ(totals.from_address(kA), 1u);
    EXPECT_EQ(totals.reserve(kA, 3, 2), Admission::Admitted);
}

TEST(HandshakeTotals, EvictionRequestsAreCappedClaimedOnceAndLapseBelowTheLimit) {
    HandshakeTotals totals;
    EXPECT_FALSE(totals.claim_eviction(2));
    totals.started(kA);
    totals.started(kB);
    totals.want_eviction(2);
    totals.want_eviction(2);
    totals.want_eviction(2);  // over the cap
    EXPECT_TRUE(totals.claim_eviction(2));
    EXPECT_TRUE(totals.claim_eviction(2));
    EXPECT_FALSE(totals.claim_eviction(2));
    totals.want_eviction(2);
    totals.ended(kA);  // room again: the request lapses
    EXPECT_FALSE(totals.claim_eviction(2));
    totals.started(kA);
    EXPECT_FALSE(totals.claim_eviction(2));
}

}  // namespace
}  // namespace estgw::gateway
