// Block1 uploads sent block by block over libcoap's client API, for the tests of the body limits: libcoap's
// own Block1 handling is off, so the test decides each block's number and size, whether Size1 and a
// Request-Tag go with it, and when to stop. One DTLS session per upload, all in one context and in lockstep
// (each session sends its next block when the previous one is answered), so uploads interleave. The
// sessions stay open until the object goes, so that an abandoned body is left to the server's timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/coap_client.hpp"

namespace estgw::test {

struct UploadPlan {
    std::vector<std::string> path = {".well-known", "est", "sen"};
    unsigned content_format = 286;
    std::optional<unsigned> accept;
    // The body: `body` when not empty, else body_size bytes made up block by block (never held whole, so a
    // 100 MB upload costs the test nothing).
    Bytes body;
    std::size_t body_size = 0;
    unsigned block_size = 1024;  // 16 … 1024
    bool send_size1 = false;
    Bytes request_tag;  // RFC 9175; none when empty
    std::uint32_t first_block = 0;
    // Stop (leave the body unfinished) once this many blocks have been answered 2.31.
    std::size_t stop_after = std::numeric_limits<std::size_t>::max();
};

struct UploadResult {
    std::vector<std::string> codes;  // of every answer in order: "2.31", ..., "2.04"
    std::uint32_t last_block = 0;    // the block the last answer was for
    std::optional<unsigned> size1;   // Size1 of the last answer
    client::CoapAnswer last;         // the last answer
    bool abandoned = false;          // stopped by stop_after
    std::string failure;             // no answer, DTLS failure
    std::size_t count(const std::string& code) const;
};

class BlockUploads {
  public:
    // Opens `sessions` DTLS sessions to `server` as `identity` (handshakes run in the first run()).
    BlockUploads(const coap_address_t& server, client::DtlsIdentity identity, std::size_t sessions);
    ~BlockUploads();
    BlockUploads(const BlockUploads&) = delete;
    BlockUploads& operator=(const BlockUploads&) = delete;

    // Runs plans[i] on session i, all at once, until every upload has its last answer or stopped; throws
    // when the timeout passes first.
    std::vector<UploadResult> run(const std::vector<UploadPlan>& plans,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(120));

    // Keeps the sessions serviced.
    void idle(std::chrono::milliseconds duration);

    struct Upload;  // one session's state (block_uploads.cpp)

  private:
    client::CoapContextPtr context_;
    std::vector<std::unique_ptr<Upload>> uploads_;
};

}  // namespace estgw::test
