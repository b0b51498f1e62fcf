// Reading small configuration inputs (certificates, keys, csrattrs, key tables) with a size cap, so a
// mistaken path to a huge file fails cleanly instead of filling memory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace estgw {

// The whole file, or Status::Internal "<what> '<path>': <reason>" when it is missing, unreadable or larger
// than `limit` bytes.
Result<std::string> read_small_file(const std::filesystem::path& path, std::string_view what,
                                    std::uintmax_t limit = 1 << 20);

}  // namespace estgw
