// The INI-style files of `estgw serve --config`, read in Boost.Program_options' syntax (parse_config_file)
// but keeping each value's line, so that a mistake is reported as FILE:LINE:
//   - one "name = value" a line; name and value are trimmed, the value may be empty or hold '=';
//   - '#' starts a comment anywhere on a line (values cannot hold '#'); blank lines are skipped;
//   - "[section]" prefixes the names below it with "section." (estgw has no such options, but a file
//     Boost accepts is accepted here, and its names are reported as Boost would see them).
// A UTF-8 byte order mark, which some editors write, is skipped.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace estgw {

struct ConfigEntry {
    std::string name;
    std::string value;
    std::size_t line = 0;  // from 1
    bool operator==(const ConfigEntry&) const = default;
};

// `path` only names the file in errors: "malformed line 'x' in PATH:LINE ..." (Status::BadRequest).
Result<std::vector<ConfigEntry>> parse_config_text(std::string_view text, std::string_view path);

// The file's entries; Status::BadRequest naming the file when it cannot be read.
Result<std::vector<ConfigEntry>> read_config_file(const std::string& path);

}  // namespace estgw
