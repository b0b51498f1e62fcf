// coap-client-openssl (Debian libcoap3-bin) as the reference pledge in end-to-end tests. It exits 0 even on
// errors, so outcomes are read from its -v 7 PDU log.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace estgw::test {

struct Credentials {
    std::string cert, key;  // empty: no client certificate
};

struct CoapOutcome {
    std::string code;                            // last response code, "2.04"; empty if none came back
    std::map<std::string, std::string> options;  // options of that response, "Max-Age" → "5"
    std::string diagnostic;                      // text payload of an error response
    std::string payload;                         // the body written with -o (whole, after Block2)
    std::string output;                          // everything the client printed
    int blocks_received = 0;                     // distinct Block2 numbers received
};

// The two DTLS stacks of Debian's libcoap3-bin: OpenSSL (the reference pledge) and GnuTLS.
inline constexpr const char* kCoapClientOpenSsl = "coap-client-openssl";
inline constexpr const char* kCoapClientGnuTls = "coap-client-gnutls";

// <program> -v 7 -B 30 -R trust [-c cert -j key] args... -o out_file url
std::vector<std::string> coap_client_command(const std::string& url, const std::vector<std::string>& args,
                                             const Credentials& who, const std::string& trust,
                                             const std::string& out_file,
                                             const std::string& program = kCoapClientOpenSsl);
// Runs the command (60 s at most) and reads the outcome and the -o file.
CoapOutcome run_coap_client(const std::vector<std::string>& argv, const std::string& out_file);
// One coap-client invocation: its argv and the -o file it writes.
struct CoapClientRun {
    std::vector<std::string> argv;
    std::string out_file;
};
// Starts every run at once and waits for all; the outcomes in the order of the runs.
std::vector<CoapOutcome> run_coap_clients_at_once(const std::vector<CoapClientRun>& runs);
// "v:1 t:ACK c:2.05 i:43c5 {01} [ ETag:0x01, Content-Format:281, Block2:0/M/64 ] :: 'text'" lines → outcome.
CoapOutcome parse_coap_client_output(const std::string& output);

}  // namespace estgw::test
