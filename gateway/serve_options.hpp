// `estgw serve`: every option on the command line and in an INI-style --config file (the command line wins),
// validated up front so that a bad configuration stops the process with a message naming the option and the
// fix (exit 2) instead of failing on the first request.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/log.hpp"
#include "common/result.hpp"
#include "gateway/upstream_client.hpp"
#include "mapping/http_request.hpp"
#include "mapping/paths.hpp"

namespace estgw::gateway {

enum class Mode { Gateway, Server };

struct ListenAddress {
    std::string host;  // without brackets
    int port = 5684;
    std::string text() const;  // "[::]:5684" / "127.0.0.1:5684"
};
Result<ListenAddress> parse_listen_address(std::string_view text);

// What the CoAP front lets DTLS sessions hold. libcoap 4.3.1's own defaults (100 handshakes at once, idle
// sessions unbounded, the kernel's ~200 KB socket buffer) made concurrent new-session enrollments collapse
// from 100 pledges on: ClientHellos beyond the handshake limit are ignored and datagrams of a burst dropped,
// and each costs the pledge a DTLS retransmission timeout (1 s, then 2 s, ...). docs/BENCHMARKS.md.
struct SessionLimits {
    unsigned max_handshakes = 1000;             // handshakes at once; beyond it the oldest gives way
    unsigned max_handshakes_per_address = 250;  // handshakes at once from one IP address; more are dropped
    std::chrono::seconds handshake_timeout{8};  // a handshake not finished by then is ended
    unsigned max_idle_sessions = 10000;         // 0: unbounded; beyond it the least recently used is closed
    std::chrono::seconds idle_timeout{300};     // an idle session is closed after this long
    std::size_t udp_receive_buffer = 4 << 20;   // SO_RCVBUF of each listening socket; 0: the system default
};

// What the HTTPS front lets a client hold. cpp-httplib gave each connection a thread of a pool of 8 from the
// moment of accept: 500 idle TCP connections made a legitimate request wait 58 s. Now a connection holds no
// thread until its whole request head has arrived, and each stage before that has its own time limit.
// docs/BENCHMARKS.md, "HTTPS front under idle connections".
struct HttpsLimits {
    std::chrono::seconds handshake_timeout{10};  // from accept to the end of the TLS handshake
    std::chrono::seconds header_timeout{10};     // for a request head once it began (for the first: from
                                                 // the handshake's end); the body then has as long again
    std::chrono::seconds keepalive_timeout{5};   // between requests, for the next one's first byte
    unsigned max_connections = 4096;             // open at once, in any stage; more are refused at accept
    unsigned max_connections_per_address = 64;   // the same from one IPv4 address or IPv6 /64
};

struct ServeOptions {
    Mode mode = Mode::Gateway;
    std::vector<ListenAddress> listen;
    std::string cert_file, key_file, client_ca_file;  // DTLS identity and accepted client issuers
    mapping::RouteConfig routes;  // roots, body limit and the RFC 7030 §3.2.2 labels served under every root
    std::chrono::seconds block_timeout{30};  // an incomplete Block1 body with no new block is dropped
    std::size_t workers = 2;
    std::size_t io_threads = 1;  // CoAP fronts, each a libcoap context on its own thread (coap_fronts.hpp)
    std::size_t queue_limit = 1024;  // jobs waiting for a worker before 5.03 + Max-Age
    // After SIGTERM/SIGINT, how long the requests in flight get to be answered; unset: the request
    // deadline plus 5 s.
    std::optional<std::chrono::seconds> drain_timeout;
    SessionLimits sessions;
    std::optional<ListenAddress> metrics_listen;  // plain HTTP: /metrics and /healthz (metrics_server.hpp)
    log::Level log_level = log::Level::Info;
    std::string keylog_file;  // debug only: TLS secrets for tshark

    // gateway mode
    UpstreamClientConfig upstream;
    mapping::UpstreamConfig upstream_mapping;
    std::chrono::seconds crts_refresh{300};
    std::size_t upstream_connections = 32;  // upstream requests in flight at once (threads and connections)

    // server mode
    std::string ca_cert_file, ca_key_file;  // the issuing CA (PEM; the certificate file may carry its chain)
    std::string db_file = "./estgw.db";
    std::optional<ListenAddress> https_listen;  // RFC 7030 over HTTPS for regular devices
    HttpsLimits https_limits;
    std::optional<std::string> trust_forwarded_client_cert;  // header an RA forwards client certificates in
    unsigned validity_days = 365;
    std::string csrattrs_file;  // empty: the built-in default
    std::string key_types = "p256,p384,ed25519,rsa2048";
    bool require_tls_unique = false;
    // Enrollment over an IDevID needs a voucher issued through this registrar (BRSKI, issue 13 §1).
    bool require_voucher = false;
    std::string kek_file;  // shared AES keys for DecryptKeyIdentifier (encrypted server-generated keys)
    // The registrar's MASA side (POST /rv, voucher_registrar.hpp): the MASA for IDevIDs that name none, its
    // trust anchors (empty: the system's), our TLS identity towards it (empty: cert_file/key_file).
    std::string masa_url, masa_ca_file, masa_cert_file, masa_key_file;
    std::chrono::seconds masa_timeout{30};
};

struct ParsedCommand {
    bool help = false;  // --help was given: usage printed, nothing to run
    ServeOptions options;
    std::string config_file;  // --config, empty without it
    // Options of the other mode that came from the --config file while --mode on the command line chose the
    // mode: not used, worth a warning.
    std::vector<std::string> ignored_config_options;
};

// argv without the program name and the "serve" word. Errors are Status::BadRequest with the message to
// print: no arguments at all get how to start; an unknown option the closest known one; a mistake in the
// --config file its FILE:LINE.
Result<ParsedCommand> parse_serve_options(const std::vector<std::string>& args, std::ostream& help_out);

}  // namespace estgw::gateway
