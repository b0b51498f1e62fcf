// A MASA that misbehaves on purpose, for the registrar's end-to-end tests: cpp-httplib's SSLServer on
// 127.0.0.1, strict about what a registrar must send (POST /.well-known/brski/requestvoucher, Content-Type
// application/voucher+cose, else 415; a binary body), answering as the test says. Vouchers come from the
// real MASA logic (brski::decide_voucher_request) with the demo PKI's signing key.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace httplib {
class SSLServer;
}

namespace estgw::test {

enum class MasaBehaviour {
    Refuse403,   // 403 text/plain "this device is not sold to your domain"
    RetryOnce,   // a voucher-request's first time (by nonce): 202 + Retry-After 2; then the voucher
    Hang,        // never answers (until stopped)
    WrongNonce,  // a properly signed voucher whose nonce is not the request's
};

class FakeMasa {
  public:
    // Serves on 127.0.0.1:`port` with tls cert/key; vouchers signed with signing cert/key for IDevIDs of
    // pledge_ca. Throws std::runtime_error when it cannot.
    FakeMasa(int port, const std::string& pki_dir, MasaBehaviour behaviour);
    ~FakeMasa();
    FakeMasa(const FakeMasa&) = delete;
    FakeMasa& operator=(const FakeMasa&) = delete;

    int requests() const { return requests_.load(); }
    // Content-Types refused with 415 (a registrar that sent the wrong one).
    int refused_formats() const { return refused_formats_.load(); }

  private:
    struct State;
    std::unique_ptr<State> state_;
    std::unique_ptr<httplib::SSLServer> server_;
    std::thread thread_;
    std::atomic<int> requests_{0};
    std::atomic<int> refused_formats_{0};
    std::mutex mutex_;
    std::condition_variable stopping_;
    bool stopped_ = false;
};

}  // namespace estgw::test
