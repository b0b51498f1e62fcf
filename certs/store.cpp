#include "certs/store.hpp"

#include <openssl/err.h>

#include <ctime>

#include "certs/ca.hpp"
#include "common/json.hpp"
#include "common/pem.hpp"
#include "common/x509.hpp"

namespace estgw::certs {

namespace {

struct OperationName {
    IssuanceOperation operation;
    std::string_view name;
};
constexpr OperationName kOperationNames[] = {
    {IssuanceOperation::Enroll, "enroll"},
    {IssuanceOperation::Renew, "renew"},
    {IssuanceOperation::Rekey, "rekey"},
    {IssuanceOperation::ServerKeyGen, "serverkeygen"},
};

Result<std::int64_t> unix_seconds(const ASN1_TIME* time) {
    std::tm tm{};
    if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) {
        ERR_clear_error();
        return make_error(Status::Internal, "certificate time unreadable");
    }
    return static_cast<std::int64_t>(timegm(&tm));
}

}  // namespace

std::string list_column(std::string_view text) {
    if (text.empty()) return "-";
    std::string out(text);
    for (char& c : out) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    }
    return out;
}

std::string_view operation_name(IssuanceOperation operation) {
    for (const OperationName& row : kOperationNames) {
        if (row.operation == operation) return row.name;
    }
    return "unknown";
}

std::optional<IssuanceOperation> parse_operation_name(std::string_view name) {
    for (const OperationName& row : kOperationNames) {
        if (row.name == name) return row.operation;
    }
    return std::nullopt;
}

Result<IssuanceRecord> make_issuance_record(const X509* cert, IssuanceOperation operation,
                                            std::string client_subject,
                                            std::chrono::system_clock::time_point issued_at) {
    if (cert == nullptr) return make_error(Status::Internal, "issuance record: no certificate");
    IssuanceRecord record;
    record.serial = serial_hex(cert);
    if (record.serial.empty()) return make_error(Status::Internal, "issuance record: serial unreadable");
    record.subject = name_to_string(X509_get_subject_name(cert));
    ESTGW_TRY(not_before, unix_seconds(X509_get0_notBefore(cert)));
    ESTGW_TRY(not_after, unix_seconds(X509_get0_notAfter(cert)));
    record.not_before = not_before;
    record.not_after = not_after;
    record.operation = operation;
    record.client_subject = std::move(client_subject);
    record.issued_at = std::chrono::duration_cast<std::chrono::seconds>(issued_at.time_since_epoch()).count();
    ESTGW_TRY(der, certificate_to_der(cert));
    record.certificate_der = std::move(der);
    return record;
}

std::string format_utc(std::int64_t unix_seconds) {
    const auto t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    if (gmtime_r(&t, &tm) == nullptr) return std::to_string(unix_seconds);
    char text[32];
    const std::size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(text, length);
}

std::string format_issuance_line(const IssuanceRecord& record) {
    std::string line = list_column(record.serial);
    for (const std::string& field :
         {list_column(record.subject), format_utc(record.not_after),
          std::string(operation_name(record.operation)), list_column(record.client_subject),
          list_column(record.ra_subject), format_utc(record.issued_at)}) {
        line += '\t';
        line += field;
    }
    return line;
}

std::string format_issuance_list(const std::vector<IssuanceRecord>& records) {
    std::string out(kIssuanceListHeader);
    out += '\n';
    for (const IssuanceRecord& record : records) {
        out += format_issuance_line(record);
        out += '\n';
    }
    return out;
}

std::string format_issuance_json(const std::vector<IssuanceRecord>& records) {
    auto name_or_null = [](const std::string& name) { return name.empty() ? "null" : json_string(name); };
    std::string out = "[";
    for (const IssuanceRecord& record : records) {
        out += out.size() == 1 ? "\n" : ",\n";
        out += "{\"serial\":" + json_string(record.serial) + ",\"subject\":" + json_string(record.subject) +
               ",\"not_before\":" + json_string(format_utc(record.not_before)) +
               ",\"not_after\":" + json_string(format_utc(record.not_after)) +
               ",\"operation\":" + json_string(operation_name(record.operation)) +
               ",\"client_subject\":" + name_or_null(record.client_subject) +
               ",\"ra_subject\":" + name_or_null(record.ra_subject) +
               ",\"issued_at\":" + json_string(format_utc(record.issued_at)) +
               ",\"certificate\":" + json_string(pem_encode(record.certificate_der, "CERTIFICATE")) + "}";
    }
    out += records.empty() ? "]\n" : "\n]\n";
    return out;
}

}  // namespace estgw::certs
