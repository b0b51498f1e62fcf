#include "support/fake_masa.hpp"

#include <httplib.h>

#include <chrono>
#include <optional>
#include <set>
#include <stdexcept>

#include "brski/masa.hpp"
#include "brski/voucher.hpp"
#include "common/cose.hpp"
#include "common/pem_file.hpp"

namespace estgw::test {

struct FakeMasa::State {
    brski::MasaConfig config;
    MasaBehaviour behaviour;
    std::set<Bytes> seen_nonces;  // RetryOnce: the voucher-requests answered 202 once
};

namespace {

brski::MasaConfig masa_config(const std::string& pki_dir) {
    auto pledge_cas = load_certificates(pki_dir + "/mfg-ca.crt");
    auto signing = load_certificates(pki_dir + "/masa-sign.crt");
    auto key = load_private_key(pki_dir + "/masa-sign.key");
    if (!pledge_cas || !signing || !key) throw std::runtime_error("fake MASA: cannot read the demo PKI");
    auto config = brski::MasaConfig::create(std::move(*pledge_cas), std::move(*signing), std::move(*key));
    if (!config) throw std::runtime_error("fake MASA: " + config.error().message);
    return std::move(*config);
}

std::optional<Bytes> voucher_nonce(const Bytes& voucher) {
    auto sign1 = cose::decode_sign1(voucher);
    if (!sign1) return std::nullopt;
    auto payload = brski::decode(brski::Kind::Voucher, sign1->payload);
    if (!payload) return std::nullopt;
    return payload->nonce;
}

// The voucher with its nonce changed and signed again, as a MASA that mixed up requests would send it.
std::string with_other_nonce(const Bytes& voucher, const brski::MasaConfig& config) {
    auto sign1 = cose::decode_sign1(voucher);
    if (!sign1) throw std::runtime_error(sign1.error().message);
    auto payload = brski::decode(brski::Kind::Voucher, sign1->payload);
    if (!payload || !payload->nonce) throw std::runtime_error("fake MASA: voucher without nonce");
    for (auto& byte : *payload->nonce)
        byte = static_cast<std::uint8_t>(byte ^ 0xFF);
    auto encoded = brski::encode(brski::Kind::Voucher, *payload);
    if (!encoded) throw std::runtime_error(encoded.error().message);
    cbor::Map unprotected{{cbor::Value(static_cast<std::int64_t>(cose::kHeaderX5Bag)),
                           cose::certificate_bag(config.signing_chain)}};
    auto signed_voucher = cose::sign1(*encoded, unprotected, config.signing_key.get());
    if (!signed_voucher) throw std::runtime_error(signed_voucher.error().message);
    return to_string(*signed_voucher);
}

}  // namespace

FakeMasa::FakeMasa(int port, const std::string& pki_dir, MasaBehaviour behaviour)
    : state_(std::make_unique<State>(State{masa_config(pki_dir), behaviour, {}})) {
    server_ = std::make_unique<httplib::SSLServer>((pki_dir + "/masa.crt").c_str(),
                                                   (pki_dir + "/masa.key").c_str());
    if (!server_->is_valid()) throw std::runtime_error("fake MASA: cannot set up TLS");
    server_->Post(
        "/.well-known/brski/requestvoucher", [this](const httplib::Request& req, httplib::Response& res) {
            ++requests_;
            if (req.get_header_value("Content-Type") != brski::kVoucherMediaType) {
                ++refused_formats_;
                res.status = 415;
                res.set_content("Content-Type must be application/voucher+cose", "text/plain");
                return;
            }
            auto issue = [&]() -> std::optional<Bytes> {
                const Bytes body = to_bytes(req.body);
                auto decision =
                    brski::decide_voucher_request(body, state_->config, std::chrono::system_clock::now());
                if (!decision.voucher) {
                    res.status = brski::masa_http_status(decision.voucher.error().status);
                    res.set_content(decision.voucher.error().message, "text/plain");
                    return std::nullopt;
                }
                return decision.voucher->voucher;
            };
            switch (state_->behaviour) {
                case MasaBehaviour::Refuse403:
                    res.status = 403;
                    res.set_content("this device is not sold to your domain", "text/plain");
                    return;
                case MasaBehaviour::Hang: {
                    std::unique_lock lock(mutex_);
                    stopping_.wait(lock, [this] { return stopped_; });
                    res.status = 503;
                    return;
                }
                case MasaBehaviour::RetryOnce: {
                    auto voucher = issue();
                    if (!voucher) return;
                    std::lock_guard lock(mutex_);
                    if (state_->seen_nonces.insert(*voucher_nonce(*voucher)).second) {
                        res.status = 202;
                        res.set_header("Retry-After", "2");
                        res.set_content("the manufacturer approves this sale by hand", "text/plain");
                        return;
                    }
                    res.set_content(to_string(*voucher), std::string(brski::kVoucherMediaType));
                    return;
                }
                case MasaBehaviour::WrongNonce:
                    if (auto voucher = issue())
                        res.set_content(with_other_nonce(*voucher, state_->config),
                                        std::string(brski::kVoucherMediaType));
                    return;
            }
        });
    if (!server_->bind_to_port("127.0.0.1", port))
        throw std::runtime_error("fake MASA: cannot bind its port");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    for (int i = 0; i < 200 && !server_->is_running(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

FakeMasa::~FakeMasa() {
    {
        std::lock_guard lock(mutex_);
        stopped_ = true;
    }
    stopping_.notify_all();
    server_->stop();
    if (thread_.joinable()) thread_.join();
}

}  // namespace estgw::test
