// parse_link_format on arbitrary text: whatever parses must format and parse back to the same links. The
// same text, as a discovery query, must filter our own links to a subset that still parses.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mapping/link_format.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace estgw::mapping;
    const std::string_view text(reinterpret_cast<const char*>(data), size);

    if (auto links = parse_link_format(text)) {
        auto again = parse_link_format(format_links(*links));
        if (!again || *again != *links) std::abort();
    }

    DiscoveryConfig config;
    config.est_root = "/est";
    config.brski_root = "/b";
    config.labels = {"ca1"};
    config.include_brski = true;
    const auto all = discovery_links(config);
    const auto query = split_query(text);
    const auto filtered = filter_links(all, query);
    if (filtered.size() > all.size()) std::abort();
    auto reparsed = parse_link_format(discovery_payload(config, query));
    if (!reparsed || *reparsed != filtered) std::abort();
    return 0;
}
