#include "certs/demo_pki.hpp"

#include "certs/database.hpp"
#include "common/file_descriptor.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <utility>

#include "certs/ca.hpp"
#include "certs/keygen.hpp"
#include "common/keys.hpp"
#include "common/pem.hpp"
#include "common/x509.hpp"

namespace estgw::certs {

namespace {

constexpr mode_t kPrivateMode = 0600;
constexpr mode_t kPublicMode = 0644;
constexpr int kCaDays = 10 * 365;
constexpr int kServerDays = 825;
constexpr int kMasaTlsDays = 825;
constexpr int kMasaSigningDays = 10 * 365;

struct NameEntry {
    int nid;
    std::string value;
};

Error file_error(const std::filesystem::path& path, std::string_view what, int error) {
    return make_error(Status::Internal,
                      std::string(what) + " '" + path.string() + "': " + std::strerror(error));
}

// Creates `path` with `mode` (never widening an existing file's mode: it is unlinked first under `force`,
// and O_EXCL refuses anything that appeared meanwhile, symlinks included).
Result<void> write_new_file(const std::filesystem::path& path, std::string_view contents, mode_t mode,
                            bool force) {
    if (force && ::unlink(path.c_str()) != 0 && errno != ENOENT)
        return file_error(path, "cannot replace", errno);
    FileDescriptor fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
    if (fd.get() < 0) return file_error(path, "cannot create", errno);
    std::size_t written = 0;
    while (written < contents.size()) {
        const ssize_t n = ::write(fd.get(), contents.data() + written, contents.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return file_error(path, "cannot write", errno);
        written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0) return file_error(path, "cannot sync", errno);
    if (::close(fd.release()) != 0) return file_error(path, "cannot close", errno);
    return {};
}

Result<X509NamePtr> make_name(const std::vector<NameEntry>& entries) {
    X509NamePtr name(X509_NAME_new());
    if (!name) return openssl_error(Status::Internal, "demo PKI", "X509_NAME_new");
    for (const NameEntry& entry : entries) {
        // OpenSSL picks the string type per attribute: UTF8String for CN and O, PrintableString for
        // serialNumber (RFC 5280 App. A).
        if (X509_NAME_add_entry_by_NID(name.get(), entry.nid, MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(entry.value.data()),
                                       static_cast<int>(entry.value.size()), -1, 0) != 1) {
            return openssl_error(Status::Internal, "demo PKI", "name entry " + entry.value);
        }
    }
    return name;
}

// The TLS server names of the registrar and of the MASA: both are served on this host.
Result<GeneralNamesPtr> localhost_names() {
    // "DNS:localhost,IP:127.0.0.1,IP:::1" in OpenSSL's configuration syntax, parsed without a config file.
    X509ExtensionPtr extension(
        X509V3_EXT_nconf_nid(nullptr, nullptr, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1"));
    if (!extension) return openssl_error(Status::Internal, "demo PKI", "server subjectAltName");
    GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(extension.get())));
    if (!names) return openssl_error(Status::Internal, "demo PKI", "server subjectAltName");
    return names;
}

// id-pe-masa-url: MASAURLSyntax ::= IA5String (RFC 8995 §2.3.2).
Result<Bytes> masa_url_extension_value(std::string_view url) {
    std::unique_ptr<ASN1_IA5STRING, OpensslDeleter<ASN1_IA5STRING, ASN1_IA5STRING_free>> text(
        ASN1_IA5STRING_new());
    if (!text || ASN1_STRING_set(text.get(), url.data(), static_cast<int>(url.size())) != 1) {
        return openssl_error(Status::Internal, "demo PKI", "masa-url");
    }
    return i2d_bytes(text.get(), i2d_ASN1_IA5STRING);
}

// "ESTGW-" and eight random hex digits: PrintableString-safe and different for every demo PKI.
Result<std::string> random_serial_number() {
    unsigned char octets[4];
    if (RAND_bytes(octets, sizeof octets) != 1) return openssl_error(Status::Internal, "demo PKI", "random");
    std::string text = to_hex(ByteView(octets, sizeof octets));
    for (char& c : text)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return "ESTGW-" + text;
}

Result<std::string> certificate_pem(const X509* cert) {
    ESTGW_TRY(der, certificate_to_der(cert));
    return pem_encode(der, "CERTIFICATE");
}

Result<void> write_key(const std::filesystem::path& path, const EVP_PKEY* key, bool force) {
    ESTGW_TRY(der, private_key_to_pkcs8_der(key));
    std::string pem = pem_encode(der, "PRIVATE KEY");
    auto written = write_new_file(path, pem, kPrivateMode, force);
    OPENSSL_cleanse(der.data(), der.size());
    OPENSSL_cleanse(pem.data(), pem.size());
    return written;
}

Result<void> write_certificate(const std::filesystem::path& path, const X509* cert, bool force) {
    ESTGW_TRY(pem, certificate_pem(cert));
    return write_new_file(path, pem, kPublicMode, force);
}

Result<EvpPkeyPtr> new_key() {
    return generate_key(KeyType{KeyAlgorithm::P256, 0});
}

bool is_ldh_label(std::string_view label) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
        if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-') return false;
    }
    return true;
}

Result<void> check_host_name(std::string_view host) {
    if (host.size() > 253)
        return make_error(Status::BadRequest, "the host name is longer than 253 characters");
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = host.find('.', start);
        if (!is_ldh_label(host.substr(start, dot == std::string_view::npos ? dot : dot - start))) {
            return make_error(Status::BadRequest,
                              "'" + std::string(host) +
                                  "' is not a host name or IPv4 address (letters, digits, "
                                  "'-' and '.', no empty label)");
        }
        if (dot == std::string_view::npos) return {};
        start = dot + 1;
    }
}

Result<void> check_port(std::string_view port) {
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos ||
        std::stoul(std::string(port)) == 0 || std::stoul(std::string(port)) > 65535) {
        return make_error(Status::BadRequest, "the port '" + std::string(port) + "' is not in 1..65535");
    }
    return {};
}

}  // namespace

Result<void> check_masa_authority(std::string_view authority) {
    auto refused = [&](const std::string& why) {
        return make_error(Status::BadRequest, "--masa-authority '" + std::string(authority) + "': " + why +
                                                  " (HOST:PORT or [IPv6]:PORT)");
    };
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos || close + 1 >= authority.size() || authority[close + 1] != ':') {
            return refused("no ']:' after the IPv6 address");
        }
        const std::string address(authority.substr(1, close - 1));
        in6_addr parsed{};
        if (::inet_pton(AF_INET6, address.c_str(), &parsed) != 1) {
            return refused("'" + address + "' is not an IPv6 address");
        }
        port = authority.substr(close + 2);
    } else {
        const std::size_t colon = authority.rfind(':');
        if (colon == std::string_view::npos) return refused("no port");
        const std::string_view host = authority.substr(0, colon);
        if (host.find(':') != std::string_view::npos) {
            return refused("an IPv6 address goes in brackets");
        }
        if (auto r = check_host_name(host); !r) return refused(r.error().message);
        port = authority.substr(colon + 1);
    }
    if (auto r = check_port(port); !r) return refused(r.error().message);
    return {};
}

std::vector<std::filesystem::path> DemoPki::files() const {
    return {ca_cert,    ca_key,    server_cert, server_key,     mfg_ca_cert,   mfg_ca_key,   pledge_cert,
            pledge_key, masa_cert, masa_key,    masa_sign_cert, masa_sign_key, client_trust, config};
}

DemoPki demo_pki_paths(const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::path absolute = std::filesystem::absolute(dir, ec);
    if (ec) absolute = dir;
    absolute = absolute.lexically_normal();
    DemoPki pki;
    pki.dir = absolute;
    pki.ca_cert = absolute / "ca.crt";
    pki.ca_key = absolute / "ca.key";
    pki.server_cert = absolute / "server.crt";
    pki.server_key = absolute / "server.key";
    pki.mfg_ca_cert = absolute / "mfg-ca.crt";
    pki.mfg_ca_key = absolute / "mfg-ca.key";
    pki.pledge_cert = absolute / "pledge.crt";
    pki.pledge_key = absolute / "pledge.key";
    pki.masa_cert = absolute / "masa.crt";
    pki.masa_key = absolute / "masa.key";
    pki.masa_sign_cert = absolute / "masa-sign.crt";
    pki.masa_sign_key = absolute / "masa-sign.key";
    pki.client_trust = absolute / "client-trust.pem";
    pki.config = absolute / "estgw.conf";
    pki.db = absolute / "estgw.db";
    return pki;
}

bool demo_pki_present(const std::filesystem::path& dir) {
    std::error_code ec;
    for (const auto& file : demo_pki_paths(dir).files()) {
        if (!std::filesystem::exists(file, ec)) return false;
    }
    return true;
}

std::string demo_config_text(const DemoPki& pki) {
    return "# estgw full-server demo configuration, written by `estgw pki init`.\n"
           "# The keys beside it are unencrypted: for trying estgw out, not for production.\n"
           "mode = server\n"
           "listen = [::]:5684\n"
           "cert = " +
           pki.server_cert.string() + "\n" + "key = " + pki.server_key.string() + "\n" +
           "client-ca = " + pki.client_trust.string() + "\n" + "ca-cert = " + pki.ca_cert.string() + "\n" +
           "ca-key = " + pki.ca_key.string() + "\n" + "db = " + pki.db.string() + "\n" +
           "# the demo MASA's TLS certificate (masa.crt) is issued by the manufacturer CA\n" +
           "masa-ca = " + pki.mfg_ca_cert.string() + "\n";
}

Result<DemoPki> init_demo_pki(const std::filesystem::path& dir, bool force, std::string_view masa_authority,
                              const std::filesystem::path& db) {
    if (auto r = check_masa_authority(masa_authority); !r) return r.error();
    DemoPki pki = demo_pki_paths(dir);
    if (is_postgres_uri(db.string())) {
        pki.db = db;  // a URI, not a path to make absolute
    } else if (!db.empty()) {
        std::error_code ec;
        const std::filesystem::path absolute = std::filesystem::absolute(db, ec);
        pki.db = (ec ? db : absolute).lexically_normal();
    }
    if (!force) {
        for (const auto& file : pki.files()) {
            std::error_code ec;
            if (std::filesystem::exists(std::filesystem::symlink_status(file, ec))) {
                return make_error(Status::PreconditionFailed,
                                  file.string() + " already exists; use --force to replace the demo PKI");
            }
        }
    }
    std::error_code ec;
    std::filesystem::create_directories(pki.dir, ec);
    if (ec) return make_error(Status::Internal, "cannot create '" + pki.dir.string() + "': " + ec.message());

    ESTGW_TRY(ca_key, new_key());
    ESTGW_TRY(ca_name,
              make_name({{NID_commonName, "estgw demo domain CA"}, {NID_organizationName, "estgw demo"}}));
    ESTGW_TRY(ca, IssuingCa::create_self_signed(ca_name.get(), std::move(ca_key), kCaDays));

    ESTGW_TRY(server_key, new_key());
    ESTGW_TRY(server_name, make_name({{NID_commonName, "localhost"}, {NID_organizationName, "estgw demo"}}));
    ESTGW_TRY(server_sans, localhost_names());
    IssuanceProfile server_profile;
    server_profile.validity_days = kServerDays;
    server_profile.extended_key_usages = {NID_server_auth, NID_client_auth, NID_cmcRA};
    ESTGW_TRY(server_cert,
              ca.issue(IssueRequest{server_name.get(), server_sans.get(), server_key.get()}, server_profile));

    ESTGW_TRY(mfg_key, new_key());
    ESTGW_TRY(mfg_name, make_name({{NID_commonName, "estgw demo manufacturer CA"},
                                   {NID_organizationName, "estgw demo manufacturer"}}));
    // 802.1AR IDevIDs never expire; a CA that did would cut their notAfter to its own.
    ESTGW_TRY(mfg, IssuingCa::create_self_signed(mfg_name.get(), std::move(mfg_key), kCaDays, true));

    ESTGW_TRY(pledge_key, new_key());
    ESTGW_TRY(serial_number, random_serial_number());
    ESTGW_TRY(pledge_name, make_name({{NID_commonName, "estgw demo pledge"},
                                      {NID_serialNumber, serial_number},
                                      {NID_organizationName, "estgw demo manufacturer"}}));
    ESTGW_TRY(masa_url, masa_url_extension_value(masa_authority));
    IssuanceProfile pledge_profile;
    pledge_profile.no_well_defined_expiration = true;
    pledge_profile.extended_key_usages = {NID_client_auth};
    pledge_profile.extra_extensions = {CustomExtension{kOidMasaUrl, false, std::move(masa_url)}};
    ESTGW_TRY(pledge_cert,
              mfg.issue(IssueRequest{pledge_name.get(), nullptr, pledge_key.get()}, pledge_profile));
    pki.pledge_serial_number = serial_number;

    ESTGW_TRY(masa_key, new_key());
    ESTGW_TRY(masa_name,
              make_name({{NID_commonName, "localhost"}, {NID_organizationName, "estgw demo manufacturer"}}));
    ESTGW_TRY(masa_sans, localhost_names());
    IssuanceProfile masa_profile;
    masa_profile.validity_days = kMasaTlsDays;
    masa_profile.extended_key_usages = {NID_server_auth};
    ESTGW_TRY(masa_cert,
              mfg.issue(IssueRequest{masa_name.get(), masa_sans.get(), masa_key.get()}, masa_profile));

    ESTGW_TRY(masa_sign_key, new_key());
    ESTGW_TRY(masa_sign_name, make_name({{NID_commonName, "estgw demo MASA voucher signing"},
                                         {NID_organizationName, "estgw demo manufacturer"}}));
    IssuanceProfile masa_sign_profile;
    masa_sign_profile.validity_days = kMasaSigningDays;
    masa_sign_profile.extended_key_usages = {};
    ESTGW_TRY(masa_sign_cert,
              mfg.issue(IssueRequest{masa_sign_name.get(), nullptr, masa_sign_key.get()}, masa_sign_profile));

    ESTGW_TRY(mfg_pem, certificate_pem(mfg.certificate()));
    ESTGW_TRY(ca_pem, certificate_pem(ca.certificate()));
    const struct {
        const std::filesystem::path& path;
        const X509* cert;
    } certificates[] = {{pki.ca_cert, ca.certificate()},      {pki.server_cert, server_cert.get()},
                        {pki.mfg_ca_cert, mfg.certificate()}, {pki.pledge_cert, pledge_cert.get()},
                        {pki.masa_cert, masa_cert.get()},     {pki.masa_sign_cert, masa_sign_cert.get()}};
    const struct {
        const std::filesystem::path& path;
        const EVP_PKEY* key;
    } keys[] = {{pki.ca_key, ca.private_key()},      {pki.server_key, server_key.get()},
                {pki.mfg_ca_key, mfg.private_key()}, {pki.pledge_key, pledge_key.get()},
                {pki.masa_key, masa_key.get()},      {pki.masa_sign_key, masa_sign_key.get()}};
    for (const auto& key : keys) {
        if (auto r = write_key(key.path, key.key, force); !r) return r.error();
    }
    for (const auto& cert : certificates) {
        if (auto r = write_certificate(cert.path, cert.cert, force); !r) return r.error();
    }
    if (auto r = write_new_file(pki.client_trust, mfg_pem + ca_pem, kPublicMode, force); !r) return r.error();
    if (auto r = write_new_file(pki.config, demo_config_text(pki), kPublicMode, force); !r) return r.error();
    return pki;
}

}  // namespace estgw::certs
