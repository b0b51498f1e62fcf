#include "common/suggest.hpp"

#include <algorithm>
#include <cctype>
#include <tuple>
#include <vector>

namespace estgw {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
    // Three rows of the dynamic-programming table: the transposition looks two rows back.
    std::vector<std::size_t> before(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        previous[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        current[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                current[j] = std::min(current[j], before[j - 2] + 1);
        }
        std::swap(before, previous);
        std::swap(previous, current);
    }
    return previous[b.size()];
}

std::optional<std::string> closest_name(std::string_view typed, std::span<const std::string> candidates) {
    if (typed.empty()) return std::nullopt;
    const std::string wanted = lower(typed);
    // Longer names leave room for more slips; three edits would already turn "cert" into "key".
    const std::size_t max_edits = wanted.size() >= 6 ? 2 : 1;
    enum Kind { Typo, Truncation, Addition };
    std::optional<std::tuple<Kind, std::size_t, std::size_t>> best;  // kind, its measure, candidate index
    for (std::size_t index = 0; index < candidates.size(); ++index) {
        const std::string name = lower(candidates[index]);
        std::optional<std::tuple<Kind, std::size_t, std::size_t>> match;
        if (std::size_t edits = edit_distance(wanted, name); edits <= max_edits) {
            match = std::tuple{Typo, edits, index};
        } else if (name.starts_with(wanted)) {
            match = std::tuple{Truncation, name.size() - wanted.size(), index};
        } else if (name.size() >= 2 && wanted.starts_with(name)) {
            match = std::tuple{Addition, wanted.size() - name.size(), index};
        }
        if (match && (!best || *match < *best)) best = match;
    }
    if (!best) return std::nullopt;
    return candidates[std::get<2>(*best)];
}

}  // namespace estgw
