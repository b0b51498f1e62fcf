#include "gateway/https_front.hpp"

#include <httplib.h>
#include <openssl/rand.h>

#include "common/bytes.hpp"
#include "common/log.hpp"
#include "gateway/own_sockets.hpp"
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
        bool draining = false;
        {
            std::lock_guard lock(answers_->mutex);
            draining = answers_->drain_deadline.has_value();
        }

        mapping::HttpResponse out;
        auto parsed = mapping::from_http_request(request, config_.routes);
        if (!identity || !parsed) {
            out = mapping::http_error_response(request, identity ? parsed.error() : identity.error(),
                                               config_.routes);
        } else {
            EstRequest est = std::move(*parsed);
            est.peer = *identity;
            EstResponse answer = draining ? shutting_down_answer()
                                 : mapping::resource_for(est.op).method == mapping::CoapMethod::Get
                                     ? backend_.answer_now(est)
                                     : wait_for_answer(est, started);
            out = mapping::to_http_response(est, answer, random_boundary());
        }
        // The connection ends after this answer anyway (the listening socket is closed): say so.
        if (draining) res.set_header("Connection", "close");
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
    port_ = config_.listen.port;
    const bool bound = port_ == 0 ? (port_ = server_->bind_to_any_port(config_.listen.host.c_str())) > 0
                                  : server_->bind_to_port(config_.listen.host.c_str(), port_);
    if (!bound) {
        return make_error(Status::Internal, "cannot listen on " + config_.listen.text() + " (TCP) for HTTPS");
    }
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    log::info("listening", {{"address", config_.listen.text()}, {"protocol", "https"}});
    return {};
}

EstResponse HttpsFront::wait_for_answer(const EstRequest& request,
                                        std::chrono::steady_clock::time_point arrival) {
    auto ticket = std::make_shared<RequestTicket>(arrival, config_.request_timeout);
    auto slot = std::make_shared<std::optional<EstResponse>>();
    backend_.submit(request, ticket, [answers = answers_, slot](EstResponse r) {
        {
            std::lock_guard lock(answers->mutex);
            *slot = std::move(r);
        }
        answers->arrived.notify_all();
    });
    std::unique_lock lock(answers_->mutex);
    // Until the deadline; a job started by then gets until its own, later one (RequestTicket).
    auto wait_until = [&](std::chrono::steady_clock::time_point deadline) {
        while (!*slot) {
            auto until = deadline;
            if (answers_->drain_deadline) until = std::min(until, *answers_->drain_deadline);
            if (std::chrono::steady_clock::now() >= until) return;
            answers_->arrived.wait_until(lock, until);
        }
    };
    wait_until(ticket->deadline());
    const bool started = !*slot && !ticket->give_up();
    if (started) wait_until(ticket->started_job_deadline());
    if (*slot) return std::move(**slot);
    const bool drain_ended =
        answers_->drain_deadline && std::chrono::steady_clock::now() >= *answers_->drain_deadline;
    return drain_ended ? shutting_down_answer() : backend_.overdue_answer(*ticket, started);
}

void HttpsFront::begin_drain(std::chrono::steady_clock::time_point deadline) {
    {
        std::lock_guard lock(answers_->mutex);
        if (answers_->drain_deadline) return;
        answers_->drain_deadline = deadline;
    }
    answers_->arrived.notify_all();
    if (!server_) return;
    server_->stop();  // closes the listening socket
    // cpp-httplib 0.11 keeps an idle keep-alive connection for up to 5 s after stop(), and serves a
    // request that arrives on it meanwhile: end those now.
    stop_reading_connections_on(port_);
}

void HttpsFront::stop() {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
}

}  // namespace estgw::gateway
