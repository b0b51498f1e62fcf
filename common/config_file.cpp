#include "common/config_file.hpp"

#include "common/small_file.hpp"

namespace estgw {

namespace {

std::string_view trim(std::string_view s) {
    constexpr std::string_view kSpace = " \t\r\n";
    const std::size_t first = s.find_first_not_of(kSpace);
    if (first == std::string_view::npos) return {};
    return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

}  // namespace

Result<std::vector<ConfigEntry>> parse_config_text(std::string_view text, std::string_view path) {
    constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
    if (text.starts_with(kByteOrderMark)) text.remove_prefix(kByteOrderMark.size());
    std::vector<ConfigEntry> entries;
    std::string section;
    std::size_t number = 0;
    while (!text.empty()) {
        const std::size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        ++number;
        line = trim(line.substr(0, line.find('#')));
        if (line.empty()) continue;
        const std::string where = std::string(path) + ":" + std::to_string(number);
        if (line.front() == '[' && line.back() == ']') {
            section = std::string(line.substr(1, line.size() - 2));
            if (!section.empty() && section.back() != '.') section += '.';
            continue;
        }
        const std::size_t equals = line.find('=');
        if (equals == std::string_view::npos) {
            return make_error(Status::BadRequest, "malformed line '" + std::string(line) + "' in " + where +
                                                      "; write 'name = value' ('#' starts a comment)");
        }
        std::string_view name = trim(line.substr(0, equals));
        if (name.empty()) {
            return make_error(Status::BadRequest, "malformed line '" + std::string(line) + "' in " + where +
                                                      ": no option name before '='");
        }
        entries.push_back(
            ConfigEntry{section + std::string(name), std::string(trim(line.substr(equals + 1))), number});
    }
    return entries;
}

Result<std::vector<ConfigEntry>> read_config_file(const std::string& path) {
    auto text = read_small_file(path, "--config: cannot read");
    if (!text) return make_error(Status::BadRequest, text.error().message);
    return parse_config_text(*text, path);
}

}  // namespace estgw
