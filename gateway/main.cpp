// estgw: EST-coaps (RFC 9148) gateway and registrar.
#include <boost/program_options.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "gateway/version.hpp"

namespace po = boost::program_options;

namespace {

constexpr int kExitUsage = 2;

void print_usage(std::ostream& out, const po::options_description& general) {
    out << "Usage: estgw [--help] [--version] <command> [options]\n"
           "\n"
           "estgw lets constrained devices enroll for X.509 certificates over CoAP and DTLS (EST-coaps,\n"
           "RFC 9148), either in front of an RFC 7030 EST server or as a registrar of its own.\n"
           "\n"
           "Commands:\n"
           "  (none yet in this build; `estgw <command> --help` describes each command once it exists)\n"
           "\n"
        << general;
}

}  // namespace

int main(int argc, char** argv) {
    po::options_description general("General options");
    general.add_options()("help,h", "print this help and exit")("version,V", "print the version and exit");

    po::options_description positional_holder;
    positional_holder.add_options()("command", po::value<std::string>(), "command")(
        "args", po::value<std::vector<std::string>>(), "command arguments");
    po::positional_options_description positional;
    positional.add("command", 1).add("args", -1);

    po::options_description all;
    all.add(general).add(positional_holder);

    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "estgw: " << e.what() << "\nTry 'estgw --help'.\n";
        return kExitUsage;
    }

    if (vm.count("version")) {
        std::cout << "estgw " << ESTGW_VERSION_STRING << "\n";
        return 0;
    }
    if (vm.count("help") || !vm.count("command")) {
        print_usage(vm.count("help") ? std::cout : std::cerr, general);
        return vm.count("help") ? 0 : kExitUsage;
    }
    std::cerr << "estgw: unknown command '" << vm["command"].as<std::string>() << "'\nTry 'estgw --help'.\n";
    return kExitUsage;
}
