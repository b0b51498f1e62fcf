// estgw_idle_clients: the tests' idle and slow HTTPS clients (support/idle_clients.hpp) as a command, to
// measure the HTTPS front by hand (docs/BENCHMARKS.md): it opens the connections, says how many it holds,
// keeps them for --hold seconds (at most 600), says how many the server closed meanwhile, and closes them.
#include <charconv>
#include <iostream>
#include <map>
#include <string>
#include <thread>

#include "support/idle_clients.hpp"

namespace {

constexpr const char* kUsage =
    "usage: estgw_idle_clients --port P [--tcp N] [--tls N] [--partial-head N] [--after-request N]\n"
    "       [--sources N] [--ca F --cert F --key F] [--hold SECONDS] [--deadline SECONDS]\n"
    "Connects to 127.0.0.1:P from 127.0.0.2.. (N source addresses in turn) and holds the connections.\n";

unsigned number(const std::string& name, const std::string& text) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size())
        throw std::runtime_error("--" + name + ": not a number: " + text);
    return value;
}

}  // namespace

int main(int argc, char** argv) {
    std::map<std::string, std::string> options;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string name = argv[i];
        if (!name.starts_with("--")) {
            std::cerr << kUsage;
            return 2;
        }
        options[name.substr(2)] = argv[i + 1];
    }
    if (argc < 3 || argc % 2 == 0 || !options.count("port")) {
        std::cerr << kUsage;
        return 2;
    }
    try {
        auto get = [&](const std::string& name, unsigned fallback) {
            return options.count(name) ? number(name, options[name]) : fallback;
        };
        estgw::test::IdleClientsPlan plan;
        plan.port = static_cast<int>(get("port", 0));
        plan.tcp = get("tcp", 0);
        plan.tls = get("tls", 0);
        plan.partial_head = get("partial-head", 0);
        plan.after_request = get("after-request", 0);
        plan.source_addresses = get("sources", 1);
        plan.ca_file = options["ca"];
        plan.cert_file = options["cert"];
        plan.key_file = options["key"];
        plan.deadline = std::chrono::seconds(get("deadline", 60));
        const unsigned hold = std::min(get("hold", 10), 600u);

        estgw::test::IdleClients clients(plan);
        std::cout << "open tcp=" << clients.tcp_connected() << " tls=" << clients.tls_established()
                  << " setup_ms=" << clients.setup_time().count()
                  << " closed_by_server=" << clients.closed_by_server() << std::endl;
        std::this_thread::sleep_for(std::chrono::seconds(hold));
        std::cout << "closed_by_server=" << clients.closed_by_server() << " after " << hold << " s"
                  << std::endl;
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "estgw_idle_clients: " << e.what() << "\n";
        return 1;
    }
}
