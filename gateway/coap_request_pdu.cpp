#include "gateway/coap_request_pdu.hpp"

#include "mapping/paths.hpp"

namespace estgw::gateway {

std::optional<unsigned> uint_option(const coap_pdu_t* pdu, coap_option_num_t number) {
    coap_opt_iterator_t it;
    coap_opt_t* opt = coap_check_option(pdu, number, &it);
    if (!opt) return std::nullopt;
    return coap_decode_var_bytes(coap_opt_value(opt), coap_opt_length(opt));
}

Bytes opaque_option(const coap_pdu_t* pdu, coap_option_num_t number) {
    coap_opt_iterator_t it;
    coap_opt_t* opt = coap_check_option(pdu, number, &it);
    if (!opt) return {};
    return Bytes(coap_opt_value(opt), coap_opt_value(opt) + coap_opt_length(opt));
}

std::vector<std::string> uri_path(const coap_pdu_t* pdu) {
    std::vector<std::string> segments;
    coap_opt_filter_t filter;
    coap_option_filter_clear(&filter);
    coap_option_filter_set(&filter, COAP_OPTION_URI_PATH);
    coap_opt_iterator_t it;
    coap_option_iterator_init(pdu, &it, &filter);
    while (coap_opt_t* opt = coap_option_next(&it)) {
        segments.emplace_back(reinterpret_cast<const char*>(coap_opt_value(opt)), coap_opt_length(opt));
    }
    return segments;
}

std::string join_path(const std::vector<std::string>& segments) {
    std::string out;
    for (const auto& s : segments)
        out += "/" + s;
    return out.empty() ? "/" : out;
}

mapping::CoapRequestView request_view(const coap_pdu_t* request) {
    mapping::CoapRequestView view;
    view.method = static_cast<std::uint8_t>(coap_pdu_get_code(request));
    view.uri_path = uri_path(request);
    view.uri_path_abbrev = uint_option(request, mapping::kUriPathAbbrevOption);
    view.content_format = uint_option(request, COAP_OPTION_CONTENT_FORMAT);
    view.accept = uint_option(request, COAP_OPTION_ACCEPT);
    if (auto block2 = uint_option(request, COAP_OPTION_BLOCK2)) view.block2_num = *block2 >> 4;
    return view;
}

}  // namespace estgw::gateway
