// POST /rv in full-server mode: the registrar side of constrained BRSKI (BRSKI.md §3; RFC 8995 §5.2-5.6;
// cBRSKI §6-§8). A job for the worker pool, answered as a separate response like an upstream call:
//
//   1  Content-Format 836, else 4.06 (D1)            }  mapping/coap_request.cpp refuses these before the
//   2  Accept absent or 836, else 4.06               }  job; checked again here for other fronts
//   3  a client certificate (the IDevID), else 4.01
//   4  policy: whose IDevIDs may start is --client-ca's to say. The DTLS handshake already refused an
//      IDevID that does not chain to one of its anchors (D7: refused in the handshake, not 4.04 on /rv); the
//      path that validated it is rebuilt here from the same anchors (for the RVR's x5bag), 4.04 if none
//   5-10  brski::check_pledge_voucher_request; a 4.01 (assertion or proximity: a man in the middle, RFC
//      8995 §5.2) also closes the DTLS session once the answer is sent
//   11 the MASA: the IDevID's id-pe-masa-url, else --masa-url, else 4.04 (D7: no resend fixes it; logged
//      as a configuration problem)
// then the RVR (brski/rvr.hpp) signed with --cert/--key, the MASA call (masa_client.hpp, §3.5 cache in
// voucher_cache.hpp) and its answer turned into the pledge's (BRSKI.md §3.6):
//   200 + voucher+cose            2.04 CF 836, x5bag/x5chain stripped; a body that is no COSE_Sign1
//                                 voucher, or another Content-Type: 5.02
//   202 + Retry-After             5.03 + Max-Age (Retry-After, 60 s when absent or unparseable)
//   403 / 404 / 406 / 415         4.03 / 4.04 / 4.06 / 4.15 with the MASA's text
//   400 / 401                     5.02 (D11: the fault is this registrar's, not the pledge's); logged as an
//                                 error for the administrator
//   503 [+ Retry-After]           5.03 + Max-Age; 504: 5.04; other status codes: 5.02
//   not reachable (connect)       5.03 + Max-Age 30
//   TLS failure, broken answer    5.02
//   timeout (--masa-timeout)      5.04
// Every refusal is logged with its reason (the MASA's text, or what failed) and recorded in the journal.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "certs/journal.hpp"
#include "common/est.hpp"
#include "common/openssl.hpp"
#include "common/result.hpp"
#include "gateway/masa_client.hpp"
#include "gateway/voucher_cache.hpp"

namespace estgw::gateway {

struct VoucherRegistrarConfig {
    std::string cert_file, key_file;  // --cert/--key: the DTLS identity, which signs the RVR
    std::string client_ca_file;       // --client-ca: the anchors the IDevID path is built to
    std::string domain_ca_file;       // --ca-cert: completes a --cert given without its chain; empty: none
    std::string masa_url;             // --masa-url, as given; empty: none
    MasaClientConfig masa;
    std::size_t cache_entries = 4096;
    std::chrono::seconds cache_lifetime{300};
};

// Why /rv cannot be served with this --cert, or nullopt when it can: the RVR signer must carry id-kp-cmcRA
// (cBRSKI §6.2, RFC 8995 §5.5.4: the MASA refuses an RVR signed without it).
std::optional<std::string> voucher_requests_unavailable(const X509* registrar_certificate);

class VoucherRegistrar {
  public:
    // Reads the files and checks the options (errors name them, Status::BadRequest). `journal` may be null.
    static Result<std::unique_ptr<VoucherRegistrar>> create(VoucherRegistrarConfig config,
                                                            certs::PledgeJournal* journal);

    // Blocking; worker threads only. Every wait ends by `deadline`.
    EstResponse process(const EstRequest& request, std::chrono::steady_clock::time_point deadline);

    // For shutdown, from any thread: MASA calls in progress end at once.
    void abort_calls() { masa_->abort_calls(); }

    struct Parts;  // the loaded configuration
    VoucherRegistrar(std::unique_ptr<Parts> parts, certs::PledgeJournal* journal);
    ~VoucherRegistrar();

  private:
    EstResponse call_masa(const std::string& base, const Bytes& rvr, const certs::JourneyEvent& pledge,
                          std::chrono::steady_clock::time_point deadline);
    void record(const certs::JourneyEvent& pledge, certs::JourneyStep step,
                std::vector<std::pair<std::string, std::string>> fields);
    EstResponse refuse(const certs::JourneyEvent* pledge, EstResponse answer, const std::string& detail = {});

    std::unique_ptr<Parts> parts_;
    certs::PledgeJournal* journal_;
    std::unique_ptr<MasaClient> masa_;
    VoucherCache cache_;
};

}  // namespace estgw::gateway
