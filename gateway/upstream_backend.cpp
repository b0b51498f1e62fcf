#include "gateway/upstream_backend.hpp"

#include "common/log.hpp"
#include "gateway/metrics.hpp"
#include "mapping/http_response.hpp"
#include "mapping/resources.hpp"

namespace estgw::gateway {

namespace {

// estgw_upstream_requests_total's status label: the HTTP status, or how the call failed without one.
std::string upstream_status_label(const UpstreamReply& reply) {
    if (reply.failure == UpstreamFailure::None) return std::to_string(reply.response.status);
    return upstream_failure_name(reply.failure);
}

void count_upstream_call(const UpstreamReply& reply, std::chrono::steady_clock::duration took) {
    auto& m = metrics::estgw_metrics();
    m.upstream_requests.add({upstream_status_label(reply)});
    m.upstream_request_duration.observe({}, std::chrono::duration<double>(took).count());
}

}  // namespace

UpstreamBackend::UpstreamBackend(UpstreamBackendConfig config, UpstreamClient& client, WorkerPool& pool)
    : config_(std::move(config)),
      client_(client),
      pool_(pool),
      upstream_pool_(std::make_unique<WorkerPool>(config_.upstream_threads, config_.queue_limit)) {
    {
        std::lock_guard lock(cache_mutex_);
        for (const std::string& label : [&] {
                 std::vector<std::string> all{""};
                 all.insert(all.end(), config_.labels.begin(), config_.labels.end());
                 return all;
             }()) {
            cache_[CacheKey{Operation::CaCerts, label}];
            cache_[CacheKey{Operation::CsrAttrs, label}];
        }
    }
    refresher_ = std::thread([this] { refresher_loop(); });
}

UpstreamBackend::~UpstreamBackend() {
    abandon_work();
    // Threads left behind still use the pool: the process ends without destroying it (serve_command.cpp).
    if (left_behind_) static_cast<void>(upstream_pool_.release());
}

void UpstreamBackend::stop_background_work() {
    background_stopped_.store(true);
    {
        std::lock_guard lock(stop_mutex_);
        stopping_ = true;
    }
    stop_cv_.notify_all();
}

// How long the upstream threads still get once their calls have been aborted (they then return within
// milliseconds; only a name look-up cannot be interrupted).
constexpr std::chrono::milliseconds kAbandonAfter{500};

void UpstreamBackend::abandon_work() {
    stop_background_work();
    client_.abort_calls();
    if (!upstream_pool_->stop_within(kAbandonAfter)) left_behind_ = true;
    if (refresher_.joinable()) refresher_.join();
}

std::vector<Operation> UpstreamBackend::unavailable_operations() const {
    // RFC 8995 §5.2 / cBRSKI §9.2.1: the voucher request pins whoever terminates DTLS and the registrar
    // request must carry the pledge's DTLS chain, so /rv can only be relayed to an upstream registrar that
    // trusts the gateway and receives the pledge certificate (digest §12).
    if (!config_.mapping.forward_client_cert_header) return {Operation::RequestVoucher};
    return {};
}

bool UpstreamBackend::cacheable(const EstResponse& r) {
    switch (r.status) {
        case Status::UpstreamFailed:
        case Status::UpstreamTimeout:
        case Status::ServiceUnavailable:
        case Status::AcceptedRetryLater:
        case Status::Internal:
            return false;
        default:
            return true;  // a definite answer, including "not offered" (404/204)
    }
}

std::variant<mapping::HttpRequest, EstResponse> UpstreamBackend::prepare(const EstRequest& request) const {
    if (certs::carries_csr(request.op)) {
        auto checked = certs::check_enrollment_request(request, config_.policy);
        if (!checked) return EstResponse::from_error(checked.error());
    }
    auto http = mapping::to_http_request(request, config_.mapping);
    if (!http) return EstResponse::from_error(http.error());
    return std::move(*http);
}

EstResponse UpstreamBackend::process(const EstRequest& request,
                                     std::chrono::steady_clock::time_point deadline) {
    auto prepared = prepare(request);
    if (auto* refused = std::get_if<EstResponse>(&prepared)) return std::move(*refused);
    return relay(request, std::get<mapping::HttpRequest>(prepared), deadline);
}

EstResponse UpstreamBackend::relay(const EstRequest& request, const mapping::HttpRequest& http,
                                   std::chrono::steady_clock::time_point deadline) {
    upstream_calls_.fetch_add(1);
    const auto called = std::chrono::steady_clock::now();
    UpstreamReply reply = client_.call(http, deadline);
    const auto now = std::chrono::steady_clock::now();
    if (reply.failure != UpstreamFailure::Timeout)
        last_upstream_answer_.store(now.time_since_epoch().count());
    if (reply.failure == UpstreamFailure::None) last_upstream_response_.store(now.time_since_epoch().count());
    count_upstream_call(reply, now - called);
    switch (reply.failure) {
        case UpstreamFailure::None:
            break;
        case UpstreamFailure::Timeout:
            return EstResponse::error(Status::UpstreamTimeout, reply.detail);
        case UpstreamFailure::Connect:
        case UpstreamFailure::Tls:
        case UpstreamFailure::Io:
            return EstResponse::error(Status::UpstreamFailed, reply.detail);
        case UpstreamFailure::Aborted: {
            EstResponse stopping = EstResponse::error(Status::ServiceUnavailable, reply.detail);
            stopping.retry_after = config_.busy_retry;
            return stopping;
        }
    }
    EstResponse response =
        mapping::from_http_response(request, reply.response, std::chrono::system_clock::now());
    response.upstream_status = reply.response.status;
    const bool pledge_forwarded = config_.mapping.forward_client_cert_header &&
                                  http.header(*config_.mapping.forward_client_cert_header).has_value();
    if (reply.response.status == 403 && pledge_forwarded) {
        // The upstream saw the pledge's certificate too (--forward-client-cert): its 403 may be about the
        // pledge (not trusted, identity mismatch on sren), which the pledge learns from the diagnostic; the
        // operator gets both possibilities here.
        log::warn("upstream-refused-request",
                  {{"status", reply.response.status},
                   {"path", http.path},
                   {"client", request.peer.subject.empty() ? std::string("-") : request.peer.subject},
                   {"reason", response.diagnostic},
                   {"hint",
                    "the request carried the pledge's certificate (--forward-client-cert): the refusal "
                    "may concern the pledge; if every request is refused, check that the certificate "
                    "of --upstream-cert is authorized there and that the upstream trusts forwarded "
                    "certificates (estgw: --trust-forwarded-client-cert)"}});
    } else if (reply.response.status == 401 || reply.response.status == 403) {
        // The upstream sees only the gateway's RA identity (RFC 9148 §5): a refusal usually means our own
        // credentials were rejected, which an operator must fix.
        log::warn("upstream-refused-gateway",
                  {{"status", reply.response.status},
                   {"path", http.path},
                   {"www_authenticate", reply.response.header("WWW-Authenticate").value_or("-")},
                   {"hint", refusal_hint(reply.response)}});
    }
    return response;
}

std::optional<std::chrono::steady_clock::time_point> UpstreamBackend::last_upstream_response() const {
    const auto ticks = last_upstream_response_.load();
    if (ticks == 0) return std::nullopt;
    return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(ticks));
}

std::string UpstreamBackend::refusal_hint(const mapping::HttpResponse& response) const {
    if (response.status == 403) {
        return "the upstream refused the gateway's identity: check that the certificate of --upstream-cert "
               "is authorized there (an RA certificate with id-kp-cmcRA)";
    }
    if (!config_.mapping.basic_user) {
        return "the upstream asks for credentials: set --upstream-user and --upstream-password-file (HTTP "
               "Basic), or check that --upstream-cert is authorized there";
    }
    return "the upstream refused the credentials of --upstream-user: check --upstream-user and "
           "--upstream-password-file";
}

EstResponse UpstreamBackend::answer_now(const EstRequest& request) {
    CacheKey key{request.op, request.label};
    bool start_refresh = false;
    std::optional<EstResponse> cached;
    {
        std::lock_guard lock(cache_mutex_);
        CacheEntry& entry = cache_[key];
        cached = entry.answer;
        bool stale = !cached || std::chrono::steady_clock::now() - entry.fetched > config_.crts_refresh;
        if (stale && !entry.refreshing) {
            entry.refreshing = true;
            start_refresh = true;
        }
    }
    if (start_refresh && !background_stopped_.load()) {
        if (!upstream_pool_->try_submit([this, key] { refresh(key); })) {
            std::lock_guard lock(cache_mutex_);
            cache_[key].refreshing = false;
        }
    }
    if (cached) return *cached;
    EstResponse busy = EstResponse::error(Status::ServiceUnavailable,
                                          "the CA certificates are being fetched from the upstream; retry");
    busy.retry_after = config_.busy_retry;
    return busy;
}

void UpstreamBackend::refresh(const CacheKey& key) {
    EstRequest request;
    request.op = key.op;
    request.label = key.label;
    EstResponse answer = background_stopped_.load()
                             ? EstResponse::error(Status::ServiceUnavailable, "shutting down")
                             : process(request, std::chrono::steady_clock::now() + client_.config().timeout);
    std::lock_guard lock(cache_mutex_);
    CacheEntry& entry = cache_[key];
    entry.refreshing = false;
    if (cacheable(answer)) {
        entry.answer = std::move(answer);
        entry.fetched = std::chrono::steady_clock::now();
    } else if (!background_stopped_.load()) {  // after the drain began, a failure is the abort's
        log::warn("upstream-cache-refresh-failed",
                  {{"resource", std::string(mapping::resource_for(key.op).short_name)},
                   {"label", key.label},
                   {"reason", answer.diagnostic}});
    }
}

int UpstreamBackend::refresh_now() {
    std::vector<CacheKey> keys;
    {
        std::lock_guard lock(cache_mutex_);
        for (auto& [k, e] : cache_)
            keys.push_back(k);
    }
    int ok = 0;
    for (const auto& k : keys) {
        refresh(k);
        std::lock_guard lock(cache_mutex_);
        if (cache_[k].answer) ++ok;
    }
    return ok;
}

void UpstreamBackend::refresher_loop() {
    std::unique_lock lock(stop_mutex_);
    while (!stopping_) {
        lock.unlock();
        std::vector<CacheKey> due;
        {
            std::lock_guard cache_lock(cache_mutex_);
            auto now = std::chrono::steady_clock::now();
            for (auto& [k, e] : cache_) {
                if (!e.refreshing && (!e.answer || now - e.fetched >= config_.crts_refresh)) {
                    e.refreshing = true;
                    due.push_back(k);
                }
            }
        }
        for (const auto& k : due)
            refresh(k);  // each returns at once after stop_background_work()
        lock.lock();
        // Retry soon while something has never been fetched; otherwise wake once per refresh period.
        bool missing = false;
        {
            std::lock_guard cache_lock(cache_mutex_);
            for (auto& [k, e] : cache_)
                missing = missing || !e.answer;
        }
        auto wait = missing ? std::min<std::chrono::seconds>(config_.busy_retry, config_.crts_refresh)
                            : config_.crts_refresh;
        stop_cv_.wait_for(lock, wait, [this] { return stopping_; });
    }
}

void UpstreamBackend::submit(EstRequest request, std::shared_ptr<RequestTicket> ticket,
                             std::function<void(EstResponse)> done) {
    auto busy = [this] {
        EstResponse answer = EstResponse::error(Status::ServiceUnavailable, "the gateway is busy; retry");
        answer.retry_after = config_.busy_retry;
        return answer;
    };
    // On a worker: the checks. The ticket stays queued until an upstream thread takes the request, so that a
    // request still waiting for one at its deadline is answered as waiting (overdue_answer).
    auto check = [this, request = std::move(request), ticket, done, busy]() mutable {
        auto prepared = prepare(request);
        if (auto* refused = std::get_if<EstResponse>(&prepared)) {
            if (ticket->start()) done(std::move(*refused));
            return;
        }
        auto call = [this, request = std::move(request), http = std::get<mapping::HttpRequest>(prepared),
                     ticket, done]() mutable {
            if (!ticket->start()) return;  // answered at its deadline or at the end of the drain
            EstResponse response = relay(request, http, ticket->deadline());
            // The pledge gets the reason as its diagnostic; the operator, who can fix it, gets it here (a
            // failed cache refresh logs its own line).
            if (response.status == Status::UpstreamFailed || response.status == Status::UpstreamTimeout) {
                log::warn("upstream-failed",
                          {{"resource", std::string(mapping::resource_for(request.op).short_name)},
                           {"peer", request.peer.address},
                           {"reason", response.diagnostic}});
            }
            done(std::move(response));
        };
        if (!upstream_pool_->try_submit(std::move(call)) && ticket->start()) done(busy());
    };
    if (!pool_.try_submit(std::move(check))) done(busy());
}

EstResponse UpstreamBackend::overdue_answer(const RequestTicket& ticket, bool started) const {
    const std::string within = std::to_string(client_.config().timeout.count()) + " s (--upstream-timeout)";
    const std::chrono::steady_clock::time_point answered{
        std::chrono::steady_clock::duration(last_upstream_answer_.load())};
    if (started) {
        return EstResponse::error(Status::UpstreamTimeout, "the upstream did not answer within " + within);
    }
    // Waiting for a worker: while the workers were all stuck on an upstream that answered nothing, the
    // upstream is the cause; while they got answers, there were just too many requests.
    if (answered < ticket.arrival()) {
        return EstResponse::error(Status::UpstreamTimeout, "the upstream answered nothing within " + within +
                                                               " while this request waited for a worker");
    }
    EstResponse busy = EstResponse::error(
        Status::ServiceUnavailable, "the gateway is busy: no worker was free within " + within + "; retry");
    busy.retry_after = config_.busy_retry;
    return busy;
}

}  // namespace estgw::gateway
