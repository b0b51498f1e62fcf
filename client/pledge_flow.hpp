// `estgw pledge`: a simulated constrained-BRSKI pledge (cBRSKI; RFC 8995 §5; BRSKI.md §5), from the
// factory identity to an LDevID:
//   dtls     handshake with the IDevID, the server trusted provisionally (its chain kept);
//   rv       a voucher request (PVR) signed with the IDevID key, resent unchanged after 5.03 + Max-Age;
//   voucher  the checks of brski/pledge_voucher_check.hpp against --masa-anchor and this session;
//   vs       voucher status telemetry (a refused voucher is reported with the check that failed);
//   sen      a new P-256 key, a CSR with the IDevID subject unchanged;
//   crts     only when the pinned CA is not a root that signed the LDevID: the LDevID must chain to one of
//            the CAs it returns (cBRSKI §6.7.1);
//   es       enrollment status, over a new DTLS session made with the LDevID (RFC 8995 §5.9.4 SHOULD).
// Each step prints one line when it ends: "<step>: <result> (<n> ms)".
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "client/coap_client.hpp"

namespace estgw::client {

struct PledgeOptions {
    CoapsUrl url;  // its root is the EST root; the BRSKI resources are under /.well-known/brski
    std::string idevid_file, key_file, masa_anchor_file;
    std::filesystem::path out_dir;
    std::chrono::seconds max_wait{300};  // all 5.03 waits of one request together
    std::chrono::seconds timeout{30};    // for each answer
};

// Runs the whole flow and returns the exit code: 0 enrolled; 1 refused (the message names the step and the
// CoAP code or the voucher check); 2 unusable files; 3 no answer.
int run_pledge_flow(const PledgeOptions& options);

}  // namespace estgw::client
