// The HTTPS front's connection caps: in all, per source address, IPv6 counted per /64.
#include "gateway/connection_counter.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace estgw::gateway {
namespace {

sockaddr_storage address(const char* text) {
    sockaddr_storage s{};
    if (inet_pton(AF_INET, text, &reinterpret_cast<sockaddr_in&>(s).sin_addr) == 1) {
        s.ss_family = AF_INET;
    } else if (inet_pton(AF_INET6, text, &reinterpret_cast<sockaddr_in6&>(s).sin6_addr) == 1) {
        s.ss_family = AF_INET6;
    }
    return s;
}

std::string key(const char* text) {
    return connection_source_key(address(text));
}

TEST(ConnectionCounter, AdmitsUpToThePerAddressCapThenRefusesThatAddressOnly) {
    ConnectionCounter counter(100, 2);
    EXPECT_EQ(counter.admit(key("127.0.0.2")), ConnectionCounter::Verdict::Admitted);
    EXPECT_EQ(counter.admit(key("127.0.0.2")), ConnectionCounter::Verdict::Admitted);
    EXPECT_EQ(counter.admit(key("127.0.0.2")), ConnectionCounter::Verdict::TooManyFromAddress);
    EXPECT_EQ(counter.admit(key("127.0.0.1")), ConnectionCounter::Verdict::Admitted);
    EXPECT_EQ(counter.total(), 3u);
}

TEST(ConnectionCounter, RefusesEveryAddressOnceTheTotalIsReached) {
    ConnectionCounter counter(2, 10);
    EXPECT_EQ(counter.admit(key("192.0.2.1")), ConnectionCounter::Verdict::Admitted);
    EXPECT_EQ(counter.admit(key("192.0.2.2")), ConnectionCounter::Verdict::Admitted);
    EXPECT_EQ(counter.admit(key("192.0.2.3")), ConnectionCounter::Verdict::TooManyInAll);
    EXPECT_EQ(counter.from(key("192.0.2.3")), 0u);
}

TEST(ConnectionCounter, AClosedConnectionFreesItsPlace) {
    ConnectionCounter counter(1, 1);
    ASSERT_EQ(counter.admit(key("192.0.2.1")), ConnectionCounter::Verdict::Admitted);
    counter.release(key("192.0.2.1"));
    EXPECT_EQ(counter.total(), 0u);
    EXPECT_EQ(counter.sources(), 0u);
    EXPECT_EQ(counter.admit(key("192.0.2.1")), ConnectionCounter::Verdict::Admitted);
}

TEST(ConnectionCounter, IgnoresTheReleaseOfAnAddressItNeverAdmitted) {
    ConnectionCounter counter(1, 1);
    counter.release(key("192.0.2.1"));
    EXPECT_EQ(counter.total(), 0u);
}

TEST(ConnectionCounter, CountsIpv6AddressesOfOneSlash64Together) {
    EXPECT_EQ(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
    EXPECT_NE(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
}

TEST(ConnectionCounter, CountsAnIpv4MappedAddressAsItsIpv4Address) {
    EXPECT_EQ(key("::ffff:192.0.2.7"), key("192.0.2.7"));
    EXPECT_NE(key("::ffff:192.0.2.7"), key("192.0.2.8"));
}

}  // namespace
}  // namespace estgw::gateway
