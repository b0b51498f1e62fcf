#include "gateway/option_input.hpp"

#include <vector>

#include "common/suggest.hpp"

namespace po = boost::program_options;

namespace estgw::gateway {

namespace {

std::vector<std::string> option_names(const po::options_description& desc) {
    std::vector<std::string> names;
    for (const auto& option : desc.options())
        names.push_back(option->long_name());
    return names;
}

}  // namespace

std::string command_line_error(const po::error& error, const po::options_description& desc,
                               std::string_view command) {
    const std::string see = "See '" + std::string(command) + " --help'.";
    const auto* unknown = dynamic_cast<const po::unknown_option*>(&error);
    if (!unknown) return std::string(error.what()) + ". " + see;
    const std::string given = unknown->get_option_name();  // "--sever=x" as typed
    const std::string option = given.substr(0, given.find('='));
    const std::string message = "unrecognised option '" + option + "'";
    if (option.starts_with("--")) {
        if (auto suggestion = closest_name(std::string_view(option).substr(2), option_names(desc)))
            return message + "; did you mean '--" + *suggestion + "'? " + see;
    }
    return message + ". " + see;
}

}  // namespace estgw::gateway
