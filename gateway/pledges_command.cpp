// `estgw pledges list` and `estgw pledges show`: the pledge journal (certs/journal.hpp) of a server-mode
// registrar, read from its database the way `estgw certs list` reads the issuance records: read-only, so
// that it runs beside the server and never migrates or creates a file.
#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>

#include "certs/database.hpp"
#include "common/command_line.hpp"
#include "common/config_file.hpp"
#include "gateway/commands.hpp"

namespace po = boost::program_options;

namespace estgw::gateway {

namespace {

constexpr const char* kDefaultDb = "./estgw.db";

void add_database_options(po::options_description& desc) {
    desc.add_options()("help,h", "print this help and exit")(
        "db", po::value<std::string>(),
        "the database of `estgw serve --mode server`, an SQLite file or a postgresql:// URI (default: the "
        "--config file's 'db', else ./estgw.db)")(
        "config", po::value<std::string>(),
        "the server's configuration file, for its 'db' (relative to the current directory, as `estgw serve` "
        "reads it)");
}

// The database to read: --db, else the --config file's db, else the server's default. Status::BadRequest
// when the configuration file cannot be read or sets db twice.
Result<std::string> database_file(const po::variables_map& vm) {
    if (vm.count("db")) return vm["db"].as<std::string>();
    if (!vm.count("config")) return std::string(kDefaultDb);
    const std::string config = vm["config"].as<std::string>();
    ESTGW_TRY(entries, read_config_file(config));
    const ConfigEntry* db = nullptr;
    for (const ConfigEntry& entry : entries) {
        if (entry.name != "db") continue;
        if (db != nullptr) {
            return make_error(Status::BadRequest, "'db' is set twice, in " + config + ":" +
                                                      std::to_string(db->line) + " and " + config + ":" +
                                                      std::to_string(entry.line) + "; it takes one value");
        }
        db = &entry;
    }
    return db != nullptr ? db->value : std::string(kDefaultDb);
}

// The journal of the database `vm` names, opened read-only; prints why not (naming `command`) and sets the
// exit code otherwise.
std::unique_ptr<certs::Database> open_journal(const po::variables_map& vm, std::string_view command,
                                              int& exit_code) {
    auto db = database_file(vm);
    if (!db) {
        std::cerr << command << ": " << db.error().message << "\n";
        exit_code = kExitUsage;
        return nullptr;
    }
    if (!certs::is_postgres_uri(*db) && !std::filesystem::exists(*db)) {
        std::cerr << command << ": no database at " << *db << " (see --db and --config)\n";
        exit_code = kExitUsage;
        return nullptr;
    }
    auto store = certs::open_database(*db, certs::DatabaseOptions{.read_only = true, .connections = 1});
    if (!store) {
        std::cerr << command << ": " << store.error().message << "\n";
        exit_code = kExitFailure;
        return nullptr;
    }
    return std::move(*store);
}

}  // namespace

int run_pledges_list(const std::vector<std::string>& args) {
    po::options_description desc("estgw pledges list options");
    add_database_options(desc);
    po::variables_map vm;
    const char* usage =
        "Usage: estgw pledges list [--db FILE|postgresql://URI] [--config FILE]\n"
        "One line per pledge that reached the registrar, most recently active first, after a line naming "
        "the\n"
        "tab-separated columns: device serial-number, IDevID serial, IDevID issuer, latest step, its "
        "outcome\n"
        "(status or code with the reason; '-' for none), when it happened, number of steps.\n"
        "Steps: voucher-request, masa-call, voucher-issued, voucher-refused, voucher-status, enrolled,\n"
        "enroll-status. `estgw pledges show SERIAL` prints one pledge's whole journey.";
    if (auto stop = parse_command_line(args, desc, vm, usage)) return *stop;
    constexpr std::string_view kCommand = "estgw pledges list";
    int exit_code = kExitOk;
    auto journal = open_journal(vm, kCommand, exit_code);
    if (!journal) return exit_code;
    auto pledges = journal->pledges();
    if (!pledges) {
        std::cerr << kCommand << ": " << pledges.error().message << "\n";
        return kExitFailure;
    }
    std::cout << certs::format_pledge_list(*pledges);
    return kExitOk;
}

int run_pledges_show(const std::vector<std::string>& args) {
    po::options_description desc("estgw pledges show options");
    add_database_options(desc);
    desc.add_options()("serial", po::value<std::string>()->required(),
                       "the pledge's device serial-number (as vouchers name it) or its IDevID certificate's "
                       "serial (hex, any case); the word after `show` without --serial");
    po::positional_options_description positional;
    positional.add("serial", 1);
    po::variables_map vm;
    const char* usage =
        "Usage: estgw pledges show SERIAL [--db FILE|postgresql://URI] [--config FILE]\n"
        "The whole journey of the pledge whose device serial-number or IDevID serial is SERIAL: a heading\n"
        "line, then one line per step in the order they happened, with the step's time, name and fields\n"
        "(name=value). Several pledges can share a device serial-number (IDevIDs of different issuers);\n"
        "each is shown. Exits 1 when no pledge has that serial.";
    if (auto stop = parse_command_line(args, desc, vm, usage, &positional)) return *stop;
    constexpr std::string_view kCommand = "estgw pledges show";
    int exit_code = kExitOk;
    auto journal = open_journal(vm, kCommand, exit_code);
    if (!journal) return exit_code;
    const std::string serial = vm["serial"].as<std::string>();
    auto events = journal->journey(serial);
    if (!events) {
        std::cerr << kCommand << ": " << events.error().message << "\n";
        return kExitFailure;
    }
    if (events->empty()) {
        std::cerr << kCommand << ": no pledge with device serial-number or IDevID serial '" << serial
                  << "' in the journal (`estgw pledges list` shows every pledge)\n";
        return kExitFailure;
    }
    std::cout << certs::format_journey(*events);
    return kExitOk;
}

}  // namespace estgw::gateway
