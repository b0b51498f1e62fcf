// An upstream answer built from arbitrary bytes, run through from_http_response for every operation.
// Input layout, one field per line: "<status>\n<Content-Type>\n<Retry-After>\n<body...>" (the body is the
// rest, binary allowed). Whatever comes back must be a well-formed EstResponse: a diagnostic on every error,
// and the body or parts an Ok answer promises.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/est.hpp"
#include "mapping/http_response.hpp"

namespace {

std::string_view next_line(std::string_view& in) {
    std::size_t lf = in.find('\n');
    std::string_view line = in.substr(0, lf);
    in = lf == std::string_view::npos ? std::string_view{} : in.substr(lf + 1);
    return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace estgw;
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::string_view status_text = next_line(in);
    int status = 0;
    for (char c : status_text.substr(0, 4)) {
        if (c >= '0' && c <= '9') status = status * 10 + (c - '0');
    }
    mapping::HttpResponse response;
    response.status = status;
    std::string_view content_type = next_line(in);
    std::string_view retry_after = next_line(in);
    if (!content_type.empty()) response.headers.push_back({"Content-Type", std::string(content_type)});
    if (!retry_after.empty()) response.headers.push_back({"Retry-After", std::string(retry_after)});
    response.body = std::string(in);

    // A fixed clock keeps runs reproducible; 2024-06-01T00:00:00Z.
    const std::chrono::system_clock::time_point now{std::chrono::seconds(1717200000)};
    for (Operation op : {Operation::CaCerts, Operation::SimpleEnroll, Operation::SimpleReenroll,
                         Operation::CsrAttrs, Operation::ServerKeyGen, Operation::ServerKeyGenCert,
                         Operation::RequestVoucher, Operation::VoucherStatus, Operation::EnrollStatus}) {
        EstRequest request;
        request.op = op;
        EstResponse r = mapping::from_http_response(request, response, now);
        if (r.upstream_status != status) std::abort();
        if (r.status != Status::Ok && r.diagnostic.empty()) std::abort();
        if (r.retry_after && (r.retry_after->count() < 0 || r.retry_after->count() > 0xFFFFFFFFLL))
            std::abort();
        if (r.status == Status::Ok && r.format == ContentFormat::MultipartCore) {
            if (r.parts.size() != 2 || !r.parts[0].body || !r.parts[1].body) std::abort();
        }
    }
    (void)mapping::decode_est_body(response.body);
    return 0;
}
