#include "common/command_line.hpp"

#include <algorithm>
#include <iostream>
#include <vector>

#include "common/suggest.hpp"

namespace po = boost::program_options;

namespace estgw {

namespace {

std::vector<std::string> option_names(const po::options_description& desc) {
    std::vector<std::string> names;
    for (const auto& option : desc.options())
        names.push_back(option->long_name());
    return names;
}

constexpr const char* kWholeNumber = "a whole number";

// What an option's type accepts, for "invalid value" errors; empty for text.
std::string expected_value(const po::value_semantic& semantic) {
    if (dynamic_cast<const po::typed_value<unsigned>*>(&semantic) ||
        dynamic_cast<const po::typed_value<std::size_t>*>(&semantic)) {
        return kWholeNumber;
    }
    if (dynamic_cast<const po::typed_value<bool>*>(&semantic)) return "true or false";
    return "";
}

Error unknown_config_option(const std::string& name, const std::string& where,
                            const po::options_description& desc) {
    std::string message = "unrecognised option '" + name + "' in " + where;
    const std::vector<std::string> names = option_names(desc);
    if (auto suggestion = closest_name(name, names))
        return make_error(Status::BadRequest, message + "; did you mean '" + *suggestion + "'?");
    // A name under a "[section]" line carries its prefix; the option meant is likely the rest.
    if (std::size_t dot = name.rfind('.'); dot != std::string::npos) {
        if (auto suggestion = closest_name(std::string_view(name).substr(dot + 1), names)) {
            message += "; did you mean '" + *suggestion + "'? (estgw's options are not in [sections])";
        }
    }
    return make_error(Status::BadRequest, message);
}

// "estgw pki init" of "Usage: estgw pki init --dir DIR ...": the lower-case words before the first option.
std::string command_of(std::string_view usage) {
    constexpr std::string_view kPrefix = "Usage: ";
    if (usage.starts_with(kPrefix)) usage.remove_prefix(kPrefix.size());
    std::string command;
    while (!usage.empty()) {
        const std::size_t end = std::min(usage.find_first_of(" \n"), usage.size());
        const std::string_view word = usage.substr(0, end);
        if (word.empty() || word.find_first_not_of("abcdefghijklmnopqrstuvwxyz") != std::string_view::npos)
            break;
        command += (command.empty() ? "" : " ") + std::string(word);
        usage.remove_prefix(std::min(end + 1, usage.size()));
    }
    return command;
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

Result<ConfigOrigins> store_config_entries(const std::vector<ConfigEntry>& entries, const std::string& path,
                                           const po::options_description& desc, po::variables_map& vm) {
    po::parsed_options parsed(&desc);
    ConfigOrigins origins;
    // Each option's values so far, parsed as po::store will parse them, so that a refused value is found
    // while its line is known.
    std::map<std::string, boost::any> values;
    for (const ConfigEntry& entry : entries) {
        const std::string where = path + ":" + std::to_string(entry.line);
        const po::option_description* option = desc.find_nothrow(entry.name, false);
        if (!option) return unknown_config_option(entry.name, where, desc);
        if (vm.count(entry.name) && !vm[entry.name].defaulted()) continue;  // the command line wins
        const std::string expected = expected_value(*option->semantic());
        // The conversion Boost uses takes "-1" for 4294967295.
        bool refused =
            expected == kWholeNumber &&
            (entry.value.empty() || entry.value.find_first_not_of("0123456789") != std::string::npos);
        if (!refused) {
            try {
                option->semantic()->parse(values[entry.name], {entry.value}, true);
            } catch (const po::multiple_occurrences&) {
                return make_error(Status::BadRequest, "'" + entry.name + "' is set twice, in " +
                                                          origins[entry.name] + " and " + where +
                                                          "; it takes one value");
            } catch (const po::error&) {
                refused = true;
            }
        }
        if (refused) {
            return make_error(Status::BadRequest, "invalid value '" + entry.value + "' for '" + entry.name +
                                                      "' in " + where +
                                                      (expected.empty() ? "" : " (" + expected + ")"));
        }
        if (auto [origin, first] = origins.emplace(entry.name, where); !first)
            origin->second += "," + std::to_string(entry.line);
        po::option stored(entry.name, {entry.value});
        stored.original_tokens = {entry.name, entry.value};
        parsed.options.push_back(std::move(stored));
    }
    try {
        po::store(parsed, vm);
    } catch (const po::error& e) {
        return make_error(Status::BadRequest, path + ": " + e.what());
    }
    return origins;
}

std::optional<int> parse_command_line(const std::vector<std::string>& args,
                                      const po::options_description& desc, po::variables_map& vm,
                                      const char* usage,
                                      const po::positional_options_description* positional) {
    const std::string command = command_of(usage);
    try {
        po::command_line_parser parser(args);
        parser.options(desc);
        if (positional != nullptr) parser.positional(*positional);
        po::store(parser.run(), vm);
        // Before notify(), which would refuse a missing required option: --help needs none.
        if (vm.count("help")) {
            std::cout << usage << "\n\n" << desc;
            return kExitOk;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << command << ": " << command_line_error(e, desc, command) << "\n";
        return kExitUsage;
    }
    return std::nullopt;
}

}  // namespace estgw
