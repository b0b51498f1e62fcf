// The HTTPS front's caps on open connections, in all and per source address, so that a client that opens
// connections and keeps them (idle, or in a slow handshake) cannot take every place: it reaches its address's
// cap long before the total. IPv6 clients are counted per /64, the block one host or one site usually has to
// itself: counting each of its 2^64 addresses apart would make the per-address cap no cap at all.
// Not thread-safe: the HTTPS front's accept thread is its only user.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <string>
#include <unordered_map>

namespace estgw::gateway {

// The key a connection from `peer` is counted under: the 4 bytes of an IPv4 address (also when it comes
// IPv4-mapped, ::ffff:a.b.c.d, on a dual-stack socket), the first 8 bytes of an IPv6 one.
inline std::string connection_source_key(const sockaddr_storage& peer) {
    if (peer.ss_family == AF_INET) {
        const auto& v4 = reinterpret_cast<const sockaddr_in&>(peer);
        return std::string(reinterpret_cast<const char*>(&v4.sin_addr), 4);
    }
    if (peer.ss_family == AF_INET6) {
        const auto& v6 = reinterpret_cast<const sockaddr_in6&>(peer);
        const auto* bytes = reinterpret_cast<const char*>(&v6.sin6_addr);
        if (IN6_IS_ADDR_V4MAPPED(&v6.sin6_addr)) return std::string(bytes + 12, 4);
        return std::string(bytes, 8);
    }
    return {};
}

class ConnectionCounter {
  public:
    enum class Verdict { Admitted, TooManyInAll, TooManyFromAddress };

    ConnectionCounter(unsigned max_total, unsigned max_per_source)
        : max_total_(max_total), max_per_source_(max_per_source) {}

    // Counts a new connection from `source` (a connection_source_key) unless a cap is reached.
    Verdict admit(const std::string& source) {
        if (total_ >= max_total_) return Verdict::TooManyInAll;
        unsigned& from_source = per_source_[source];
        if (from_source >= max_per_source_) return Verdict::TooManyFromAddress;
        ++from_source;
        ++total_;
        return Verdict::Admitted;
    }

    // A connection admit() counted has closed.
    void release(const std::string& source) {
        auto it = per_source_.find(source);
        if (it == per_source_.end()) return;
        if (--it->second == 0) per_source_.erase(it);
        --total_;
    }

    unsigned total() const { return total_; }
    unsigned from(const std::string& source) const {
        auto it = per_source_.find(source);
        return it == per_source_.end() ? 0 : it->second;
    }
    std::size_t sources() const { return per_source_.size(); }

  private:
    unsigned max_total_;
    unsigned max_per_source_;
    unsigned total_ = 0;
    std::unordered_map<std::string, unsigned> per_source_;
};

}  // namespace estgw::gateway
