// Requests the server may ask to repeat: an answer 5.03 + Max-Age means "send the identical request again
// after Max-Age seconds" (RFC 9148 §4.7 for EST; for a BRSKI voucher request the MASA's 202 + Retry-After
// becomes one, and the pledge resends the same bytes, RFC 8995 §5.6, cBRSKI §6.6).
#pragma once

#include <chrono>
#include <functional>
#include <optional>

#include "client/coap_client.hpp"
#include "common/result.hpp"

namespace estgw::client {

struct RepeatPolicy {
    std::chrono::seconds timeout{30};                  // for each answer
    std::chrono::seconds max_wait{0};                  // the waits together may not pass this
    std::optional<std::chrono::seconds> longest_wait;  // one Max-Age is cut to this (a BRSKI pledge: 60 s)
};

struct RepeatedAnswer {
    CoapAnswer answer;  // the first that is not 5.03
    int retries = 0;
};

// Sends `request` until the answer is not 5.03. Max-Age absent means 60 s (RFC 7252 §5.10.5), 0 one second.
// `on_wait` hears of each wait before it starts. Errors: those of CoapClient::request, and
// Status::ServiceUnavailable naming the 5.03 when the next wait would pass max_wait.
Result<RepeatedAnswer> request_repeating(
    CoapClient& client, const CoapRequest& request, const RepeatPolicy& policy,
    const std::function<void(const CoapAnswer&, std::chrono::seconds)>& on_wait);

}  // namespace estgw::client
