#include "client/repeated_request.hpp"

#include <algorithm>
#include <string>

namespace estgw::client {

Result<RepeatedAnswer> request_repeating(
    CoapClient& client, const CoapRequest& request, const RepeatPolicy& policy,
    const std::function<void(const CoapAnswer&, std::chrono::seconds)>& on_wait) {
    const auto start = std::chrono::steady_clock::now();
    for (int retries = 0;; ++retries) {
        ESTGW_TRY(answer, client.request(request, policy.timeout));
        if (answer.code != COAP_RESPONSE_CODE(503)) return RepeatedAnswer{std::move(answer), retries};
        // 0 would spin: wait at least a second.
        std::chrono::seconds wait(std::max(1u, answer.max_age.value_or(60)));
        if (policy.longest_wait) wait = std::min(wait, *policy.longest_wait);
        auto waited =
            std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start);
        if (waited + wait > policy.max_wait) {
            return make_error(Status::ServiceUnavailable,
                              code_with_diagnostic(answer) + " (retry in " + std::to_string(wait.count()) +
                                  " s asked, beyond --max-wait " + std::to_string(policy.max_wait.count()) +
                                  " s)");
        }
        if (on_wait) on_wait(answer, wait);
        client.idle(wait);
    }
}

}  // namespace estgw::client
