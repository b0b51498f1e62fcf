#include "support/coap_cli.hpp"

#include <algorithm>
#include <future>
#include <regex>
#include <set>
#include <sstream>

#include "support/process.hpp"

namespace estgw::test {

std::vector<std::string> coap_client_command(const std::string& url, const std::vector<std::string>& args,
                                             const Credentials& who, const std::string& trust,
                                             const std::string& out_file, const std::string& program) {
    std::vector<std::string> argv = {program, "-v", "7", "-B", "30", "-R", trust};
    if (!who.cert.empty()) argv.insert(argv.end(), {"-c", who.cert, "-j", who.key});
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"-o", out_file, url});
    return argv;
}

CoapOutcome run_coap_client(const std::vector<std::string>& argv, const std::string& out_file) {
    RunResult run = run_command(argv, std::chrono::seconds(60));
    CoapOutcome outcome = parse_coap_client_output(run.output);
    outcome.payload = read_file(out_file);
    return outcome;
}

std::vector<CoapOutcome> run_coap_clients_at_once(const std::vector<CoapClientRun>& runs) {
    // coap-client sets SO_REUSEADDR on its socket, and Linux then lets two such sockets that bind port 0
    // get the same ephemeral port: two pledges on one address:port, each receiving the other's datagrams
    // (seen in 1-4 % of runs of 50 clients, as a "decrypt error" or an answer that never arrives). Each
    // client of a batch to 127.0.0.1 therefore speaks from a loopback address of its own (-a 127.0.1.N),
    // so that no two share an address:port whatever ports they get.
    std::vector<std::future<CoapOutcome>> pending;
    std::size_t index = 0;
    for (const auto& run : runs) {
        std::vector<std::string> argv = run.argv;
        const bool to_ipv4_loopback = std::any_of(argv.begin(), argv.end(), [](const std::string& a) {
            return a.find("://127.0.0.1:") != std::string::npos;
        });
        if (to_ipv4_loopback && std::find(argv.begin(), argv.end(), "-a") == argv.end()) {
            const std::size_t n = index++ % 65024;  // 127.0.1.1 .. 127.0.254.254
            argv.insert(argv.begin() + 1,
                        {"-a", "127.0." + std::to_string(1 + n / 254) + "." + std::to_string(1 + n % 254)});
        }
        pending.push_back(std::async(std::launch::async, [argv = std::move(argv), out = run.out_file] {
            return run_coap_client(argv, out);
        }));
    }
    std::vector<CoapOutcome> outcomes;
    for (auto& p : pending)
        outcomes.push_back(p.get());
    return outcomes;
}

namespace {
std::string trim(std::string s) {
    s.erase(0, s.find_first_not_of(' '));
    s.erase(s.find_last_not_of(' ') + 1);
    return s;
}
}  // namespace

CoapOutcome parse_coap_client_output(const std::string& output) {
    CoapOutcome o;
    o.output = output;
    static const std::regex kLine(
        R"(v:1 t:(CON|NON|ACK|RST) c:([0-9])\.([0-9]{2}) i:[0-9a-f]+ \{[0-9a-f]*\} \[([^\]]*)\]( :: (.*))?)");
    std::set<std::string> block_numbers;
    std::istringstream lines(output);
    std::string line;
    while (std::getline(lines, line)) {
        std::smatch m;
        if (!std::regex_search(line, m, kLine)) continue;
        std::string code = m[2].str() + "." + m[3].str();
        if (code == "0.00") continue;  // the empty ACK before a separate response
        o.code = code;
        o.options.clear();
        std::istringstream opts(m[4].str());
        std::string opt;
        while (std::getline(opts, opt, ',')) {
            auto colon = opt.find(':');
            if (colon != std::string::npos)
                o.options[trim(opt.substr(0, colon))] = trim(opt.substr(colon + 1));
        }
        if (o.options.count("Block2")) {
            block_numbers.insert(o.options["Block2"].substr(0, o.options["Block2"].find('/')));
        }
        std::string tail = m[6].str();
        o.diagnostic =
            tail.size() >= 2 && tail.front() == '\'' ? tail.substr(1, tail.size() - 2) : std::string();
    }
    o.blocks_received = static_cast<int>(block_numbers.size());
    return o;
}

}  // namespace estgw::test
