// A real RFC 7030 EST server over HTTPS for the gateway's end-to-end tests: cpp-httplib's SSLServer,
// requiring client certificates, issuing from a test CA. Answers can be scripted per operation to behave like
// the servers found in the field (line-broken base64, Content-Transfer-Encoding, 202/503 + Retry-After,
// errors, slow answers, dropped connections).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "common/openssl.hpp"

namespace estgw::test {

// What the fake answers to POST /.well-known/brski/requestvoucher (200, application/voucher+cose).
inline const std::string kFakeVoucher("\xd2\x84\x43\xa1\x01\x26\xa0\x41\xa0\x40", 10);

struct FakeReply {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::chrono::milliseconds delay{0};
    bool drop_connection = false;  // close the TLS connection without answering
};

enum class BodyStyle {
    Base64LibestLines,       // as cisco/libest writes: 64-column LF lines, the last one too, and CTE base64
    Base64OneLine,           // no line breaks, no Content-Transfer-Encoding
    Base64CrlfLinesWithCte,  // 64-column CRLF lines and Content-Transfer-Encoding: base64
    Base64LfLines76,         // 76-column LF lines, no Content-Transfer-Encoding
    RawDer,                  // binary DER (some servers do this despite RFC 7030)
};

// How request bodies are read.
enum class Strictness {
    Lenient,  // estgw's own tolerant decoder (RFC 8951 §3.1 white space, missing padding, trailing NULs)
    Libest,   // as cisco/libest: OpenSSL's BIO_f_base64 in its default mode; what it refuses is a 400
};

// Wire-level habits of real HTTP servers, each one something the gateway's client must take.
struct WireStyle {
    bool http10_close_delimited = false;   // "HTTP/1.0 200 OK", no Content-Length: the body ends at close
    bool chunked = false;                  // Transfer-Encoding: chunked, the body in several chunks
    bool odd_header_case = false;          // "cONTENT-tYPE: ..." for every header the answer sets
    bool content_type_parameters = false;  // "; charset=us-ascii" appended to every Content-Type
    bool close_after_each_answer = false;  // "Connection: close" and a closed connection after each answer
};

struct RecordedRequest {
    std::string method, path, content_type, body;
    std::map<std::string, std::string> headers;
    std::string client_subject;  // from the TLS client certificate
};

class FakeEstServer {
  public:
    FakeEstServer(std::string cert_file, std::string key_file, std::string client_ca_file, const X509* ca,
                  const EVP_PKEY* ca_key);
    ~FakeEstServer();

    int start();  // listens on 127.0.0.1, returns the port
    void stop();

    // The next request for `operation` ("cacerts", "simpleenroll", ...) gets `reply` instead of the normal
    // answer. Several scripted replies are used in order.
    void script(const std::string& operation, FakeReply reply);
    void set_body_style(BodyStyle style) { style_ = style; }
    void set_strictness(Strictness strictness) { strictness_ = strictness; }
    void set_wire_style(WireStyle style);
    // Every request must carry these HTTP Basic credentials; otherwise 401 with WWW-Authenticate (RFC 7617).
    void require_basic(std::string user, std::string password);
    // Libest strictness and answers, or the lenient defaults, or the lenient ones written as "split" does,
    // from ESTGW_TEST_UPSTREAM ("strict"/"lenient"/"split").
    void apply_profile_from_environment();
    // Each answer in two writes, the status line and headers, then the body, with Nagle's algorithm on, as
    // cisco/libest and many other servers do: the body waits for the client's ACK of the head (issue 18).
    // Before start().
    void set_split_writes(bool split) { split_writes_ = split; }
    // The most requests that were in the server's hands at once (each kept-alive connection carries one at
    // a time, so this is also the most connections busy at once).
    int max_concurrent_requests() const { return max_in_flight_.load(); }
    void reset_max_concurrent_requests() { max_in_flight_.store(in_flight_.load()); }
    // Back to the profile's body style and the plain wire style, for tests that share one upstream.
    void restore_defaults();
    bool strict() const { return strictness_ == Strictness::Libest; }
    // Extra delay before every answer.
    void set_delay(std::chrono::milliseconds d) { delay_ms_ = static_cast<int>(d.count()); }

    int calls(const std::string& operation) const;
    std::vector<RecordedRequest> requests() const;

    // The normal answers, usable in scripts.
    FakeReply encoded_reply(const std::string& der, const std::string& content_type) const;  // per body style

  private:
    void handle(const httplib::Request& request, httplib::Response& response);
    FakeReply normal_answer(const std::string& operation, const std::string& body);
    std::optional<FakeReply> refusal(const httplib::Request& request) const;
    void write(FakeReply reply, const httplib::Request& request, httplib::Response& response) const;
    std::string encode_base64(const Bytes& der) const;

    std::string cert_file_, key_file_, client_ca_file_;
    X509Ptr ca_;
    EvpPkeyPtr ca_key_;
    std::unique_ptr<httplib::SSLServer> server_;
    std::thread thread_;
    std::atomic<BodyStyle> style_{BodyStyle::Base64OneLine};
    std::atomic<int> delay_ms_{0};
    std::atomic<Strictness> strictness_{Strictness::Lenient};
    bool split_writes_ = false;
    std::atomic<int> in_flight_{0};
    std::atomic<int> max_in_flight_{0};
    mutable std::mutex mutex_;
    std::condition_variable stopped_;  // ends the delays when the server stops
    bool stopping_ = false;
    WireStyle wire_;
    std::optional<std::string> basic_credentials_;  // "user:password"
    std::map<std::string, std::deque<FakeReply>> scripts_;
    std::map<std::string, int> calls_;
    std::vector<RecordedRequest> requests_;
};

}  // namespace estgw::test
