#include "gateway/local_backend.hpp"

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

}  // namespace

Result<std::unique_ptr<LocalBackend>> LocalBackend::create(LocalBackendConfig config,
                                                           const certs::IssuingCa& ca,
                                                           certs::IssuanceStore& store, WorkerPool& pool) {
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

Result<Bytes> LocalBackend::issue_and_record(const X509_REQ* csr, const EVP_PKEY* key,
                                             certs::IssuanceOperation operation, const PeerIdentity& peer) {
    // The serial is 128 random bits; a collision is astronomically rare, but the store's uniqueness
    // constraint is what guarantees it, so a duplicate is simply issued again.
    for (int attempt = 0; attempt < 3; ++attempt) {
        auto cert = key ? ca_.issue(csr, key, config_.profile) : ca_.issue(csr, config_.profile);
        if (!cert) return cert.error();
        auto record = certs::make_issuance_record(cert->get(), operation, peer.subject);
        if (!record) return record.error();
        record->ra_subject = peer.forwarded_by;
        auto inserted = store_.insert(*record);
        if (!inserted)
            return make_error(Status::Internal, "cannot record the certificate: " + inserted.error().message);
        if (*inserted == certs::InsertOutcome::Inserted) {
            metrics::estgw_metrics().certificates_issued.add({std::string(certs::operation_name(operation))});
            log::info("issued", {{"serial", record->serial},
                                 {"subject", record->subject},
                                 {"operation", std::string(certs::operation_name(operation))},
                                 {"client", peer.subject.empty() ? std::string("-") : peer.subject},
                                 {"ra", peer.forwarded_by.empty() ? std::string("-") : peer.forwarded_by}});
            return make_certs_only_from_parsed({cert->get()});
        }
    }
    return make_error(Status::Internal, "could not draw a unique serial number");
}

EstResponse LocalBackend::enroll(const EstRequest& request) {
    auto csr = certs::check_enrollment_request(request, config_.policy);
    if (!csr) {
        Error error = csr.error();
        // Forbidden are the checks against the client (its certificate, its session), not the CSR's form.
        if (error.status == Status::Forbidden) error = for_unforwarded_ra(std::move(error), request.peer);
        return EstResponse::from_error(error);
    }
    const EVP_PKEY* csr_key = X509_REQ_get0_pubkey(csr->get());

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
        auto same = certs::same_public_key(csr->get(), current);
        if (!same) return EstResponse::from_error(same.error());
        operation = *same ? certs::IssuanceOperation::Renew : certs::IssuanceOperation::Rekey;
    }

    bool server_keygen = request.op == Operation::ServerKeyGen || request.op == Operation::ServerKeyGenCert;
    if (!server_keygen) {
        if (auto allowed = config_.key_policy.check(csr_key); !allowed) {
            return EstResponse::error(Status::BadRequest, allowed.error().message);
        }
        auto certs_only = issue_and_record(csr->get(), nullptr, operation, request.peer);
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
    auto protection = certs::resolve_key_protection(csr->get(), envelope);
    if (!protection) {
        Error error = protection.error();
        // Of the protections, only a key encrypted to the client's certificate (RFC 7030 §4.4.1.2) depends on
        // who the client is.
        auto asked = certs::requested_key_protection(csr->get());
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
    auto certs_only =
        issue_and_record(csr->get(), key->get(), certs::IssuanceOperation::ServerKeyGen, request.peer);
    if (!certs_only) return EstResponse::from_error(certs_only.error());
    EstResponse r;
    r.format = ContentFormat::MultipartCore;
    r.parts.push_back(BodyPart{key_part->format, std::move(key_part->body)});
    r.parts.push_back(BodyPart{ContentFormat::CertsOnly, std::move(*certs_only)});
    return r;
}

// RFC 8995 §5.7 / §5.9.4, cBRSKI §6.5.1: {"version": uint, "status": bool, ? "reason": text, ...}. The pledge
// ignores the answer; what matters is the record, including whether a client certificate came with it.
EstResponse LocalBackend::telemetry(const EstRequest& request) {
    std::string kind(mapping::resource_for(request.op).short_name);
    std::string status = "?", reason;
    if (request.content_format == ContentFormat::Cbor) {
        auto value = cbor::decode(request.body);
        if (!value || !value->is_map())
            return EstResponse::error(Status::BadRequest, "telemetry must be a CBOR map");
        const cbor::Value* version = value->find(cbor::Value("version"));
        const cbor::Value* ok = value->find(cbor::Value("status"));
        if (!version || !version->is_uint() || !ok || !ok->is_bool()) {
            return EstResponse::error(Status::BadRequest,
                                      "telemetry needs \"version\" (uint) and \"status\" (bool)");
        }
        status = ok->as_bool() ? "true" : "false";
        if (const cbor::Value* why = value->find(cbor::Value("reason")); why && why->is_text())
            reason = why->as_text();
    } else {
        reason = to_string(request.body).substr(0, 256);
    }
    log::info("telemetry",
              {{"resource", kind},
               {"status", status},
               {"reason", reason},
               {"client", request.peer.subject.empty() ? std::string("-") : request.peer.subject},
               {"client_certificate", request.peer.chain.empty() ? "absent" : "present"}});
    EstResponse r;
    return r;
}

}  // namespace estgw::gateway
