// A deferred request's ticket: the worker and the front race to move it, and whoever is first decides
// whether the job runs (README "Deadlines and shutdown").
#include "gateway/request_ticket.hpp"

#include <gtest/gtest.h>

namespace estgw::gateway {
namespace {

using Clock = RequestTicket::Clock;
using std::chrono::seconds;

TEST(RequestTicket, TheDeadlineCountsFromTheArrival) {
    const auto arrival = Clock::now() - seconds(1);
    RequestTicket ticket(arrival, seconds(30));
    EXPECT_EQ(ticket.arrival(), arrival);
    EXPECT_EQ(ticket.deadline(), arrival + seconds(30));
    EXPECT_GT(ticket.started_job_deadline(), ticket.deadline());
}

TEST(RequestTicket, AWorkerStartsAQueuedJobAndTheFrontCanNoLongerGiveItUp) {
    RequestTicket ticket(Clock::now(), seconds(30));
    EXPECT_TRUE(ticket.start());
    EXPECT_FALSE(ticket.give_up());
}

TEST(RequestTicket, AJobTheFrontGaveUpNeverStarts) {
    RequestTicket ticket(Clock::now(), seconds(30));
    EXPECT_TRUE(ticket.give_up());
    EXPECT_FALSE(ticket.start());
}

TEST(RequestTicket, AJobIsNotStartedAtItsDeadlineButLeftToTheFront) {
    RequestTicket ticket(Clock::now() - seconds(30), seconds(30));
    EXPECT_FALSE(ticket.start());
    EXPECT_TRUE(ticket.give_up());
}

// Its upstream call would time out almost at once: the front answers instead, naming the real cause.
TEST(RequestTicket, AJobWithAFewMillisecondsLeftIsNotStarted) {
    RequestTicket ticket(Clock::now() - seconds(30) + std::chrono::milliseconds(50), seconds(30));
    EXPECT_FALSE(ticket.start());
}

}  // namespace
}  // namespace estgw::gateway
