#include "gateway/coap_fronts.hpp"

#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <thread>

#include "common/file_descriptor.hpp"
#include "common/log.hpp"
#include "gateway/metrics.hpp"

namespace estgw::gateway {

CoapFronts::CoapFronts(const FrontConfig& config, std::size_t count, Backend& backend)
    : config_(config), shared_(count) {
    for (std::size_t i = 0; i < count; ++i) {
        FrontConfig own = config;
        own.index = static_cast<unsigned>(i);
        own.fronts = static_cast<unsigned>(count);
        fronts_.push_back(std::make_unique<CoapFront>(std::move(own), backend, shared_));
    }
}

CoapFronts::~CoapFronts() = default;

Result<void> CoapFronts::start() {
    auto& m = metrics::estgw_metrics();
    for (std::size_t i = 0; i < fronts_.size(); ++i) {
        if (auto started = fronts_[i]->start(); !started) return started;
        m.coap_front_requests.add({std::to_string(i)}, 0);
        m.coap_front_sessions.add({std::to_string(i)}, 0);
    }
    // The SO_REUSEPORT group is complete only now (CoapFront::drop_early_datagrams says why).
    if (fronts_.size() > 1) {
        std::size_t dropped = 0;
        for (auto& front : fronts_)
            dropped += front->drop_early_datagrams();
        if (dropped > 0) log::debug("early-datagrams-dropped", {{"datagrams", dropped}});
    }
    log::info("io-threads", {{"count", fronts_.size()},
                             {"shared_addresses", fronts_.size() > 1 ? "SO_REUSEPORT" : "no"},
                             {"max_idle_sessions_each",
                              idle_session_share(config_.sessions.max_idle_sessions, fronts_.size(), 0)}});
    return {};
}

Result<void> CoapFronts::run(const DrainStarted& drain_started) {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    FileDescriptor signal_fd(signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC));
    FileDescriptor ended_fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));  // one count per front that returned
    FileDescriptor epoll_fd(epoll_create1(EPOLL_CLOEXEC));
    if (signal_fd.get() < 0 || ended_fd.get() < 0 || epoll_fd.get() < 0)
        return make_error(Status::Internal, std::string("signal set-up failed: ") + std::strerror(errno));
    for (int fd : {signal_fd.get(), ended_fd.get()}) {
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        if (epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, fd, &ev) != 0)
            return make_error(Status::Internal, std::string("epoll_ctl: ") + std::strerror(errno));
    }

    std::vector<std::optional<Result<void>>> results(fronts_.size());
    std::vector<std::thread> threads;
    threads.reserve(fronts_.size());
    for (std::size_t i = 0; i < fronts_.size(); ++i) {
        threads.emplace_back([this, i, &results, ended = ended_fd.get()] {
            try {
                results[i] = fronts_[i]->run();
            } catch (const std::exception& e) {
                results[i] = make_error(Status::Internal, std::string("I/O thread failed: ") + e.what());
            }
            const std::uint64_t one = 1;
            [[maybe_unused]] auto written = ::write(ended, &one, sizeof one);
        });
    }

    bool draining = false;
    auto drain = [&](const char* reason) {
        if (draining) return;
        draining = true;
        const auto deadline = std::chrono::steady_clock::now() + config_.drain_timeout;
        log::info("draining", {{"signal", reason}, {"io_threads", fronts_.size()}});
        if (drain_started) drain_started(deadline);
        for (auto& front : fronts_)
            front->request_drain(deadline);
    };
    std::size_t ended = 0;
    while (ended < fronts_.size()) {
        epoll_event events[2];
        const int n = epoll_wait(epoll_fd.get(), events, 2, -1);
        if (n < 0 && errno != EINTR) {
            // Cannot wait for a signal any more: stop as if one had come.
            log::error("event-loop-failed", {{"error", std::string("epoll_wait: ") + std::strerror(errno)}});
            drain("none (the signal loop failed)");
            break;
        }
        for (int i = 0; i < n; ++i) {
            if (events[i].data.fd == signal_fd.get()) {
                signalfd_siginfo info;
                while (::read(signal_fd.get(), &info, sizeof info) == sizeof info)
                    drain(strsignal(static_cast<int>(info.ssi_signo)));
            } else {
                std::uint64_t count = 0;
                if (::read(ended_fd.get(), &count, sizeof count) == sizeof count) ended += count;
                // A front that returns before the drain has failed: the others stop too.
                if (ended < fronts_.size()) drain("none (an I/O thread stopped)");
            }
        }
    }
    for (auto& thread : threads)
        thread.join();
    // One line each for the process, as with a single front (the fronts log theirs at debug level).
    std::size_t timed_out = 0, unsent = 0;
    for (auto& front : fronts_) {
        timed_out += front->drain_timeout_answers();
        unsent += front->drain_unsent();
    }
    if (timed_out > 0) log::warn("drain-timeout", {{"answered", "5.03"}, {"requests", timed_out}});
    if (unsent > 0) log::warn("drain-unsent", {{"requests", unsent}});
    for (auto& result : results) {
        if (result && !*result) return *result;
    }
    return {};
}

}  // namespace estgw::gateway
