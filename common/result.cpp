#include "common/result.hpp"

namespace estgw {

std::string_view status_name(Status s) {
    switch (s) {
        case Status::Ok:
            return "ok";
        case Status::AcceptedRetryLater:
            return "accepted-retry-later";
        case Status::BadRequest:
            return "bad-request";
        case Status::BadOption:
            return "bad-option";
        case Status::Unauthorized:
            return "unauthorized";
        case Status::Forbidden:
            return "forbidden";
        case Status::NotFound:
            return "not-found";
        case Status::MethodNotAllowed:
            return "method-not-allowed";
        case Status::NotAcceptable:
            return "not-acceptable";
        case Status::RequestIncomplete:
            return "request-incomplete";
        case Status::PreconditionFailed:
            return "precondition-failed";
        case Status::PayloadTooLarge:
            return "payload-too-large";
        case Status::UnsupportedFormat:
            return "unsupported-format";
        case Status::Internal:
            return "internal";
        case Status::NotImplemented:
            return "not-implemented";
        case Status::UpstreamFailed:
            return "upstream-failed";
        case Status::ServiceUnavailable:
            return "service-unavailable";
        case Status::UpstreamTimeout:
            return "upstream-timeout";
    }
    return "unknown";
}

}  // namespace estgw
