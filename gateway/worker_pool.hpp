// A fixed set of worker threads behind a bounded job queue (DESIGN.md "Threads").
//
// Slow work (upstream HTTPS, signing, key generation) runs here, never on the CoAP I/O thread. The queue is
// bounded so that overload turns into 5.03 + Max-Age at the front instead of unbounded memory.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace estgw::gateway {

class WorkerPool {
  public:
    using Job = std::function<void()>;

    WorkerPool(std::size_t threads, std::size_t max_queued);
    ~WorkerPool();  // stop()
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    // False when the queue is full or the pool is stopping; the job is then not run.
    bool try_submit(Job job);

    // Stops accepting jobs, drops the queued ones (at shutdown the fronts have answered their requests
    // already), waits for the running ones and joins the threads. Idempotent.
    void stop();

    // The same, but waits at most `grace` for the running jobs. False when some were still running: their
    // threads are detached, and the caller must end the process without destroying what they use.
    bool stop_within(std::chrono::milliseconds grace);

    std::size_t queued() const;
    std::size_t threads() const { return threads_.size(); }

  private:
    void run();
    void stop_accepting();

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable idle_;  // signalled when a job ends
    std::deque<Job> jobs_;
    std::size_t max_queued_;
    std::size_t running_ = 0;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace estgw::gateway
