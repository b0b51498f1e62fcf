// Where full-server mode records what it issued. The interface is shaped for SQL back ends: SQLite
// (certs/sqlite_store.hpp, the embedded default) and PostgreSQL (certs/postgres_store.hpp, so that several
// servers share one CA database; DESIGN.md "Scale-out"), both opened by certs::open_database
// (certs/database.hpp). Nothing here depends on a particular database.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/openssl.hpp"
#include "common/result.hpp"

namespace estgw::certs {

// Why a certificate was issued. A re-enrollment is a renewal when the SubjectPublicKeyInfo is unchanged and a
// rekey otherwise (RFC 7030 §4.2.2; certs::same_public_key tells them apart).
enum class IssuanceOperation { Enroll, Renew, Rekey, ServerKeyGen };

// "enroll", "renew", "rekey", "serverkeygen": the spelling stored and listed.
std::string_view operation_name(IssuanceOperation operation);
std::optional<IssuanceOperation> parse_operation_name(std::string_view name);

struct IssuanceRecord {
    std::string serial;           // uppercase hex, as certs::serial_hex and `openssl x509 -serial` write it
    std::string subject;          // RFC 2253
    std::int64_t not_before = 0;  // Unix seconds
    std::int64_t not_after = 0;   // Unix seconds
    IssuanceOperation operation = IssuanceOperation::Enroll;
    // RFC 2253 subject of the client's certificate: the DTLS or TLS peer's, or the one an RA forwarded for
    // it; empty without one.
    std::string client_subject;
    // RFC 2253 subject of the RA that forwarded the client's certificate (PeerIdentity::forwarded_by);
    // empty when the client spoke for itself, and in records written before the column existed.
    std::string ra_subject;
    std::int64_t issued_at = 0;  // Unix seconds
    Bytes certificate_der;

    bool operator==(const IssuanceRecord&) const = default;
};

// The record for a freshly issued certificate.
Result<IssuanceRecord> make_issuance_record(
    const X509* cert, IssuanceOperation operation, std::string client_subject,
    std::chrono::system_clock::time_point issued_at = std::chrono::system_clock::now());

enum class InsertOutcome {
    Inserted,         // committed durably: the response may go out
    DuplicateSerial,  // nothing written; issue again (a new random serial) and insert that
};

// Implementations are safe to call from several threads at once, and from several processes sharing the
// database.
class IssuanceStore {
  public:
    virtual ~IssuanceStore() = default;

    // Returns only after the record is committed, so a certificate is never handed out unrecorded.
    virtual Result<InsertOutcome> insert(const IssuanceRecord& record) = 0;
    // Newest first: by issued_at, then by insertion order. limit 0 means all.
    virtual Result<std::vector<IssuanceRecord>> list(std::size_t limit = 0) = 0;
    // By serial (hex, any case).
    virtual Result<std::optional<IssuanceRecord>> find(std::string_view serial) = 0;
};

// `estgw certs list`: one line per certificate, tab-separated so it stays machine-splittable although
// subjects hold spaces and commas:
//   serial  subject  not-after  operation  client-subject  ra-subject  issued-at
// Times are RFC 3339 UTC ("2025-06-01T12:00:00Z"); an empty subject, client or RA subject is "-"; control
// characters in names become '?'. No trailing newline.
std::string format_issuance_line(const IssuanceRecord& record);
// kIssuanceListHeader, then the lines of format_issuance_line, each ending in '\n', in the order given
// (list() is already newest first).
std::string format_issuance_list(const std::vector<IssuanceRecord>& records);
inline constexpr std::string_view kIssuanceListHeader =
    "serial\tsubject\tnot-after\toperation\tclient-subject\tra-subject\tissued-at";

// `estgw certs list --json`: a JSON array (RFC 8259) of one object per record, in the order given, ending
// in a newline:
//   {"serial": "7F..", "subject": "CN=..", "not_before": "<RFC 3339>", "not_after": "<RFC 3339>",
//    "operation": "enroll", "client_subject": "CN=..", "ra_subject": "CN=..", "issued_at": "<RFC 3339>",
//    "certificate": "-----BEGIN CERTIFICATE-----\n..."}
// An empty client or RA subject is null; names are as stored (no '?' substitution, JSON escapes them).
std::string format_issuance_json(const std::vector<IssuanceRecord>& records);

// "2025-06-01T12:00:00Z".
std::string format_utc(std::int64_t unix_seconds);

// One column of the tab-separated listings (`certs list`, `pledges list`): "-" for empty text, and control
// characters (tab, line breaks among them) become '?', so that a line always splits into its columns.
std::string list_column(std::string_view text);

}  // namespace estgw::certs
