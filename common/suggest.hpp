// "Did you mean" hints: the known name a mistyped one most likely stands for (options, commands).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace estgw {

// Optimal string alignment distance, the restricted Damerau-Levenshtein distance: inserting, deleting or
// substituting a character, or swapping two adjacent ones, costs 1 (no substring is edited twice).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate `typed` most likely stands for, compared without regard to case; nothing when none is
// close. In order of preference:
//   1. a typo: at most one edit away (two from 6 characters on), the fewest edits first ("sever" ->
//   "server");
//   2. a truncation: `typed` begins the candidate, the shortest such candidate ("keylog" -> "keylog-file");
//   3. an addition: the candidate (2 characters at least) begins `typed`, the longest ("dbfile" -> "db").
// Ties go to the candidate listed first.
std::optional<std::string> closest_name(std::string_view typed, std::span<const std::string> candidates);

}  // namespace estgw
