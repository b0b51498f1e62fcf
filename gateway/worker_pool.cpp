#include "gateway/worker_pool.hpp"

#include "common/log.hpp"

namespace estgw::gateway {

WorkerPool::WorkerPool(std::size_t threads, std::size_t max_queued) : max_queued_(max_queued) {
    if (threads == 0) threads = 1;
    threads_.reserve(threads);
    for (std::size_t i = 0; i < threads; ++i)
        threads_.emplace_back([this] { run(); });
}

WorkerPool::~WorkerPool() {
    stop();
}

bool WorkerPool::try_submit(Job job) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || jobs_.size() >= max_queued_) return false;
        jobs_.push_back(std::move(job));
    }
    wake_.notify_one();
    return true;
}

void WorkerPool::stop_accepting() {
    std::deque<Job> dropped;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        dropped.swap(jobs_);
    }
    wake_.notify_all();
    // Destroyed outside the lock: a job's captures may take locks of their own when they go.
    dropped.clear();
}

void WorkerPool::stop() {
    stop_accepting();
    for (auto& t : threads_) {
        if (t.joinable()) t.join();
    }
}

bool WorkerPool::stop_within(std::chrono::milliseconds grace) {
    stop_accepting();
    bool finished = false;
    {
        std::unique_lock lock(mutex_);
        finished = idle_.wait_for(lock, grace, [this] { return running_ == 0; });
    }
    for (auto& t : threads_) {
        if (!t.joinable()) continue;
        if (finished) {
            t.join();
        } else {
            t.detach();
        }
    }
    return finished;
}

std::size_t WorkerPool::queued() const {
    std::lock_guard lock(mutex_);
    return jobs_.size();
}

void WorkerPool::run() {
    while (true) {
        Job job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
            if (jobs_.empty()) return;  // stopping and nothing left
            job = std::move(jobs_.front());
            jobs_.pop_front();
            ++running_;
        }
        try {
            job();
        } catch (const std::exception& e) {
            // A job must report its own failures; this only keeps one bad job from killing the process.
            log::error("worker-job-threw", {{"what", e.what()}});
        }
        job = nullptr;  // its captures go before the job counts as done
        {
            std::lock_guard lock(mutex_);
            --running_;
        }
        idle_.notify_all();
    }
}

}  // namespace estgw::gateway
