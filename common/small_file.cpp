#include "common/small_file.hpp"

#include <fstream>
#include <sstream>

namespace estgw {

Result<std::string> read_small_file(const std::filesystem::path& path, std::string_view what,
                                    std::uintmax_t limit) {
    const std::string where = std::string(what) + " '" + path.string() + "'";
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) return make_error(Status::Internal, where + ": " + ec.message());
    if (size > limit) {
        return make_error(Status::Internal, where + " is larger than " + std::to_string(limit) + " bytes");
    }
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) return make_error(Status::Internal, where + " is unreadable");
    return text.str();
}

}  // namespace estgw
