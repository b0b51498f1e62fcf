// One outcome type for every module: a value, or an EST-level Status with a human-readable message.
//
// Status is deliberately protocol-neutral: mapping/ turns it into a CoAP code (RFC 9148 §4.5) or reads it
// from an HTTP status (RFC 7030), so certs/ and gateway/ never speak in wire codes.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace estgw {

enum class Status {
    Ok,
    AcceptedRetryLater,  // HTTP 202 + Retry-After; CoAP 5.03 + Max-Age (RFC 9148 §4.7)
    BadRequest,          // malformed DER/CBOR, bad signature
    BadOption,           // unknown critical CoAP option, bad Uri-Path-Abbrev
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    NotAcceptable,       // requested Accept cannot be produced
    RequestIncomplete,   // HTTP 408 / CoAP 4.08
    PreconditionFailed,  // HTTP 412 / CoAP 4.12
    PayloadTooLarge,     // HTTP 413 / CoAP 4.13 (+Size1)
    UnsupportedFormat,   // HTTP 415 / CoAP 4.15
    Internal,            // 5.00
    NotImplemented,      // 5.01
    UpstreamFailed,      // 5.02: upstream unreachable, TLS failure, unparseable answer
    ServiceUnavailable,  // 5.03 (optionally with Max-Age)
    UpstreamTimeout,     // 5.04
};

std::string_view status_name(Status s);

struct Error {
    Status status = Status::Internal;
    std::string message;
};

inline Error make_error(Status status, std::string message) {
    return Error{status, std::move(message)};
}

template <class T>
class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(google-explicit-constructor)
    Result(Error error)
        : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(google-explicit-constructor)

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Error& error() const { return std::get<1>(v_); }
    Status status() const { return ok() ? Status::Ok : error().status; }

  private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
  public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)

    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const { return error_; }
    Status status() const { return ok_ ? Status::Ok : error_.status; }

  private:
    Error error_;
    bool ok_ = true;
};

// Propagates an error from an expression yielding Result<...> out of a function returning Result<...>.
#define ESTGW_TRY(var, expr)                          \
    auto var##_result_ = (expr);                      \
    if (!var##_result_) return var##_result_.error(); \
    auto var = std::move(var##_result_).value()

}  // namespace estgw
