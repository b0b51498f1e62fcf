// `estgw pki init --dir DIR [--force]`: a throw-away PKI and configuration for trying full-server mode.
//
// Everything is P-256. Private keys are unencrypted PKCS#8 PEM created with mode 0600 from the start
// (open(2) with O_EXCL, never chmod afterwards); the rest is 0644 (subject to the umask).
//   ca.crt / ca.key             domain CA (self-signed) that full-server mode issues from
//   server.crt / server.key     from ca: EKU serverAuth, clientAuth, id-kp-cmcRA (RFC 9148 §9.2, cBRSKI
//   §7.4);
//                               SAN DNS:localhost, IP:127.0.0.1, IP:::1
//   mfg-ca.crt / mfg-ca.key     a manufacturer CA (self-signed)
//   pledge.crt / pledge.key     IDevID-style, from mfg-ca: serialNumber in the subject (RFC 8995 §2.3.1) and
//                               id-pe-masa-url (RFC 8995 §2.3.2) = IA5String "https://localhost:9443"
//   client-trust.pem            mfg-ca then ca: the client certificates the DTLS front accepts
//   estgw.conf                  mode = server with the files above, listen [::]:5684, db DIR/estgw.db
// All paths written into estgw.conf are absolute, so it works from any directory. estgw.db itself is not
// created (the server does that) and is left alone by --force.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace estgw::certs {

inline constexpr const char* kOidMasaUrl = "1.3.6.1.5.5.7.1.32";  // id-pe-masa-url
inline constexpr const char* kDemoMasaUrl = "https://localhost:9443";

struct DemoPki {
    std::filesystem::path dir;  // absolute
    std::filesystem::path ca_cert, ca_key;
    std::filesystem::path server_cert, server_key;
    std::filesystem::path mfg_ca_cert, mfg_ca_key;
    std::filesystem::path pledge_cert, pledge_key;
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

// Creates `dir` if needed and writes everything. Without `force`, any existing file is PreconditionFailed
// and nothing is written; with it, existing files are replaced (unlinked first, so keys get 0600 even if
// the old file had another mode). `db` is the database estgw.conf names (empty: DIR/estgw.db), e.g. in a
// volume of its own.
Result<DemoPki> init_demo_pki(const std::filesystem::path& dir, bool force,
                              const std::filesystem::path& db = {});

// The estgw.conf text for these paths.
std::string demo_config_text(const DemoPki& pki);

}  // namespace estgw::certs
