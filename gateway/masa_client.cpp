#include "gateway/masa_client.hpp"

#include <algorithm>

#include "brski/masa.hpp"
#include "common/log.hpp"
#include "common/pem_file.hpp"

namespace estgw::gateway {

UpstreamNames masa_names() {
    UpstreamNames names;
    names.peer = "the MASA";
    names.address_option = "the IDevID's MASA URL or --masa-url";
    names.trust_option = "--masa-ca";
    names.identity_option = "--masa-cert";
    names.key_option = "--masa-key";
    names.timeout_option = "--masa-timeout";
    return names;
}

Result<std::unique_ptr<MasaClient>> MasaClient::create(MasaClientConfig config) {
    const UpstreamNames names = masa_names();
    auto named = [](const std::string& option, const Error& e) {
        return make_error(Status::BadRequest, option + ": " + e.message);
    };
    if (!config.ca_file.empty()) {
        if (auto anchors = load_certificates(config.ca_file); !anchors)
            return named(names.trust_option, anchors.error());
    }
    auto certificates = load_certificates(config.cert_file);
    if (!certificates) return named(names.identity_option, certificates.error());
    auto key = load_private_key(config.key_file);
    if (!key) return named(names.key_option, key.error());
    if (auto matches = check_key_matches(certificates->front().get(), key->get()); !matches)
        return named(names.key_option, matches.error());
    return std::make_unique<MasaClient>(Passkey{}, std::move(config));
}

Result<UpstreamClient*> MasaClient::client_for(const HttpsUrl& base) {
    std::lock_guard lock(mutex_);
    auto key = std::make_pair(base.host, base.port);
    if (auto found = clients_.find(key); found != clients_.end()) return found->second.get();
    UpstreamClientConfig upstream;
    upstream.url = HttpsUrl{base.host, base.port, ""};
    upstream.ca_file = config_.ca_file;
    upstream.cert_file = config_.cert_file;
    upstream.key_file = config_.key_file;
    upstream.timeout = config_.timeout;
    upstream.max_connections = std::max<std::size_t>(config_.max_connections, 1);
    upstream.names = masa_names();
    auto client = UpstreamClient::create(std::move(upstream));
    if (!client) return client.error();
    // A call that raced abort_calls() must not find a client that missed the abort.
    if (aborted_.load()) (*client)->abort_calls();
    log::info("masa-client", {{"masa", base.host + ":" + std::to_string(base.port)},
                              {"trust", config_.ca_file.empty() ? std::string("system") : config_.ca_file},
                              {"connections", config_.max_connections}});
    UpstreamClient* raw = client->get();
    clients_.emplace(std::move(key), std::move(*client));
    return raw;
}

UpstreamReply MasaClient::request_voucher(const HttpsUrl& base, const Bytes& rvr,
                                          std::chrono::steady_clock::time_point deadline) {
    if (aborted_.load()) return UpstreamReply{UpstreamFailure::Aborted, {}, "the registrar is shutting down"};
    deadline = std::min(deadline, std::chrono::steady_clock::now() + config_.timeout);
    auto client = client_for(base);
    if (!client) return UpstreamReply{UpstreamFailure::Tls, {}, client.error().message};
    mapping::HttpRequest request;
    request.method = "POST";
    request.path = base.path_prefix + "/requestvoucher";
    // cBRSKI §7.1: both MUST name the format of the voucher-request; the body is binary (RFC 8995 §6).
    request.headers.push_back({"Content-Type", std::string(brski::kVoucherMediaType)});
    request.headers.push_back({"Accept", std::string(brski::kVoucherMediaType)});
    request.body.assign(rvr.begin(), rvr.end());
    return (*client)->call(request, deadline);
}

void MasaClient::abort_calls() {
    aborted_.store(true);
    std::lock_guard lock(mutex_);
    for (auto& [origin, client] : clients_)
        client->abort_calls();
}

}  // namespace estgw::gateway
