#include "gateway/https_front.hpp"

#include <httplib.h>
#include <openssl/rand.h>
#include <sys/resource.h>

#include <chrono>
#include <thread>

#include "common/bytes.hpp"
#include "common/log.hpp"
#include "gateway/https_acceptor.hpp"
#include "gateway/https_connection.hpp"
#include "gateway/peer_identity.hpp"
#include "gateway/refused_handshakes.hpp"
#include "gateway/worker_pool.hpp"
#include "mapping/http_server.hpp"
#include "mapping/resources.hpp"

namespace estgw::gateway {

// cpp-httplib's SSLServer for what it does well, without its listener: its TLS context (from --cert, --key,
// --client-ca, client certificates required), and its parsing, routing and writing of one request on a
// stream, which Server::process_request does and which is protected, hence this class.
class HttpsRequestRouter : public httplib::SSLServer {
  public:
    using httplib::SSLServer::SSLServer;

    // False when the connection cannot go on; `client_closes` when the request asked to close it.
    bool answer(httplib::Stream& stream, bool last, bool& client_closes, const SSL* ssl) {
        return process_request(stream, last, client_closes, [ssl](httplib::Request& req) { req.ssl = ssl; });
    }
};

namespace {

std::string random_boundary() {
    std::uint8_t random[12];
    RAND_bytes(random, sizeof random);
    return "estgw-" + to_hex(random);
}

// Each connection is a file descriptor, and systemd starts services with a soft limit of 1024 open files:
// the soft limit is raised to the hard one, and --https-max-connections lowered (with a warning) to what
// that allows beside the rest of the process (the database, upstream connections, logs).
unsigned connections_within_open_file_limit(unsigned wanted) {
    constexpr rlim_t kReserve = 256;
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return wanted;
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= wanted + kReserve) return wanted;
    const auto possible =
        static_cast<unsigned>(limit.rlim_cur > 2 * kReserve ? limit.rlim_cur - kReserve : limit.rlim_cur / 2);
    log::warn("https-max-connections-lowered",
              {{"from", wanted},
               {"to", possible},
               {"note", "the open file limit is " + std::to_string(limit.rlim_cur) +
                            "; raise it (ulimit -n, LimitNOFILE=) for more HTTPS connections"}});
    return possible;
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
    router_ = std::make_unique<HttpsRequestRouter>(config_.cert_file.c_str(), config_.key_file.c_str(),
                                                   config_.client_ca_file.c_str());
    if (!router_->is_valid()) {
        return make_error(Status::BadRequest,
                          "--https-listen: cannot set up TLS with --cert/--key/--client-ca");
    }
    refused_handshakes::watch_https(router_->ssl_context());
    router_->set_payload_max_length(config_.routes.max_body * 2 + 1024);  // base64 plus line breaks
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
    router_->Get(".*", handler);
    router_->Post(".*", handler);

    HttpsLimits limits = config_.limits;
    limits.max_connections = connections_within_open_file_limit(limits.max_connections);
    // Every connection has at most one request waiting, so the queue needs no other bound.
    requests_ = std::make_unique<WorkerPool>(kRequestThreads, limits.max_connections);
    acceptor_ = std::make_unique<HttpsAcceptor>(limits, router_->ssl_context(), [this](HttpsConnection& c) {
        return requests_->try_submit([this, &c] { answer(c); });
    });
    if (auto listening = acceptor_->listen(config_.listen); !listening) return listening.error();
    acceptor_->start();
    log::info("listening", {{"address", config_.listen.text()}, {"protocol", "https"}});
    return {};
}

void HttpsFront::answer(HttpsConnection& connection) {
    HttpsStream stream(connection, config_.limits.header_timeout);
    const bool last = stopping_ || connection.requests + 1 >= kKeepAliveMaxRequests;
    bool client_closes = false;
    const bool ok = router_->answer(stream, last, client_closes, connection.ssl.get());
    ++connection.requests;
    acceptor_->give_back(connection, ok && !client_closes && !last);
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
    // No more connections, and the idle ones end now; a connection whose request is with a worker gets its
    // answer with Connection: close and is closed when it comes back.
    stopping_ = true;
    if (acceptor_) acceptor_->begin_stop();
}

void HttpsFront::stop() {
    stopping_ = true;
    if (acceptor_) acceptor_->begin_stop();
    if (requests_) {
        // Every dispatched connection must come back to the acceptor to be closed, so the requests still
        // queued are answered first (quickly once the drain has begun: 503, Connection: close); the pool's
        // stop() would drop them.
        const auto give_up =
            std::chrono::steady_clock::now() + config_.request_timeout + std::chrono::seconds(5);
        while (requests_->queued() > 0 && std::chrono::steady_clock::now() < give_up)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        requests_->stop();
    }
    if (acceptor_) acceptor_->join();
}

}  // namespace estgw::gateway
