// estgw: EST-coaps (RFC 9148) gateway and registrar.
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "client/commands.hpp"
#include "common/suggest.hpp"
#include "gateway/commands.hpp"
#include "gateway/version.hpp"

namespace {

using namespace estgw;
using namespace estgw::gateway;

struct Command {
    std::string_view group;  // the first word of a two-word command ("pki" of "pki init"), else empty
    std::string_view name;
    int (*run)(const std::vector<std::string>& args);
    std::string_view summary;
};

constexpr Command kCommands[] = {
    {"", "serve", run_serve, "serve EST-coaps over DTLS (and RFC 7030 over HTTPS in server mode)"},
    {"pki", "init", run_pki_init, "write a demo PKI and a server-mode configuration"},
    {"certs", "list", run_certs_list, "list the certificates a server-mode registrar has issued"},
    {"pledges", "list", run_pledges_list,
     "list the pledges a server-mode registrar has seen, each at its latest step"},
    {"pledges", "show", run_pledges_show,
     "one pledge's journey: voucher request, MASA, voucher, status, enrollment"},
    {"", "enroll", client::run_enroll,
     "an EST-coaps pledge: fetch CA certificates, enroll, re-enroll, server-side keys"},
    {"", "bench", client::run_bench, "load generator: keep N DTLS sessions busy with sen, crts or sren"},
    {"", "pledge", client::run_pledge,
     "a simulated cBRSKI pledge: voucher from the registrar, checked against the MASA, then an LDevID"},
    {"", "masa", run_masa, "a MASA for labs and tests: vouchers for registrars' BRSKI voucher-requests"},
    {"", "health", run_health, "ask a running estgw (--metrics-listen) whether it is healthy: exit 0 or 1"},
};

std::string words(const Command& c) {
    return c.group.empty() ? std::string(c.name) : std::string(c.group) + " " + std::string(c.name);
}

// "  pki init      write a demo PKI ...", for each command of `group` (every command for nullptr).
std::string command_list(const std::string* group) {
    std::string out;
    for (const Command& c : kCommands) {
        if (group && c.group != *group) continue;
        std::string w = words(c);
        out += "  " + w + std::string(w.size() < 14 ? 14 - w.size() : 1, ' ') + std::string(c.summary) + "\n";
    }
    return out;
}

constexpr const char* kUsageHead =
    "Usage: estgw [--help] [--version] <command> [options]\n"
    "\n"
    "estgw lets constrained devices enroll for X.509 certificates over CoAP and DTLS (EST-coaps, RFC 9148):\n"
    "in front of an RFC 7030 EST server (gateway mode) or as a registrar with its own CA (server mode).\n"
    "\n"
    "Commands:\n";

constexpr const char* kUsageTail =
    "\n"
    "`estgw <command> --help` lists each command's options.\n"
    "\n"
    "Options:\n"
    "  -h, --help       print this help and exit\n"
    "  -V, --version    print the version and exit\n";

std::string usage() {
    return kUsageHead + command_list(nullptr) + kUsageTail;
}

bool is_help(const std::string& word) {
    return word == "--help" || word == "-h" || word == "help";
}

// `estgw certs` or `estgw pki` without a known second word: the commands of the group (exit 0 for --help).
int list_group(const std::string& group, const std::vector<std::string>& args) {
    if (args.size() > 1 && is_help(args[1])) {
        std::cout << "Commands of estgw " << group << ":\n" << command_list(&group);
        return kExitOk;
    }
    std::string problem = "missing command";
    if (args.size() > 1) {
        std::vector<std::string> names;
        for (const Command& c : kCommands)
            if (c.group == group) names.emplace_back(c.name);
        problem = "unknown command '" + args[1] + "'";
        if (auto suggestion = estgw::closest_name(args[1], names))
            problem += "; did you mean '" + *suggestion + "'?";
    }
    std::cerr << "estgw " << group << ": " << problem << "\nCommands of estgw " << group << ":\n"
              << command_list(&group) << "`estgw " << group << " <command> --help` lists its options.\n";
    return kExitUsage;
}

const Command* find_command(const std::vector<std::string>& args) {
    for (const Command& c : kCommands) {
        if (c.group.empty() ? args[0] == c.name
                            : args[0] == c.group && args.size() > 1 && args[1] == c.name) {
            return &c;
        }
    }
    return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) {
        std::cerr << usage();
        return kExitUsage;
    }
    const std::string& first = args.front();
    if (first == "--version" || first == "-V") {
        std::cout << "estgw " << ESTGW_VERSION_STRING << "\n";
        return kExitOk;
    }
    if (is_help(first)) {
        std::cout << usage();
        return kExitOk;
    }
    if (const Command* command = find_command(args)) {
        const std::size_t used = command->group.empty() ? 1 : 2;
        try {
            return command->run(std::vector<std::string>(args.begin() + used, args.end()));
        } catch (const std::exception& e) {
            std::cerr << "estgw " << words(*command) << ": " << e.what() << "\n";
            return kExitFailure;
        }
    }
    std::vector<std::string> first_words;  // what `first` may have meant
    for (const Command& c : kCommands) {
        if (c.group == first) return list_group(first, args);
        first_words.emplace_back(c.group.empty() ? c.name : c.group);
    }
    const auto suggestion = estgw::closest_name(first, first_words);
    std::cerr << "estgw: unknown command '" << first << "'"
              << (suggestion ? "; did you mean '" + *suggestion + "'?" : ".") << " Try 'estgw --help'.\n";
    return kExitUsage;
}
