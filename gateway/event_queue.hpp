// A mutex-guarded queue whose non-emptiness is signalled through an eventfd, so that the CoAP I/O thread can
// wait on it in the same epoll_wait as the libcoap socket (DESIGN.md "Threads").
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace estgw::gateway {

template <class T>
class EventQueue {
  public:
    EventQueue() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
        if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
    }
    ~EventQueue() { ::close(fd_); }
    EventQueue(const EventQueue&) = delete;
    EventQueue& operator=(const EventQueue&) = delete;

    int fd() const { return fd_; }

    // Any thread.
    void push(T item) {
        {
            std::lock_guard lock(mutex_);
            items_.push_back(std::move(item));
        }
        std::uint64_t one = 1;
        // The counter cannot overflow in practice (2^64-2); a failed write only delays the wake-up, and the
        // consumer drains the whole queue on every wake-up anyway.
        [[maybe_unused]] auto n = ::write(fd_, &one, sizeof one);
    }

    // Consumer thread: clears the eventfd and takes everything queued so far.
    std::deque<T> take_all() {
        std::uint64_t count;
        [[maybe_unused]] auto n = ::read(fd_, &count, sizeof count);
        std::lock_guard lock(mutex_);
        return std::exchange(items_, {});
    }

  private:
    int fd_;
    std::mutex mutex_;
    std::deque<T> items_;
};

}  // namespace estgw::gateway
