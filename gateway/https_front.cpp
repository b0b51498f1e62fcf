#include "gateway/https_front.hpp"

#include <httplib.h>
#include <openssl/rand.h>

#include <future>

#include "common/bytes.hpp"
#include "common/log.hpp"
#include "gateway/peer_identity.hpp"
#include "gateway/refused_handshakes.hpp"
#include "mapping/http_server.hpp"
#include "mapping/resources.hpp"

namespace estgw::gateway {

namespace {

std::string random_boundary() {
    std::uint8_t random[12];
    RAND_bytes(random, sizeof random);
    return "estgw-" + to_hex(random);
}

}  // namespace

HttpsFront::HttpsFront(HttpsFrontConfig config, Backend& backend)
    : config_(std::move(config)), backend_(backend) {}

HttpsFront::~HttpsFront() {
    stop();
}

Result<void> HttpsFront::start() {
    if (config_.trust_forwarded_client_cert) {
        auto trust = ForwardedClientTrust::load(*config_.trust_forwarded_client_cert, config_.client_ca_file);
        if (!trust) return make_error(Status::BadRequest, "--client-ca: " + trust.error().message);
        forwarded_ = std::move(*trust);
    }
    server_ = std::make_unique<httplib::SSLServer>(config_.cert_file.c_str(), config_.key_file.c_str(),
                                                   config_.client_ca_file.c_str());
    if (!server_->is_valid()) {
        return make_error(Status::BadRequest,
                          "--https-listen: cannot set up TLS with --cert/--key/--client-ca");
    }
    refused_handshakes::watch_https(server_->ssl_context());
    server_->set_tcp_nodelay(true);
    // cpp-httplib closes a keep-alive connection after 5 requests by default; each new one then costs the
    // client (a gateway's pool, say) a full TLS handshake with certificate checks. nginx's default is 1000.
    server_->set_keep_alive_max_count(1000);
    server_->set_payload_max_length(config_.routes.max_body * 2 + 1024);  // base64 plus line breaks
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
        auto started = std::chrono::steady_clock::now();
        mapping::HttpRequest request;
        request.method = req.method;
        request.path = req.path;
        request.body = req.body;
        for (const auto& [name, value] : req.headers)
            request.headers.push_back({name, value});
        PeerIdentity peer =
            read_peer_identity(req.ssl, req.remote_addr + ":" + std::to_string(req.remote_port));

        auto identity = forwarded_ ? forwarded_->identity(peer, request) : Result<PeerIdentity>(peer);

        mapping::HttpResponse out;
        auto parsed = mapping::from_http_request(request, config_.routes);
        if (!identity || !parsed) {
            out = mapping::http_error_response(request, identity ? parsed.error() : identity.error(),
                                               config_.routes);
        } else {
            EstRequest est = std::move(*parsed);
            est.peer = *identity;
            EstResponse answer;
            if (mapping::resource_for(est.op).method == mapping::CoapMethod::Get) {
                answer = backend_.answer_now(est);
            } else {
                auto promise = std::make_shared<std::promise<EstResponse>>();
                auto future = promise->get_future();
                backend_.submit(est, [promise](EstResponse r) { promise->set_value(std::move(r)); });
                if (future.wait_for(config_.answer_timeout) == std::future_status::ready) {
                    answer = future.get();
                } else {
                    answer = EstResponse::error(Status::ServiceUnavailable,
                                                "the answer is taking too long; retry");
                    answer.retry_after = std::chrono::seconds(10);
                }
            }
            out = mapping::to_http_response(est, answer, random_boundary());
        }
        res.status = out.status;
        std::string content_type = "text/plain";
        for (const auto& h : out.headers) {
            if (mapping::header_name_equals(h.name, "Content-Type")) {
                content_type = h.value;
            } else {
                res.set_header(h.name, h.value);
            }
        }
        res.set_content(out.body, content_type.c_str());
        auto ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
        log::info("https-request", {{"peer", peer.address},
                                    {"client", peer.subject.empty() ? std::string("-") : peer.subject},
                                    {"for", identity && !identity->forwarded_by.empty() ? identity->subject
                                                                                        : std::string("-")},
                                    {"method", req.method},
                                    {"path", req.path},
                                    {"status", out.status},
                                    {"in", req.body.size()},
                                    {"out", out.body.size()},
                                    {"ms", static_cast<long>(ms)}});
    };
    server_->Get(".*", handler);
    server_->Post(".*", handler);
    if (!server_->bind_to_port(config_.listen.host.c_str(), config_.listen.port)) {
        return make_error(Status::Internal, "cannot listen on " + config_.listen.text() + " (TCP) for HTTPS");
    }
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    log::info("listening", {{"address", config_.listen.text()}, {"protocol", "https"}});
    return {};
}

void HttpsFront::stop() {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
}

}  // namespace estgw::gateway
