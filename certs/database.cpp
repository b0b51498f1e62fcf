#include "certs/database.hpp"

#include "certs/postgres_store.hpp"
#include "certs/sqlite_store.hpp"

namespace estgw::certs {

bool is_postgres_uri(std::string_view db) {
    return db.starts_with("postgresql://") || db.starts_with("postgres://");
}

std::string redact_database(std::string_view db) {
    if (!is_postgres_uri(db)) return std::string(db);
    std::string out(db);
    // The user-info: postgresql://user:password@host... ('@', '/' and ':' in a password are %-encoded).
    const std::size_t authority = out.find("://") + 3;
    const std::size_t authority_end = std::min(out.find_first_of("/?#", authority), out.size());
    const std::size_t at = out.rfind('@', authority_end);
    if (at != std::string::npos && at >= authority) {
        const std::size_t colon = out.find(':', authority);
        if (colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
    // A password= parameter of the query.
    for (std::size_t start = out.find('?'); start != std::string::npos && start < out.size();) {
        const std::size_t end = std::min(out.find('&', start + 1), out.size());
        const std::size_t value = start + 1 + std::string_view("password=").size();
        if (out.compare(start + 1, value - start - 1, "password=") == 0 && value <= end) {
            out.replace(value, end - value, "***");
        }
        start = out.find('&', start + 1);
    }
    return out;
}

Result<std::unique_ptr<Database>> open_database(std::string_view db, const DatabaseOptions& options) {
    if (is_postgres_uri(db)) {
        ESTGW_TRY(store, PostgresStore::open(db, options));
        return std::unique_ptr<Database>(std::move(store));
    }
    ESTGW_TRY(store, SqliteStore::open(std::filesystem::path(db),
                                       SqliteOptions{.read_only = options.read_only,
                                                     .busy_timeout_ms = options.busy_timeout_ms}));
    return std::unique_ptr<Database>(std::move(store));
}

}  // namespace estgw::certs
