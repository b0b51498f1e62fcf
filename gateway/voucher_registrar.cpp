#include "gateway/voucher_registrar.hpp"

#include <openssl/sha.h>

#include "brski/masa.hpp"
#include "brski/masa_url.hpp"
#include "brski/pvr_checks.hpp"
#include "brski/rvr.hpp"
#include "brski/voucher.hpp"
#include "brski/voucher_answer.hpp"
#include "certs/ca.hpp"
#include "common/cose.hpp"
#include "common/log.hpp"
#include "common/pem_file.hpp"
#include "common/x509.hpp"
#include "gateway/metrics.hpp"
#include "mapping/coap_response.hpp"
#include "mapping/http_response.hpp"

namespace estgw::gateway {

struct VoucherRegistrar::Parts {
    VoucherRegistrarConfig config;
    std::vector<X509Ptr> chain;  // --cert: our end-entity certificate first
    std::vector<Bytes> chain_der;
    EvpPkeyPtr key;
    X509StorePtr client_anchors;  // --client-ca
    std::string masa_base;        // from --masa-url; empty: none
};

namespace {

using Clock = std::chrono::steady_clock;

// When the MASA gives no Retry-After with its 202/503, and when it cannot be reached at all.
constexpr std::chrono::seconds kMasaRetryDefault{60};
constexpr std::chrono::seconds kMasaUnreachableRetry{30};
// The MASA's text/plain reason as a diagnostic (RFC 7252 §5.5.2 keeps diagnostics short).
constexpr std::size_t kReasonBytes = 200;

std::int64_t unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string coap_code_text(Status status) {
    const unsigned code = mapping::coap_code_for(status);
    const unsigned detail = code & 0x1F;
    return std::to_string(code >> 5) + "." + (detail < 10 ? "0" : "") + std::to_string(detail);
}

std::string sha256_hex(ByteView bytes) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(bytes.data(), bytes.size(), digest);
    return to_hex(ByteView(digest, sizeof digest));
}

// The IDevID's path to one of the --client-ca anchors, leaf excluded (DER), as the RVR's x5bag needs it
// (cBRSKI §9.2.1): rebuilt from the anchors, whatever the pledge sent in its handshake.
Result<std::vector<Bytes>> idevid_path(const PeerIdentity& peer, X509_STORE* anchors) {
    X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    X509StackPtr untrusted(sk_X509_new_null());
    if (!ctx || !untrusted) return make_error(Status::Internal, "out of memory");
    for (std::size_t i = 1; i < peer.chain.size(); ++i) {
        auto cert = parse_certificate_der(peer.chain[i]);
        if (!cert) continue;  // the handshake validated the path; a stray extra is not ours to judge
        if (sk_X509_push(untrusted.get(), cert->get()) <= 0)
            return make_error(Status::Internal, "out of memory");
        cert->release();  // the stack owns it now
    }
    auto* leaf = const_cast<X509*>(peer.certificate.get());
    if (X509_STORE_CTX_init(ctx.get(), anchors, leaf, untrusted.get()) != 1)
        return make_error(Status::Internal, "cannot set up the IDevID path check");
    if (X509_verify_cert(ctx.get()) != 1) {
        const int error = X509_STORE_CTX_get_error(ctx.get());
        return make_error(Status::NotFound, std::string("the IDevID does not chain to a trust anchor of "
                                                        "--client-ca: ") +
                                                X509_verify_cert_error_string(error));
    }
    std::vector<Bytes> path;
    STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
    for (int i = 1; i < sk_X509_num(chain); ++i) {
        auto der = certificate_to_der(sk_X509_value(chain, i));
        if (!der) return der.error();
        path.push_back(std::move(*der));
    }
    return path;
}

std::string masa_reason(const mapping::HttpResponse& response) {
    std::string text = mapping::diagnostic_text(response.body, kReasonBytes);
    return text.empty() ? "no reason given" : text;
}

bool is_voucher_media_type(std::string_view content_type) {
    const std::string_view type = content_type.substr(0, content_type.find(';'));
    auto trimmed = [](std::string_view s) {
        while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
            s.remove_suffix(1);
        return s;
    };
    // D2: the old name of CF 836 is accepted in answers too.
    return mapping::header_name_equals(trimmed(type), brski::kVoucherMediaType) ||
           mapping::header_name_equals(trimmed(type), brski::kVoucherMediaTypeOld);
}

std::chrono::seconds retry_after_of(const mapping::HttpResponse& response) {
    auto value = response.header("Retry-After");
    if (!value) return kMasaRetryDefault;
    return mapping::parse_retry_after(*value, std::chrono::system_clock::now()).value_or(kMasaRetryDefault);
}

EstResponse with_retry(Status status, std::string diagnostic, std::chrono::seconds retry) {
    EstResponse answer = EstResponse::error(status, std::move(diagnostic));
    answer.retry_after = retry;
    return answer;
}

}  // namespace

std::optional<std::string> voucher_requests_unavailable(const X509* registrar_certificate) {
    if (has_extended_key_usage(registrar_certificate, NID_cmcRA)) return std::nullopt;
    return "the --cert certificate has no extended key usage id-kp-cmcRA (1.3.6.1.5.5.7.3.28), which a MASA "
           "requires of the registrar that signs a voucher-request (RFC 8995 §5.5.4, cBRSKI §6.2); to serve "
           "/rv, use a registrar certificate carrying id-kp-cmcRA, serverAuth and clientAuth (estgw pki "
           "init's "
           "server.crt does)";
}

Result<std::unique_ptr<VoucherRegistrar>> VoucherRegistrar::create(VoucherRegistrarConfig config,
                                                                   certs::PledgeJournal* journal) {
    auto parts = std::make_unique<Parts>();
    auto chain = load_certificates(config.cert_file);
    if (!chain) return make_error(Status::BadRequest, "--cert: " + chain.error().message);
    auto key = load_private_key(config.key_file);
    if (!key) return make_error(Status::BadRequest, "--key: " + key.error().message);
    // A --cert without its chain: the issuers from the domain CA file (server mode's --ca-cert) complete it,
    // so that the RVR's x5bag holds the domain CA and the MASA pins it rather than our own certificate (RFC
    // 8995 §5.5: include the part of the chain to be pinned).
    if (chain->size() == 1 && !config.domain_ca_file.empty()) {
        auto domain = load_certificates(config.domain_ca_file);
        if (!domain) return make_error(Status::BadRequest, "--ca-cert: " + domain.error().message);
        for (bool added = true; added && chain->size() < 8;) {
            added = false;
            X509* last = chain->back().get();
            if (X509_check_issued(last, last) == X509_V_OK) break;  // self-signed: the top
            for (auto& issuer : *domain) {
                if (issuer && X509_check_issued(issuer.get(), last) == X509_V_OK) {
                    chain->push_back(std::move(issuer));
                    added = true;
                    break;
                }
            }
        }
    }
    for (const auto& cert : *chain) {
        auto der = certificate_to_der(cert.get());
        if (!der) return der.error();
        parts->chain_der.push_back(std::move(*der));
    }
    parts->chain = std::move(*chain);
    parts->key = std::move(*key);
    auto anchors = load_certificates(config.client_ca_file);
    if (!anchors) return make_error(Status::BadRequest, "--client-ca: " + anchors.error().message);
    parts->client_anchors.reset(X509_STORE_new());
    if (!parts->client_anchors) return make_error(Status::Internal, "out of memory");
    for (const auto& anchor : *anchors) {
        if (X509_STORE_add_cert(parts->client_anchors.get(), anchor.get()) != 1)
            return openssl_error(Status::BadRequest, "--client-ca", "cannot add a trust anchor");
    }
    if (!config.masa_url.empty()) {
        auto base = brski::masa_base_from_option(config.masa_url);
        if (!base) return base.error();
        parts->masa_base = std::move(*base);
    }
    auto masa = MasaClient::create(config.masa);
    if (!masa) return masa.error();
    parts->config = std::move(config);
    auto registrar = std::make_unique<VoucherRegistrar>(std::move(parts), journal);
    registrar->masa_ = std::move(*masa);
    return registrar;
}

VoucherRegistrar::VoucherRegistrar(std::unique_ptr<Parts> parts, certs::PledgeJournal* journal)
    : parts_(std::move(parts)),
      journal_(journal),
      cache_(parts_->config.cache_entries, parts_->config.cache_lifetime) {
    for (const char* result : {"voucher", "retry-later", "refused", "failed"})
        metrics::estgw_metrics().masa_requests.add({result}, 0);
}

VoucherRegistrar::~VoucherRegistrar() = default;

void VoucherRegistrar::record(const certs::JourneyEvent& pledge, certs::JourneyStep step,
                              std::vector<std::pair<std::string, std::string>> fields) {
    if (!journal_) return;
    certs::JourneyEvent event = pledge;
    event.step = step;
    event.at_ms = unix_ms();
    event.fields = std::move(fields);
    if (auto recorded = journal_->record(event); !recorded) {
        log::warn("journal-failed", {{"step", std::string(certs::journey_step_name(step))},
                                     {"pledge", pledge.device_serial},
                                     {"reason", recorded.error().message}});
    }
}

EstResponse VoucherRegistrar::refuse(const certs::JourneyEvent* pledge, EstResponse answer,
                                     const std::string& detail) {
    const std::string code = coap_code_text(answer.status);
    log::warn("voucher-refused", {{"code", code},
                                  {"reason", answer.diagnostic},
                                  {"detail", detail.empty() ? std::string("-") : detail},
                                  {"pledge", pledge && !pledge->device_serial.empty() ? pledge->device_serial
                                                                                      : std::string("-")}});
    if (pledge)
        record(*pledge, certs::JourneyStep::VoucherRefused, {{"code", code}, {"reason", answer.diagnostic}});
    return answer;
}

EstResponse VoucherRegistrar::process(const EstRequest& request, Clock::time_point deadline) {
    // 1, 2 (D1): mapping/ refuses these at the front already.
    if (request.content_format != ContentFormat::VoucherCose) {
        return refuse(nullptr, EstResponse::error(Status::NotAcceptable,
                                                  "/rv takes a voucher-request as Content-Format 836"));
    }
    if (request.accept && *request.accept != ContentFormat::VoucherCose)
        return refuse(nullptr,
                      EstResponse::error(Status::NotAcceptable, "/rv answers in Content-Format 836"));
    // 3
    const X509* idevid = request.peer.certificate.get();
    if (!idevid) {
        return refuse(nullptr,
                      EstResponse::error(Status::Unauthorized,
                                         "/rv needs the pledge's IDevID as DTLS client certificate"));
    }
    certs::JourneyEvent pledge;
    pledge.pledge.idevid_issuer = name_to_string(X509_get_issuer_name(idevid));
    pledge.pledge.idevid_serial = certs::serial_hex(idevid);
    pledge.device_serial = brski::idevid_serial_number(idevid).value_or("");
    // 4
    auto path = idevid_path(request.peer, parts_->client_anchors.get());
    if (!path) return refuse(&pledge, EstResponse::from_error(path.error()));
    // 5-10
    auto accepted = brski::check_pledge_voucher_request(request.body, idevid, parts_->chain.front().get());
    if (!accepted) {
        EstResponse answer = EstResponse::from_error(accepted.error());
        // RFC 8995 §5.2: a PVR that does not name us came through a man in the middle.
        answer.close_session = brski::closes_session(accepted.error());
        const std::string detail = answer.close_session ? "the DTLS session is closed after this answer" : "";
        return refuse(&pledge, std::move(answer), detail);
    }
    std::string proximity;
    for (const auto& kind : accepted->proximity)
        proximity += (proximity.empty() ? "" : ",") + kind;
    record(pledge, certs::JourneyStep::VoucherRequest,
           {{"nonce", to_hex(accepted->nonce)}, {"proximity", proximity}});
    // 11
    std::string base;
    auto named = brski::masa_url_from_idevid(idevid);
    if (named && *named) {
        base = **named;
    } else if (!parts_->masa_base.empty()) {
        if (!named) {
            log::warn("masa-url-unusable", {{"pledge", pledge.device_serial},
                                            {"reason", named.error().message},
                                            {"using", parts_->masa_base}});
        }
        base = parts_->masa_base;
    } else {
        return refuse(&pledge, EstResponse::error(
                                   Status::NotFound,
                                   named ? "no MASA is known for this IDevID: it names none "
                                           "(id-pe-masa-url) and the registrar has no --masa-url"
                                         : "the IDevID's MASA URL is unusable (" + named.error().message +
                                               ") and the registrar has no --masa-url"));
    }

    auto lookup = cache_.lookup(request.body, Clock::now());
    if (lookup.decision == VoucherCache::Decision::Answer) {
        log::info("voucher-cached", {{"pledge", pledge.device_serial}, {"masa", base}});
        // The cached answer is the stripped voucher as sent before: read its facts again for the journal.
        std::string assertion = "-", pinned = "-";
        if (auto sign1 = cose::decode_sign1(lookup.answer->body)) {
            if (auto voucher = brski::decode(brski::Kind::Voucher, sign1->payload)) {
                if (voucher->assertion) assertion = brski::assertion_name(*voucher->assertion);
                if (voucher->pinned_domain_cert) pinned = sha256_hex(*voucher->pinned_domain_cert);
            }
        }
        record(pledge, certs::JourneyStep::VoucherIssued,
               {{"assertion", assertion}, {"pinned_ca_sha256", pinned}, {"cached", "true"}});
        return *lookup.answer;
    }
    if (lookup.decision == VoucherCache::Decision::Wait) {
        auto answer = cache_.wait(lookup.key, deadline);
        if (answer) return *answer;
        return refuse(&pledge, with_retry(Status::ServiceUnavailable,
                                          "the same voucher-request is still with the MASA; retry",
                                          std::chrono::seconds(5)));
    }

    EstResponse answer;
    brski::RvrInput input;
    input.pvr = request.body;
    input.accepted = &*accepted;
    input.idevid = idevid;
    input.idevid_path = std::move(*path);
    input.registrar_chain = parts_->chain_der;
    input.registrar_key = parts_->key.get();
    input.now = std::chrono::system_clock::now();
    auto rvr = brski::build_registrar_voucher_request(input);
    if (!rvr) {
        answer = refuse(&pledge,
                        EstResponse::error(Status::Internal, "cannot build the registrar voucher-request: " +
                                                                 rvr.error().message));
    } else {
        answer = call_masa(base, *rvr, pledge, deadline);
    }
    cache_.finish(lookup.key, answer, Clock::now());
    return answer;
}

EstResponse VoucherRegistrar::call_masa(const std::string& base, const Bytes& rvr,
                                        const certs::JourneyEvent& pledge, Clock::time_point deadline) {
    const std::string url = brski::requestvoucher_url(base);
    auto& counter = metrics::estgw_metrics().masa_requests;
    auto origin = parse_https_url(base);
    if (!origin) {
        counter.add({"failed"});
        return refuse(&pledge,
                      EstResponse::error(Status::UpstreamFailed,
                                         "the MASA URL " + base + " is unusable: " + origin.error().message));
    }
    const auto started = Clock::now();
    UpstreamReply reply = masa_->request_voucher(*origin, rvr, deadline);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
    const int http_status = reply.failure == UpstreamFailure::None ? reply.response.status : 0;
    std::vector<std::pair<std::string, std::string>> call_fields{
        {"url", url}, {"http_status", std::to_string(http_status)}, {"ms", std::to_string(ms)}};
    if (reply.failure != UpstreamFailure::None) call_fields.emplace_back("failure", reply.detail);
    record(pledge, certs::JourneyStep::MasaCall, std::move(call_fields));
    log::info("masa-call", {{"url", url},
                            {"status", http_status},
                            {"failure", upstream_failure_name(reply.failure)},
                            {"ms", static_cast<long long>(ms)},
                            {"pledge", pledge.device_serial}});

    if (reply.failure != UpstreamFailure::None) {
        counter.add({"failed"});
        switch (reply.failure) {
            case UpstreamFailure::Connect:
                return refuse(&pledge,
                              with_retry(Status::ServiceUnavailable, "the MASA cannot be reached; retry",
                                         kMasaUnreachableRetry),
                              reply.detail);
            case UpstreamFailure::Timeout:
                return refuse(&pledge,
                              EstResponse::error(Status::UpstreamTimeout, "the MASA did not answer in time"),
                              reply.detail);
            case UpstreamFailure::Aborted:
                return refuse(&pledge,
                              with_retry(Status::ServiceUnavailable, "the registrar is shutting down; retry",
                                         std::chrono::seconds(5)));
            default:
                return refuse(
                    &pledge,
                    EstResponse::error(Status::UpstreamFailed, reply.failure == UpstreamFailure::Tls
                                                                   ? "the TLS connection to the MASA failed"
                                                                   : "the connection to the MASA broke"),
                    reply.detail);
        }
    }
    const mapping::HttpResponse& response = reply.response;
    const int status = response.status;
    if (status == 200) {
        const std::string content_type = response.header("Content-Type").value_or("");
        if (!is_voucher_media_type(content_type)) {
            counter.add({"failed"});
            return refuse(&pledge,
                          EstResponse::error(Status::UpstreamFailed, "the MASA's answer is not a voucher"),
                          "Content-Type \"" + mapping::diagnostic_text(content_type, 80) + "\"");
        }
        const ByteView body(reinterpret_cast<const std::uint8_t*>(response.body.data()),
                            response.body.size());
        auto stripped = brski::strip_voucher_certificates(body);
        auto sign1 = cose::decode_sign1(body);
        auto voucher = sign1 ? brski::decode(brski::Kind::Voucher, sign1->payload)
                             : Result<brski::Voucher>(sign1.error());
        if (!stripped || !voucher) {
            counter.add({"failed"});
            return refuse(&pledge,
                          EstResponse::error(Status::UpstreamFailed, "the MASA's voucher is malformed"),
                          !stripped ? stripped.error().message : voucher.error().message);
        }
        counter.add({"voucher"});
        const std::string assertion =
            voucher->assertion ? std::string(brski::assertion_name(*voucher->assertion)) : std::string("-");
        const std::string pinned =
            voucher->pinned_domain_cert ? sha256_hex(*voucher->pinned_domain_cert) : std::string("-");
        for (const auto& leaf : voucher->unknown)
            log::info("voucher-unknown-leaf", {{"leaf", leaf}, {"pledge", pledge.device_serial}});
        record(pledge, certs::JourneyStep::VoucherIssued,
               {{"assertion", assertion}, {"pinned_ca_sha256", pinned}});
        log::info("voucher-issued", {{"pledge", pledge.device_serial},
                                     {"assertion", assertion},
                                     {"pinned_ca_sha256", pinned},
                                     {"masa", url}});
        EstResponse answer;
        answer.format = ContentFormat::VoucherCose;
        answer.body = std::move(*stripped);
        answer.upstream_status = status;
        return answer;
    }
    const std::string reason = masa_reason(response);
    EstResponse answer;
    if (status == 202) {
        counter.add({"retry-later"});
        answer = with_retry(Status::ServiceUnavailable, "the MASA will answer later: " + reason,
                            retry_after_of(response));
    } else if (status == 403 || status == 404 || status == 406 || status == 415) {
        counter.add({"refused"});
        const Status mirrored = status == 403   ? Status::Forbidden
                                : status == 404 ? Status::NotFound
                                : status == 406 ? Status::NotAcceptable
                                                : Status::UnsupportedFormat;
        answer = EstResponse::error(mirrored, "MASA: " + reason);
    } else if (status == 400 || status == 401) {
        // D11: our voucher-request or our credentials were refused; a 4.01 would read as a man in the middle.
        counter.add({"failed"});
        log::error(
            "masa-refused-registrar",
            {{"url", url},
             {"status", status},
             {"reason", reason},
             {"action", status == 401 ? "check --masa-cert/--masa-key: the MASA does not accept them"
                                      : "the MASA could not process this registrar's voucher-request"}});
        answer =
            EstResponse::error(Status::UpstreamFailed, "the MASA refused the registrar's request (HTTP " +
                                                           std::to_string(status) + ")");
    } else if (status == 503) {
        counter.add({"failed"});
        answer = with_retry(Status::ServiceUnavailable, "the MASA is unavailable: " + reason,
                            retry_after_of(response));
    } else if (status == 504) {
        counter.add({"failed"});
        answer = EstResponse::error(Status::UpstreamTimeout, "MASA: " + reason);
    } else {
        counter.add({"failed"});
        answer = EstResponse::error(Status::UpstreamFailed,
                                    "the MASA answered HTTP " + std::to_string(status) + ": " + reason);
    }
    answer.upstream_status = status;
    return refuse(&pledge, std::move(answer),
                  "MASA " + url + " answered " + std::to_string(status) + ": " + reason);
}

}  // namespace estgw::gateway
