// `estgw pki init --dir DIR [--force] [--masa-authority HOST:PORT]`: a throw-away PKI and configuration for
// trying full-server mode and constrained BRSKI (a registrar, a pledge and its manufacturer's MASA).
//
// Everything is P-256. Private keys are unencrypted PKCS#8 PEM created with mode 0600 from the start
// (open(2) with O_EXCL, never chmod afterwards); the rest is 0644 (subject to the umask).
//   ca.crt / ca.key             domain CA (self-signed) that full-server mode issues from
//   server.crt / server.key     from ca: EKU serverAuth, clientAuth, id-kp-cmcRA (RFC 9148 §9.2, cBRSKI
//                               §7.4); SAN DNS:localhost, IP:127.0.0.1, IP:::1
//   mfg-ca.crt / mfg-ca.key     a manufacturer CA (self-signed), notAfter 99991231235959Z like its IDevIDs
//   pledge.crt / pledge.key     IDevID-style, from mfg-ca: serialNumber in the subject (RFC 8995 §2.3.1),
//                               id-pe-masa-url (RFC 8995 §2.3.2) = IA5String of the MASA authority
//                               ("localhost:9443": no "/", so authority only, BRSKI.md §3.4), notAfter
//                               99991231235959Z (802.1AR: IDevIDs do not expire)
//   masa.crt / masa.key         the MASA's TLS server certificate, from mfg-ca: EKU serverAuth, SAN
//                               DNS:localhost, IP:127.0.0.1, IP:::1
//   masa-sign.crt / .key        the MASA's voucher signing certificate, from mfg-ca: keyUsage
//                               digitalSignature and no EKU (none is defined for vouchers; RFC 8995 §5.6
//                               and 8366bis name none, and a pledge checks the key against its anchor)
//   client-trust.pem            mfg-ca then ca: the client certificates the DTLS front accepts
//   estgw.conf                  mode = server with the files above, listen [::]:5684, db DIR/estgw.db
// All paths written into estgw.conf are absolute, so it works from any directory. estgw.db itself is not
// created (the server does that) and is left alone by --force.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace estgw::certs {

inline constexpr const char* kOidMasaUrl = "1.3.6.1.5.5.7.1.32";  // id-pe-masa-url
inline constexpr const char* kDemoMasaAuthority = "localhost:9443";

struct DemoPki {
    std::filesystem::path dir;  // absolute
    std::filesystem::path ca_cert, ca_key;
    std::filesystem::path server_cert, server_key;
    std::filesystem::path mfg_ca_cert, mfg_ca_key;
    std::filesystem::path pledge_cert, pledge_key;
    std::filesystem::path masa_cert, masa_key;
    std::filesystem::path masa_sign_cert, masa_sign_key;
    std::filesystem::path client_trust;
    std::filesystem::path config;
    std::filesystem::path db;
    std::string pledge_serial_number;  // the subject serialNumber of pledge.crt (empty from demo_pki_paths)

    // Every file init_demo_pki writes (not db), keys included.
    std::vector<std::filesystem::path> files() const;
};

// Where the files of a demo PKI in `dir` live (nothing is read or written).
DemoPki demo_pki_paths(const std::filesystem::path& dir);

// True when every file of files() exists: `estgw run` can skip generating one.
bool demo_pki_present(const std::filesystem::path& dir);

// Checks a MASA authority for id-pe-masa-url: "host:port" with a DNS name or IPv4 address (letters,
// digits, '-' and '.'), or "[IPv6]:port"; the port 1..65535. BadRequest naming the problem otherwise.
Result<void> check_masa_authority(std::string_view authority);

// Creates `dir` if needed and writes everything. Without `force`, any existing file is PreconditionFailed
// and nothing is written; with it, existing files are replaced (unlinked first, so keys get 0600 even if
// the old file had another mode). An invalid `masa_authority` is BadRequest, before anything is written.
// `db` is the database estgw.conf names (empty: DIR/estgw.db), e.g. in a volume of its own.
Result<DemoPki> init_demo_pki(const std::filesystem::path& dir, bool force,
                              std::string_view masa_authority = kDemoMasaAuthority,
                              const std::filesystem::path& db = {});

// The estgw.conf text for these paths.
std::string demo_config_text(const DemoPki& pki);

}  // namespace estgw::certs
