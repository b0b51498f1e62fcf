// The issuance store alone: inserts per second and insert latency (each insert returns after its commit)
// from T threads, against an SQLite file or a PostgreSQL URI, as `estgw serve --db` would open it.
//   store_insert --db FILE|URI [--threads T] [--inserts N]   (N per thread; prints one JSON object)
#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "certs/database.hpp"
#include "common/bytes.hpp"

namespace {

using Clock = std::chrono::steady_clock;

estgw::certs::IssuanceRecord make_record() {
    unsigned char serial[16];
    RAND_bytes(serial, sizeof serial);
    serial[0] &= 0x7f;  // positive, as a CA writes it
    estgw::certs::IssuanceRecord r;
    r.serial = estgw::to_hex(estgw::ByteView(serial, sizeof serial));
    r.subject = "CN=bench device " + r.serial;
    r.not_before = 1'700'000'000;
    r.not_after = 1'731'536'000;
    r.client_subject = "CN=bench pledge,serialNumber=JADA123456789";
    r.issued_at = 1'700'000'000;
    r.certificate_der.assign(480, 0x5a);  // about a P-256 certificate
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    std::string db;
    int threads = 1;
    int inserts = 1000;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string option = argv[i];
        if (option == "--db") {
            db = argv[i + 1];
        } else if (option == "--threads") {
            threads = std::stoi(argv[i + 1]);
        } else if (option == "--inserts") {
            inserts = std::stoi(argv[i + 1]);
        } else {
            std::cerr << "usage: store_insert --db FILE|URI [--threads T] [--inserts N]\n";
            return 2;
        }
    }
    if (db.empty() || threads < 1 || inserts < 1) {
        std::cerr << "usage: store_insert --db FILE|URI [--threads T] [--inserts N]\n";
        return 2;
    }
    auto store = estgw::certs::open_database(
        db, estgw::certs::DatabaseOptions{.connections = static_cast<std::size_t>(threads)});
    if (!store) {
        std::cerr << "store_insert: " << store.error().message << "\n";
        return 1;
    }
    std::vector<std::vector<double>> latencies(static_cast<std::size_t>(threads));
    std::vector<int> failures(static_cast<std::size_t>(threads), 0);
    std::vector<std::thread> workers;
    const auto start = Clock::now();
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            auto& mine = latencies[static_cast<std::size_t>(t)];
            mine.reserve(static_cast<std::size_t>(inserts));
            for (int i = 0; i < inserts; ++i) {
                const auto record = make_record();
                const auto before = Clock::now();
                auto outcome = (*store)->insert(record);
                mine.push_back(std::chrono::duration<double, std::micro>(Clock::now() - before).count());
                if (!outcome || *outcome != estgw::certs::InsertOutcome::Inserted) ++failures[t];
            }
        });
    }
    for (std::thread& worker : workers)
        worker.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::vector<double> all;
    for (const auto& mine : latencies)
        all.insert(all.end(), mine.begin(), mine.end());
    std::sort(all.begin(), all.end());
    auto percentile = [&all](double p) { return all[static_cast<std::size_t>(p * (all.size() - 1))]; };
    int failed = 0;
    for (int f : failures)
        failed += f;
    std::printf(
        "{\"threads\":%d,\"inserts\":%zu,\"failed\":%d,\"seconds\":%.3f,\"inserts_per_s\":%.0f,"
        "\"p50_us\":%.0f,\"p99_us\":%.0f}\n",
        threads, all.size(), failed, seconds, static_cast<double>(all.size()) / seconds, percentile(0.5),
        percentile(0.99));
    return failed == 0 ? 0 : 1;
}
