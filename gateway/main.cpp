// estgw: EST-coaps (RFC 9148) gateway and registrar.
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "gateway/commands.hpp"
#include "gateway/version.hpp"

namespace {

constexpr const char* kUsage =
    "Usage: estgw [--help] [--version] <command> [options]\n"
    "\n"
    "estgw lets constrained devices enroll for X.509 certificates over CoAP and DTLS (EST-coaps, RFC 9148):\n"
    "in front of an RFC 7030 EST server (gateway mode) or as a registrar with its own CA (server mode).\n"
    "\n"
    "Commands:\n"
    "  serve         serve EST-coaps over DTLS (and RFC 7030 over HTTPS in server mode)\n"
    "  pki init      write a demo PKI and a server-mode configuration\n"
    "  certs list    list the certificates a server-mode registrar has issued\n"
    "  enroll        an EST-coaps pledge: fetch CA certificates, enroll, re-enroll, server-side keys\n"
    "  bench         load generator: keep N DTLS sessions busy with sen, crts or sren\n"
    "\n"
    "`estgw <command> --help` lists each command's options.\n"
    "\n"
    "Options:\n"
    "  -h, --help       print this help and exit\n"
    "  -V, --version    print the version and exit\n";

}  // namespace

int main(int argc, char** argv) {
    using namespace estgw::gateway;
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) {
        std::cerr << kUsage;
        return kExitUsage;
    }
    const std::string& first = args.front();
    if (first == "--version" || first == "-V") {
        std::cout << "estgw " << ESTGW_VERSION_STRING << "\n";
        return kExitOk;
    }
    if (first == "--help" || first == "-h" || first == "help") {
        std::cout << kUsage;
        return kExitOk;
    }
    auto rest = [&](std::size_t words) { return std::vector<std::string>(args.begin() + words, args.end()); };
    try {
        if (first == "serve") return run_serve(rest(1));
        if (first == "pki" && args.size() > 1 && args[1] == "init") return run_pki_init(rest(2));
        if (first == "certs" && args.size() > 1 && args[1] == "list") return run_certs_list(rest(2));
        if (first == "enroll") return run_enroll(rest(1));
        if (first == "bench") return run_bench(rest(1));
    } catch (const std::exception& e) {
        std::cerr << "estgw " << first << ": " << e.what() << "\n";
        return kExitFailure;
    }
    std::cerr << "estgw: unknown command '" << first << (args.size() > 1 ? " " + args[1] : "")
              << "'\nTry 'estgw --help'.\n";
    return kExitUsage;
}
