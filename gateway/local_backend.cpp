#include "gateway/local_backend.hpp"

#include "brski/telemetry.hpp"
#include "certs/keygen.hpp"
#include "common/cbor.hpp"
#include "common/log.hpp"
#include "common/x509.hpp"
#include "gateway/metrics.hpp"
#include "mapping/resources.hpp"

namespace estgw::gateway {

namespace {

// An RA that does not forward its clients' certificates makes every request its own (RFC 9148 §5), so the
// checks that compare the CSR with the client certificate compare it with the RA's and fail. Said in the
// answer, which a gateway relays to the pledge as a CoAP diagnostic cut to 256 bytes: first, so that the
// cure survives the cut.
Error for_unforwarded_ra(Error error, const PeerIdentity& peer) {
    if (peer.forwarded_by.empty() && has_extended_key_usage(peer.certificate.get(), NID_cmcRA)) {
        error.message =
            "the client is an RA: forward the pledge certificate (gateway --forward-client-cert, server "
            "--trust-forwarded-client-cert); " +
            error.message;
    }
    return error;
}

// The deadline of a voucher-request handed to process() directly (tests): the front's default.
constexpr std::chrono::seconds kVoucherDeadline{30};

// Which pledge a client is, and how it showed itself (D12: "record which was seen").
struct PledgeSession {
    certs::PledgeKey pledge;
    std::string device_serial;  // from an IDevID's subject; empty when the client showed another certificate
    std::string session;        // "idevid", "ldevid" or "other"
};

certs::PledgeKey pledge_key_of(const X509* cert) {
    return certs::PledgeKey{name_to_string(X509_get_issuer_name(cert)), certs::serial_hex(cert)};
}

// A certificate we did not issue is taken as the pledge's IDevID (the handshake checked it against
// --client-ca); one of ours is an LDevID, whose pledge the journal knows from the Enrolled step that issued
// it. One of ours that no pledge was issued (an EST client's) is "other", keyed by itself. Without a client
// certificate there is no pledge: nullopt.
Result<std::optional<PledgeSession>> pledge_session(const PeerIdentity& peer, const X509* ca,
                                                    certs::PledgeJournal& journal) {
    const X509* cert = peer.certificate.get();
    if (!cert) return std::optional<PledgeSession>();
    if (!is_issued_by(cert, ca)) {
        return std::optional<PledgeSession>(
            PledgeSession{pledge_key_of(cert), subject_serial_number(cert).value_or(""), "idevid"});
    }
    auto pledge = journal.pledge_of_ldevid(certs::serial_hex(cert));
    if (!pledge) return pledge.error();
    if (*pledge) return std::optional<PledgeSession>(PledgeSession{**pledge, "", "ldevid"});
    return std::optional<PledgeSession>(PledgeSession{pledge_key_of(cert), "", "other"});
}

// The issuance store's record of a certificate issued for `peer`.
certs::IssuanceRecord issuance_record(certs::IssuedCertificate cert, certs::IssuanceOperation operation,
                                      const PeerIdentity& peer) {
    certs::IssuanceRecord record;
    record.serial = std::move(cert.serial_hex);
    record.subject = std::move(cert.subject);
    record.not_before = cert.not_before;
    record.not_after = cert.not_after;
    record.operation = operation;
    record.client_subject = peer.subject;
    record.ra_subject = peer.forwarded_by;
    record.issued_at =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    record.certificate_der = std::move(cert.der);
    return record;
}

std::int64_t unix_ms_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// For the log: CBOR diagnostic notation, cut so that a pledge cannot fill the log with one request.
std::string loggable(const cbor::Value& value) {
    constexpr std::size_t kMax = 256;
    std::string text = cbor::diagnostic(value);
    if (text.size() > kMax) text = text.substr(0, kMax) + "...";
    return text;
}

}  // namespace

Result<std::unique_ptr<LocalBackend>> LocalBackend::create(LocalBackendConfig config,
                                                           const certs::IssuingCa& ca,
                                                           certs::IssuanceStore& store, WorkerPool& pool) {
    if (config.require_voucher && config.journal == nullptr) {
        return make_error(Status::Internal,
                          "--require-voucher needs the pledge journal, which this store does not keep");
    }
    auto cacerts = ca.cacerts_response();
    if (!cacerts) return cacerts.error();
    return std::make_unique<LocalBackend>(Token{}, std::move(config), ca, store, pool, std::move(*cacerts));
}

LocalBackend::LocalBackend(Token, LocalBackendConfig config, const certs::IssuingCa& ca,
                           certs::IssuanceStore& store, WorkerPool& pool, Bytes cacerts)
    : config_(std::move(config)), ca_(ca), store_(store), pool_(pool), cacerts_(std::move(cacerts)) {
    // Every operation's series from the start, at 0: a counter that appears only at its first increment
    // loses that increment to rate() and increase().
    for (auto operation : {certs::IssuanceOperation::Enroll, certs::IssuanceOperation::Renew,
                           certs::IssuanceOperation::Rekey, certs::IssuanceOperation::ServerKeyGen}) {
        metrics::estgw_metrics().certificates_issued.add({std::string(certs::operation_name(operation))}, 0);
    }
}

EstResponse LocalBackend::answer_now(const EstRequest& request) {
    EstResponse r;
    switch (request.op) {
        case Operation::CaCerts:
            r.format = ContentFormat::CertsOnly;
            r.body = cacerts_;
            return r;
        case Operation::CsrAttrs:
            r.format = ContentFormat::CsrAttrs;
            r.body = config_.csr_attributes;
            return r;
        default:
            return EstResponse::error(Status::Internal, "not an immediate operation");
    }
}

void LocalBackend::submit(EstRequest request, std::shared_ptr<RequestTicket> ticket,
                          std::function<void(EstResponse)> done) {
    auto job = [this, request = std::move(request), ticket, done]() mutable {
        if (!ticket->start()) return;
        // A voucher-request waits for the MASA, by the request's own deadline.
        if (request.op == Operation::RequestVoucher && config_.voucher_registrar) {
            done(config_.voucher_registrar->process(request, ticket->deadline()));
            return;
        }
        done(process(request));
    };
    if (!pool_.try_submit(std::move(job))) done(busy("the registrar is busy; retry"));
}

// Signing is local and short: a request is late only because of the requests queued before it.
EstResponse LocalBackend::overdue_answer(const RequestTicket&, bool) const {
    return busy("the registrar is busy: no worker was free in time; retry");
}

std::vector<Operation> LocalBackend::unavailable_operations() const {
    if (config_.voucher_registrar) return {};
    return {Operation::RequestVoucher};
}

void LocalBackend::abandon_work() {
    if (config_.voucher_registrar) config_.voucher_registrar->abort_calls();
}

EstResponse LocalBackend::busy(std::string diagnostic) const {
    EstResponse answer = EstResponse::error(Status::ServiceUnavailable, std::move(diagnostic));
    answer.retry_after = config_.busy_retry;
    return answer;
}

EstResponse LocalBackend::process(const EstRequest& request) {
    switch (request.op) {
        case Operation::CaCerts:
        case Operation::CsrAttrs:
            return answer_now(request);
        case Operation::VoucherStatus:
        case Operation::EnrollStatus:
            return telemetry(request);
        case Operation::RequestVoucher:
            if (config_.voucher_registrar) {
                return config_.voucher_registrar->process(
                    request, std::chrono::steady_clock::now() + kVoucherDeadline);
            }
            return EstResponse::error(Status::NotFound, "this registrar does not serve voucher requests");
        case Operation::SimpleEnroll:
        case Operation::SimpleReenroll:
        case Operation::ServerKeyGen:
        case Operation::ServerKeyGenCert:
            return enroll(request);
    }
    return EstResponse::error(Status::Internal, "unknown operation");
}

Result<Bytes> LocalBackend::issue_and_record(const X509_REQ* csr, const EVP_PKEY* key, bool key_is_the_csrs,
                                             certs::IssuanceOperation operation, const PeerIdentity& peer) {
    // The serial is 128 random bits; a collision is astronomically rare, but the store's uniqueness
    // constraint is what guarantees it, so a duplicate is simply issued again.
    for (int attempt = 0; attempt < 3; ++attempt) {
        // As DER: an X509 object would cost a decode of the public key just written.
        auto cert = ca_.issue_der(csr, key, config_.profile, key_is_the_csrs);
        if (!cert) return cert.error();
        const certs::IssuanceRecord record = issuance_record(std::move(*cert), operation, peer);
        auto inserted = store_.insert(record);
        if (!inserted) {
            // The database's message (host, port, the driver's text) is for the operator, not the client.
            log::error("issuance_not_recorded",
                       {{"serial", record.serial}, {"error", inserted.error().message}});
            return make_error(Status::Internal, "cannot record the certificate; retry later");
        }
        if (*inserted == certs::InsertOutcome::Inserted) {
            metrics::estgw_metrics().certificates_issued.add({std::string(certs::operation_name(operation))});
            log::info("issued", {{"serial", record.serial},
                                 {"subject", record.subject},
                                 {"operation", std::string(certs::operation_name(operation))},
                                 {"client", peer.subject.empty() ? std::string("-") : peer.subject},
                                 {"ra", peer.forwarded_by.empty() ? std::string("-") : peer.forwarded_by}});
            // After the issuance record is committed, so that the journal never names an LDevID the store
            // does not hold.
            record_step(peer, certs::JourneyStep::Enrolled,
                        {{"ldevid_serial", record.serial},
                         {"operation", std::string(certs::operation_name(operation))}});
            return certs::certs_only_der(record.certificate_der);
        }
    }
    return make_error(Status::Internal, "could not draw a unique serial number");
}

EstResponse LocalBackend::enroll(const EstRequest& request) {
    // Before the CSR is looked at: a client that may not enroll learns nothing about its request.
    if (request.op != Operation::SimpleReenroll) {
        if (auto refused = refused_without_voucher(request.peer)) return std::move(*refused);
    }
    auto csr = certs::check_enrollment_request(request, config_.policy);
    if (!csr) {
        Error error = csr.error();
        // Forbidden are the checks against the client (its certificate, its session), not the CSR's form.
        if (error.status == Status::Forbidden) error = for_unforwarded_ra(std::move(error), request.peer);
        return EstResponse::from_error(error);
    }
    // Made from the CSR's public point: X509_REQ_get0_pubkey on this request is null.
    const EVP_PKEY* csr_key = csr->public_key.get();

    certs::IssuanceOperation operation = certs::IssuanceOperation::Enroll;
    if (request.op == Operation::SimpleReenroll) {
        // RFC 7030 §4.2.2 / §3.3.2: the client authenticates with the certificate it renews, which must be
        // ours.
        const X509* current = request.peer.certificate.get();
        if (!current) {
            return EstResponse::error(Status::Forbidden,
                                      "re-enrollment needs the client certificate being renewed");
        }
        if (!is_issued_by(current, ca_.certificate())) {
            return EstResponse::from_error(for_unforwarded_ra(
                make_error(Status::Forbidden, "re-enrollment needs a client certificate issued by this CA"),
                request.peer));
        }
        auto same = certs::same_public_key(csr_key, current);
        if (!same) return EstResponse::from_error(same.error());
        operation = *same ? certs::IssuanceOperation::Renew : certs::IssuanceOperation::Rekey;
    }

    bool server_keygen = request.op == Operation::ServerKeyGen || request.op == Operation::ServerKeyGenCert;
    if (!server_keygen) {
        if (auto allowed = config_.key_policy.check(csr_key); !allowed) {
            return EstResponse::error(Status::BadRequest, allowed.error().message);
        }
        auto certs_only = issue_and_record(csr->request.get(), csr_key, true, operation, request.peer);
        if (!certs_only) return EstResponse::from_error(certs_only.error());
        EstResponse r;
        r.format = ContentFormat::CertsOnly;
        r.body = std::move(*certs_only);
        return r;
    }

    // RFC 7030 §4.4.1.1-2: whether the key can be protected as the CSR asks depends on the CSR and our keys
    // alone, so a protection we cannot give is refused before a key (seconds for RSA-4096) is generated.
    certs::EnvelopeKeys envelope{config_.symmetric_keys, {}};
    if (request.peer.certificate) envelope.recipient_certificates.push_back(request.peer.certificate.get());
    auto protection = certs::resolve_key_protection(csr->request.get(), envelope);
    if (!protection) {
        Error error = protection.error();
        // Of the protections, only a key encrypted to the client's certificate (RFC 7030 §4.4.1.2) depends on
        // who the client is.
        auto asked = certs::requested_key_protection(csr->request.get());
        if (asked && asked->kind == certs::KeyProtection::Asymmetric) {
            error = for_unforwarded_ra(std::move(error), request.peer);
        }
        return EstResponse::from_error(error);
    }
    // RFC 7030 §4.4.1: the CSR's key and signature only say which kind of key is wanted.
    auto key = certs::generate_key_like(csr_key, config_.key_policy);
    if (!key) return EstResponse::from_error(key.error());
    auto key_part = certs::server_key_part(*protection, key->get(), ca_);
    if (!key_part) return EstResponse::from_error(key_part.error());
    auto certs_only = issue_and_record(csr->request.get(), key->get(), false,
                                       certs::IssuanceOperation::ServerKeyGen, request.peer);
    if (!certs_only) return EstResponse::from_error(certs_only.error());
    EstResponse r;
    r.format = ContentFormat::MultipartCore;
    r.parts.push_back(BodyPart{key_part->format, std::move(key_part->body)});
    r.parts.push_back(BodyPart{ContentFormat::CertsOnly, std::move(*certs_only)});
    return r;
}

std::optional<EstResponse> LocalBackend::refused_without_voucher(const PeerIdentity& peer) {
    if (!config_.require_voucher) return std::nullopt;
    const X509* cert = peer.certificate.get();
    // Our own certificates (LDevIDs, EST clients') enroll as before; --require-voucher is about IDevIDs.
    if (cert && is_issued_by(cert, ca_.certificate())) return std::nullopt;
    if (!cert) {
        return EstResponse::error(
            Status::Forbidden,
            "enrollment needs a client certificate (an IDevID with a voucher issued through "
            "this registrar); --require-voucher");
    }
    const certs::PledgeKey pledge = pledge_key_of(cert);
    auto issued = config_.journal->voucher_issued(pledge);
    if (!issued) {
        log::error("journal_unreadable", {{"error", issued.error().message}});
        return EstResponse::error(Status::Internal, "cannot read the pledge journal; retry later");
    }
    if (*issued) return std::nullopt;
    log::info("enrollment_refused",
              {{"reason", "no voucher issued"},
               {"client", peer.subject},
               {"idevid_serial", pledge.idevid_serial},
               {"ra", peer.forwarded_by.empty() ? std::string("-") : peer.forwarded_by}});
    return EstResponse::from_error(for_unforwarded_ra(
        make_error(Status::Forbidden,
                   "no voucher was issued to this IDevID through this registrar; --require-voucher"),
        peer));
}

void LocalBackend::record_step(const PeerIdentity& peer, certs::JourneyStep step,
                               std::vector<std::pair<std::string, std::string>> fields) {
    if (config_.journal == nullptr) return;
    auto session = pledge_session(peer, ca_.certificate(), *config_.journal);
    if (!session) {
        log::error("journal_unreadable", {{"error", session.error().message}, {"client", peer.subject}});
        return;
    }
    if (!*session) return;  // no client certificate: no pledge to record it for (logged by the caller)
    // A certificate issued to an EST client that is no pledge belongs in the issuance store alone.
    if (step == certs::JourneyStep::Enrolled && (*session)->session == "other") return;
    // D12: whether /es came over the IDevID or the new LDevID.
    if (step == certs::JourneyStep::EnrollStatus) fields.emplace_back("session", (*session)->session);
    certs::JourneyEvent event{(*session)->pledge, (*session)->device_serial, step, unix_ms_now(),
                              std::move(fields)};
    // The answer still goes out: the pledge did its part, and for an enrollment the certificate is issued
    // and recorded already. The operator learns of the gap here.
    if (auto recorded = config_.journal->record(event); !recorded) {
        log::error("journal_not_recorded",
                   {{"error", recorded.error().message}, {"idevid_serial", event.pledge.idevid_serial}});
    }
}

// RFC 8995 §5.7 / §5.9.4, cBRSKI §6.5.1, BRSKI.md §3.7. The pledge ignores the answer; what matters is the
// log line and the journal, including over which certificate the status came (D12).
EstResponse LocalBackend::telemetry(const EstRequest& request) {
    const bool voucher_status = request.op == Operation::VoucherStatus;
    const std::string kind(mapping::resource_for(request.op).short_name);
    const std::string client = request.peer.subject.empty() ? std::string("-") : request.peer.subject;
    auto telemetry = brski::parse_telemetry(request.content_format, request.body);
    if (!telemetry) {
        log::info("telemetry_refused",
                  {{"resource", kind}, {"client", client}, {"error", telemetry.error().message}});
        return EstResponse::from_error(telemetry.error());
    }
    const brski::Telemetry& t = *telemetry;
    const std::string status = t.status ? "true" : "false";
    log::info("telemetry",
              {{"resource", kind},
               {"status", status},
               {"reason", t.reason.value_or("-")},
               {"version", t.version},
               {"reason_context", t.reason_context ? loggable(*t.reason_context) : std::string("-")},
               {"unknown_fields", t.unknown.empty() ? std::string("-") : loggable(cbor::Value(t.unknown))},
               {"client", client},
               {"client_certificate", request.peer.chain.empty() ? "absent" : "present"}});
    if (t.version_unknown()) {
        // RFC 8995 §5.7: SHOULD log and alert a human.
        log::warn("telemetry_version_unknown",
                  {{"resource", kind},
                   {"version", t.version},
                   {"client", client},
                   {"action", "alert a human: the pledge speaks a telemetry version newer than 1"}});
    }

    std::vector<std::pair<std::string, std::string>> fields{{"status", status}};
    if (t.reason) fields.emplace_back("reason", *t.reason);
    fields.emplace_back("version", std::to_string(t.version));
    record_step(request.peer,
                voucher_status ? certs::JourneyStep::VoucherStatus : certs::JourneyStep::EnrollStatus,
                std::move(fields));
    return EstResponse{};  // 2.04, no payload
}

}  // namespace estgw::gateway
