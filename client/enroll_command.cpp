// `estgw enroll`: an EST-coaps pledge (RFC 9148) on libcoap's client API. One operation per run: build the
// request (generating the key and CSR when needed), repeat it while the server answers 5.03 + Max-Age
// (RFC 9148 §4.7) within --max-wait, and write what came back.
#include <openssl/evp.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <iostream>

#include "certs/keygen.hpp"
#include "client/client_csr.hpp"
#include "client/client_key_protection.hpp"
#include "client/client_options.hpp"
#include "client/coap_client.hpp"
#include "client/commands.hpp"
#include "client/enroll_results.hpp"
#include "client/repeated_request.hpp"
#include "common/x509.hpp"
#include "mapping/link_format.hpp"
#include "mapping/resources.hpp"

namespace po = boost::program_options;

namespace estgw::client {

namespace {

// clang-format off
constexpr const char* kUsage =
    "Usage: estgw enroll --server coaps://HOST[:PORT][/root] --cert FILE --key FILE\n"
    "                    (--ca FILE | --insecure-bootstrap) [--op crts|sen|sren|att|skg|skc]\n"
    "                    [--csr FILE | --new-key p256|p384|ed25519|rsa2048] [--subject DN] [--accept 281|287]\n"
    "                    [--block SIZE] [--out DIR] [--max-wait SECONDS] [--timeout SECONDS] [--discover]\n"
    "                    [--kek-file FILE [--kek-id HEX] | --encrypt-to-cert]\n"
    "\n"
    "An EST-coaps pledge (RFC 9148): authenticates with --cert/--key over DTLS, runs one operation, writes the\n"
    "results into --out and prints one summary line.\n"
    "  crts  CA certificates                                   -> ca.pem\n"
    "  sen   enroll a new key (--new-key, P-256 by default)    -> key.pem (mode 0600), cert.pem\n"
    "  sren  re-enroll the --cert identity: the CSR is signed with --key (renew), or with a --new-key (rekey)\n"
    "                                                          -> cert.pem, and key.pem when rekeyed\n"
    "  att   CSR attributes                                    -> csrattrs.der\n"
    "  skg   server-generated key, certificate in certs-only   -> key.pem (0600), cert.pem\n"
    "  skc   as skg, the certificate as pkix-cert\n"
    "skg and skc ask for the key encrypted (RFC 7030 §4.4.1) with --kek-file (a shared AES key, picked by\n"
    "--kek-id) or --encrypt-to-cert (to --cert), and decrypt it into key.pem; the encrypted key (Content-Format\n"
    "280, CMS DER) is kept as key.p7 (0600). An encrypted key not asked for is only written as key.p7.\n"
    "The CSR carries --subject, or else the subject and subjectAltName of --cert (which sren must keep,\n"
    "RFC 7030 §4.2.2). --csr sends a ready CSR (PEM or DER) instead; no key.pem is written then.\n"
    "On 5.03 with Max-Age (60 s when absent) the identical request is repeated after Max-Age seconds, as long\n"
    "as the total wait stays within --max-wait. --discover asks /.well-known/core?rt=ace.est* and uses the root\n"
    "advertised for the operation. --insecure-bootstrap (labs only) fetches crts once WITHOUT verifying the\n"
    "server, pins what it returned as ca.pem and continues with it as --ca.\n"
    "\n"
    "Exit status: 0 success; 1 the server refused or answered something unusable (the message names the CoAP\n"
    "code and its diagnostic); 2 bad usage or configuration; 3 no answer (unreachable, DTLS handshake failed,\n"
    "timeout).";
// clang-format on

struct EnrollOptions {
    ClientOptions client;
    const mapping::Resource* resource = nullptr;
    std::optional<std::string> csr_file, new_key, subject;
    std::optional<unsigned> accept;
    std::filesystem::path out_dir;
    std::chrono::seconds max_wait{0};
    bool discover = false;
    bool insecure_bootstrap = false;
    ClientKeyProtection key_protection;  // skg, skc
};

int fail(int exit_code, const std::string& message) {
    std::cerr << "estgw enroll: " << message << "\n";
    return exit_code;
}

// CoapClient reports "no answer" as UpstreamTimeout/UpstreamFailed; everything else after the request went
// out is the server's refusal or an answer we cannot use.
int exit_code_for(const Error& error) {
    return error.status == Status::UpstreamTimeout || error.status == Status::UpstreamFailed ? kExitNoAnswer
                                                                                             : kExitFailure;
}

Error usage_error(std::string message) {
    return make_error(Status::BadRequest, std::move(message));
}

Result<EnrollOptions> read_options(const po::variables_map& vm) {
    EnrollOptions o;
    ESTGW_TRY(client, read_client_options(vm));
    o.client = std::move(client);
    std::string op = vm["op"].as<std::string>();
    o.resource = mapping::find_resource_by_short_name(mapping::Family::Est, op);
    if (!o.resource) return usage_error("--op: '" + op + "' is not one of crts, sen, sren, att, skg, skc");
    o.insecure_bootstrap = vm["insecure-bootstrap"].as<bool>();
    if (o.insecure_bootstrap && !o.client.identity.ca_file.empty())
        return usage_error("--ca and --insecure-bootstrap exclude each other");
    if (!o.insecure_bootstrap && o.client.identity.ca_file.empty())
        return usage_error("--ca is required (--insecure-bootstrap instead, in a lab only)");
    if (vm.count("csr")) o.csr_file = vm["csr"].as<std::string>();
    if (vm.count("new-key")) o.new_key = vm["new-key"].as<std::string>();
    if (vm.count("subject")) o.subject = vm["subject"].as<std::string>();
    const bool takes_csr = !o.resource->request_formats.empty();
    if (!takes_csr && (o.csr_file || o.new_key || o.subject))
        return usage_error("--csr, --new-key and --subject are for sen, sren, skg and skc");
    if (o.csr_file && (o.new_key || o.subject)) return usage_error("--csr excludes --new-key and --subject");
    ESTGW_TRY(protection,
              read_key_protection_options(vm, o.resource->op, o.csr_file.has_value(),
                                          o.client.identity.cert_file, o.client.identity.key_file));
    o.key_protection = std::move(protection);
    if (o.new_key && !client_key_type(*o.new_key))
        return usage_error("--new-key: '" + *o.new_key + "' is not one of " + kClientKeyTypes);
    if (vm.count("accept")) {
        unsigned accept = vm["accept"].as<unsigned>();
        const auto& formats = o.resource->response_formats;
        bool servable =
            std::find(formats.begin(), formats.end(), static_cast<ContentFormat>(accept)) != formats.end();
        if ((accept != 281 && accept != 287) || !servable)
            return usage_error("--accept: 281 or 287, for crts, sen and sren");
        o.accept = accept;
    }
    o.out_dir = vm["out"].as<std::string>();
    o.max_wait = std::chrono::seconds(vm["max-wait"].as<unsigned>());
    o.discover = vm["discover"].as<bool>();
    return o;
}

// The CSR to send and the keys behind it.
struct PreparedCsr {
    Bytes der;               // empty for crts and att
    EvpPkeyPtr signing_key;  // null when --csr gave the request
    bool new_key = false;    // signing_key was generated here
};

Result<PreparedCsr> prepare_csr(const EnrollOptions& o) {
    PreparedCsr out;
    if (o.resource->request_formats.empty()) return out;
    if (o.csr_file) {
        ESTGW_TRY(der, read_csr_file(*o.csr_file));
        out.der = std::move(der);
        return out;
    }
    ESTGW_TRY(cert, read_certificate_file(o.client.identity.cert_file));
    X509NamePtr subject;
    const X509_EXTENSION* san = nullptr;
    if (o.subject) {
        ESTGW_TRY(parsed, parse_subject(*o.subject));
        subject = std::move(parsed);
    } else {
        subject.reset(X509_NAME_dup(X509_get_subject_name(cert.get())));
        san = subject_alt_name(cert.get());
    }
    if (!subject) return openssl_error(Status::Internal, "CSR", "subject");
    if (o.resource->op == Operation::SimpleReenroll && !o.new_key) {
        // Renewal: the same key signs the request (RFC 7030 §4.2.2).
        ESTGW_TRY(current, read_private_key_file(o.client.identity.key_file));
        out.signing_key = std::move(current);
    } else {
        ESTGW_TRY(generated, certs::generate_key(*client_key_type(o.new_key.value_or("p256"))));
        out.signing_key = std::move(generated);
        out.new_key = true;
    }
    ESTGW_TRY(attributes, key_protection_attributes(o.key_protection));
    ESTGW_TRY(der, build_csr(out.signing_key.get(), subject.get(), san, attributes));
    out.der = std::move(der);
    return out;
}

CoapRequest make_request(const mapping::Resource& resource, const std::string& root, const EnrollOptions& o,
                         const Bytes& body) {
    CoapRequest r;
    r.method = resource.method == mapping::CoapMethod::Get ? COAP_REQUEST_CODE_GET : COAP_REQUEST_CODE_POST;
    r.path = path_segments(root);
    r.path.emplace_back(resource.short_name);
    if (!resource.request_formats.empty())
        r.content_format = static_cast<unsigned>(resource.request_formats[0]);
    r.accept = o.accept;
    r.body = body;
    r.block_size = o.client.block_size;
    return r;
}

// RFC 9148 §4.7: 5.03 + Max-Age asks the client to send the same request again after that many seconds.
Result<RepeatedAnswer> exchange(CoapClient& client, const CoapRequest& request, const EnrollOptions& o) {
    return request_repeating(client, request, RepeatPolicy{o.client.timeout, o.max_wait, std::nullopt},
                             [](const CoapAnswer& answer, std::chrono::seconds wait) {
                                 std::cerr << "estgw enroll: " << code_with_phrase(answer.code)
                                           << ", repeating the request in " << wait.count()
                                           << " s (Max-Age)\n";
                             });
}

bool has_resource_type(const mapping::Link& link, std::string_view rt) {
    // rt is a space-separated list (RFC 6690 §3.1).
    std::string types = link.attribute("rt").value_or("");
    std::string_view rest = types;
    while (!rest.empty()) {
        auto space = rest.find(' ');
        if (rest.substr(0, space) == rt) return true;
        if (space == std::string_view::npos) break;
        rest.remove_prefix(space + 1);
    }
    return false;
}

// "/est/sen" → "/est"; "coaps://[::1]:5684/est/sen" → "/est" (we stay on --server either way).
std::string parent_path(std::string target) {
    if (auto scheme = target.find("://"); scheme != std::string::npos) {
        auto path = target.find('/', scheme + 3);
        target = path == std::string::npos ? "" : target.substr(path);
    }
    auto slash = target.rfind('/');
    return slash == std::string::npos ? "" : target.substr(0, slash);
}

// RFC 9148 §4.1 discovery: lists what the server advertises and returns the root of our operation.
Result<std::string> discover_root(CoapClient& client, const EnrollOptions& o) {
    CoapRequest request;
    request.path = {".well-known", "core"};
    request.query = {"rt=ace.est*"};
    request.block_size = o.client.block_size;
    ESTGW_TRY(answer, client.request(request, o.client.timeout));
    if (answer.code != COAP_RESPONSE_CODE(205))
        return make_error(Status::NotFound, "discovery: " + code_with_diagnostic(answer));
    ESTGW_TRY(links, mapping::parse_link_format(to_string(answer.body)));
    std::optional<std::string> root;
    for (const auto& link : links) {
        std::cout << "discovered <" << link.target << ">";
        for (const char* attribute : {"rt", "ct"}) {
            if (auto value = link.attribute(attribute)) std::cout << " " << attribute << "=" << *value;
        }
        std::cout << "\n";
        if (!root && has_resource_type(link, o.resource->rt)) root = parent_path(link.target);
    }
    if (!root || root->empty())
        return make_error(Status::NotFound,
                          "discovery: the server advertises no " + std::string(o.resource->rt) + " resource");
    std::cout << "using the discovered root " << *root << "\n";
    return *root;
}

std::string sha256_fingerprint(ByteView der) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(der.data(), der.size(), digest, &length, EVP_sha256(), nullptr) != 1) return "?";
    std::string hex = to_hex(ByteView(digest, length)), out;
    for (std::size_t i = 0; i < hex.size(); i += 2)
        out += (i ? ":" : "") + hex.substr(i, 2);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
    return out;
}

// --insecure-bootstrap: /crts from an unauthenticated server becomes the trust anchor (RFC 7030 §4.1.1
// calls this a bootstrap distribution that must be verified out of band). Returns the ca.pem written.
Result<std::string> bootstrap_trust(const coap_address_t& server, const EnrollOptions& o, std::string& root) {
    std::cerr << "WARNING: --insecure-bootstrap: the server is NOT authenticated; whatever its /crts returns "
                 "becomes the trust anchor. Use this in a lab only.\n";
    DtlsIdentity unverified = o.client.identity;
    unverified.verify_server = false;
    ESTGW_TRY(client, CoapClient::open(server, unverified));
    if (o.discover) {
        ESTGW_TRY(found, discover_root(*client, o));
        root = found;
    }
    CoapRequest crts = make_request(mapping::resource_for(Operation::CaCerts), root, o, {});
    crts.accept.reset();  // the whole bundle
    ESTGW_TRY(exchanged, exchange(*client, crts, o));
    if (exchanged.answer.code != COAP_RESPONSE_CODE(205))
        return make_error(Status::Forbidden, "bootstrap crts: " + code_with_diagnostic(exchanged.answer));
    ESTGW_TRY(certificates, ca_certificates(exchanged.answer));
    ESTGW_TRY(written, write_enroll_results(Operation::CaCerts, exchanged.answer, EnrollOutput{o.out_dir}));
    for (const auto& der : certificates) {
        auto cert = parse_certificate_der(der);
        std::cerr << "WARNING: pinned without verification: "
                  << (cert ? name_to_string(X509_get_subject_name(cert->get())) : std::string("?"))
                  << ", SHA-256 " << sha256_fingerprint(der) << "\n";
    }
    return (o.out_dir / "ca.pem").string();
}

}  // namespace

int run_enroll(const std::vector<std::string>& args) {
    po::options_description desc("estgw enroll options");
    desc.add_options()("help,h", "print this help and exit");
    add_client_options(desc);
    // clang-format off
    desc.add_options()
        ("op", po::value<std::string>()->default_value("sen"), "crts, sen, sren, att, skg or skc")
        ("csr", po::value<std::string>(), "send this CSR (PEM or DER) instead of generating a key and a CSR")
        ("new-key", po::value<std::string>(),
         "type of the key to generate: p256 (default), p384, ed25519, rsa2048; with sren: rekey")
        ("subject", po::value<std::string>(),
         "subject of the CSR, \"CN=dev-1,O=Example\" or \"/O=Example/CN=dev-1\" (default: that of --cert, "
         "with its subjectAltName)")
        ("accept", po::value<unsigned>(),
         "Content-Format asked for: 281 (certs-only) or 287 (pkix-cert); crts, sen, sren")
        ("out", po::value<std::string>()->default_value("."), "directory for the results (created if missing)")
        ("max-wait", po::value<unsigned>()->default_value(300),
         "longest total wait, in seconds, for answers 5.03 + Max-Age before giving up")
        ("discover", po::bool_switch(), "find the EST root through /.well-known/core?rt=ace.est*")
        ("insecure-bootstrap", po::bool_switch(),
         "without --ca: trust whatever /crts returns (server NOT verified; labs only)");
    // clang-format on
    add_key_protection_options(desc);
    po::variables_map vm;
    if (auto stop = parse_command_line(args, desc, vm, kUsage)) return *stop;
    auto options = read_options(vm);
    if (!options) return fail(kExitUsage, options.error().message + " (see estgw enroll --help)");
    const std::string op(options->resource->short_name);
    auto csr = prepare_csr(*options);
    if (!csr) return fail(kExitUsage, csr.error().message);
    if (options->key_protection.kind != certs::KeyProtection::None) {
        options->client.block_size =
            block_size_for_encrypted_key(options->client.block_size, csr->der.size());
    }
    const EnrollOptions& o = *options;

    CoapLibrary library(LOG_WARNING);
    auto server = resolve_server(o.client.url);
    if (!server) return fail(kExitNoAnswer, server.error().message);
    std::string root = o.client.url.root;
    DtlsIdentity identity = o.client.identity;
    if (o.insecure_bootstrap) {
        auto pinned = bootstrap_trust(*server, o, root);
        if (!pinned) return fail(exit_code_for(pinned.error()), "bootstrap: " + pinned.error().message);
        identity.ca_file = *pinned;
    }
    auto client = CoapClient::open(*server, identity);
    if (!client) return fail(kExitUsage, client.error().message);
    if (o.discover && !o.insecure_bootstrap) {
        auto found = discover_root(**client, o);
        if (!found) return fail(exit_code_for(found.error()), found.error().message);
        root = *found;
    }
    auto exchanged = exchange(**client, make_request(*o.resource, root, o, csr->der), o);
    if (!exchanged)
        return fail(exit_code_for(exchanged.error()), op + " failed: " + exchanged.error().message);
    const CoapAnswer& answer = exchanged->answer;
    if (answer.code != o.resource->success_code)
        return fail(kExitFailure, op + " failed: " + code_with_diagnostic(answer));

    EnrollOutput out{o.out_dir};
    out.key_protection = &o.key_protection;
    if (o.resource->op == Operation::SimpleEnroll || o.resource->op == Operation::SimpleReenroll) {
        out.csr_key = csr->signing_key.get();  // skg/skc: the server replaces the CSR's key
        if (csr->new_key) out.new_key = csr->signing_key.get();
    }
    auto written = write_enroll_results(o.resource->op, answer, out);
    if (!written)
        return fail(kExitFailure,
                    op + ": unusable " + code_string(answer.code) + " answer: " + written.error().message);
    const std::string& host = o.client.url.host;
    std::cout << "estgw enroll: " << op << " " << code_with_phrase(answer.code) << " from coaps://"
              << (host.find(':') != std::string::npos ? "[" + host + "]" : host) << ":" << o.client.url.port
              << root << "/" << op
              << (exchanged->retries ? " after " + std::to_string(exchanged->retries) + " retr" +
                                           (exchanged->retries == 1 ? "y" : "ies")
                                     : "")
              << ": " << *written << "\n";
    return kExitOk;
}

}  // namespace estgw::client
