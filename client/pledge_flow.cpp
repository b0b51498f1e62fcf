#include "client/pledge_flow.hpp"

#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <vector>

#include "brski/pledge_voucher_check.hpp"
#include "brski/voucher.hpp"
#include "certs/keygen.hpp"
#include "client/client_csr.hpp"
#include "client/enroll_results.hpp"
#include "client/repeated_request.hpp"
#include "common/cbor.hpp"
#include "common/command_line.hpp"
#include "common/cose.hpp"
#include "common/pem.hpp"
#include "common/pem_file.hpp"
#include "common/x509.hpp"

namespace estgw::client {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kNonceBytes = 16;                // 8..32 allowed (8366bis)
constexpr std::chrono::seconds kLongestRetryWait{60};  // BRSKI.md §5.2: Max-Age capped at 60 s
constexpr unsigned kCborFormat = 60, kPkcs10Format = 286, kPkixCertFormat = 287, kMultipartFormat = 62;

std::string subject_of(const X509* cert) {
    return name_to_string(X509_get_subject_name(cert));
}

std::string subject_of_der(ByteView der) {
    auto cert = parse_certificate_der(der);
    return cert ? subject_of(cert->get()) : std::string("(unparsable certificate)");
}

// The authorityKeyIdentifier extnValue as a whole OCTET STRING TLV, the form idevid-issuer carries
// (8366bis §6.3, cBRSKI App. C.4: 04 18 30 16 80 14 <keyId>). nullopt without the extension.
std::optional<Bytes> authority_key_identifier_tlv(const X509* cert) {
    const int index = X509_get_ext_by_NID(cert, NID_authority_key_identifier, -1);
    if (index < 0) return std::nullopt;
    const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(X509_get_ext(cert, index));
    auto tlv = i2d_bytes(value, i2d_ASN1_OCTET_STRING);
    if (!tlv) return std::nullopt;
    return std::move(*tlv);
}

// {"version": 1, "status": ..., "reason": ...}: the /vs and /es body (RFC 8995 §5.7, §5.9.4; cBRSKI §6.5.1).
Bytes status_telemetry(bool status, const std::string& reason) {
    cbor::Map body{{cbor::Value("version"), cbor::Value(1u)}, {cbor::Value("status"), cbor::Value(status)}};
    if (!reason.empty()) body.emplace_back(cbor::Value("reason"), cbor::Value(reason));
    return cbor::encode(cbor::Value(std::move(body)));
}

std::vector<std::string> brski_path(const char* resource) {
    return {".well-known", "brski", resource};
}

bool is_no_answer(const Error& e) {
    return e.status == Status::UpstreamTimeout || e.status == Status::UpstreamFailed;
}

Error refused(const std::string& why) {
    return make_error(Status::Forbidden, why);
}

class Pledge {
  public:
    explicit Pledge(const PledgeOptions& options) : o_(options) {}

    int run() {
        if (auto loaded = load(); !loaded) {
            std::cerr << "estgw pledge: " << loaded.error().message << " (see estgw pledge --help)\n";
            return kExitUsage;
        }
        if (!step("dtls", [&] { return connect(); }) || !step("rv", [&] { return request_voucher(); }))
            return exit_code_;
        if (!step("voucher", [&] { return check_voucher(); })) {
            step("vs", [&] { return send_status(*client_, "vs", false, failure_); });
            return kExitFailure;
        }
        if (!step("vs", [&] { return send_status(*client_, "vs", true, ""); }) ||
            !step("sen", [&] { return enroll(); }))
            return exit_code_;
        const bool pinned_issued = pinned_root_issued_ldevid();
        if (!step(pinned_issued ? "domain-ca" : "crts", [&] { return settle_domain_ca(pinned_issued); })) {
            step("es", [&] { return send_status(*client_, "es", false, failure_); });
            return kExitFailure;
        }
        if (!step("es", [&] { return report_enrollment(); })) return exit_code_;
        return kExitOk;
    }

  private:
    // Runs one step and prints its line; on failure also the reason (stderr) and the exit code to return.
    bool step(const char* name, const std::function<Result<std::string>()>& body) {
        const auto start = Clock::now();
        auto result = body();
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
        if (result) {
            std::cout << name << ": " << *result << " (" << ms << " ms)" << std::endl;
            return true;
        }
        // The reason /vs or /es reports, and the message: the step, then what failed in it.
        failure_ = std::string(name) + ": " + result.error().message;
        exit_code_ = is_no_answer(result.error()) ? kExitNoAnswer : kExitFailure;
        std::cout << name << ": failed (" << ms << " ms)" << std::endl;
        std::cerr << "estgw pledge: " << failure_ << "\n";
        return false;
    }

    Result<void> load() {
        ESTGW_TRY(certificates, load_certificates(o_.idevid_file));
        idevid_ = std::move(certificates.front());
        ESTGW_TRY(key, load_private_key(o_.key_file));
        key_ = std::move(key);
        if (auto match = check_key_matches(idevid_.get(), key_.get()); !match)
            return make_error(Status::BadRequest, "--key: " + match.error().message);
        auto serial = subject_serial_number(idevid_.get());
        if (!serial || serial->empty()) {
            return make_error(Status::BadRequest,
                              "--idevid: the subject has no serialNumber (2.5.4.5), which the voucher names");
        }
        expected_.serial_number = *serial;
        expected_.idevid_issuer = authority_key_identifier_tlv(idevid_.get());
        ESTGW_TRY(anchors, load_certificates(o_.masa_anchor_file));
        for (const auto& anchor : anchors) {
            ESTGW_TRY(der, certificate_to_der(anchor.get()));
            expected_.masa_anchors.push_back(std::move(der));
        }
        identity_.cert_file = o_.idevid_file;
        identity_.key_file = o_.key_file;
        identity_.verify_server = false;  // provisional trust until the voucher's pin (RFC 8995 §5.1)
        return {};
    }

    Result<std::string> connect() {
        ESTGW_TRY(address, resolve_server(o_.url));
        address_ = address;
        ESTGW_TRY(client, CoapClient::open(address_, identity_));
        client_ = std::move(client);
        if (auto done = client_->handshake(o_.timeout); !done) return done.error();
        expected_.server_chain = client_->server_chain();
        if (expected_.server_chain.empty()) return refused("the server presented no certificate");
        return "IDevID " + subject_of(idevid_.get()) + "; server " +
               subject_of_der(expected_.server_chain[0]) + ", " +
               std::to_string(expected_.server_chain.size()) + " certificate(s), trusted provisionally";
    }

    RepeatPolicy repeat_policy() const { return RepeatPolicy{o_.timeout, o_.max_wait, kLongestRetryWait}; }

    Result<RepeatedAnswer> exchange(CoapClient& client, const CoapRequest& request, const char* name) {
        return request_repeating(client, request, repeat_policy(),
                                 [name](const CoapAnswer& answer, std::chrono::seconds wait) {
                                     std::cout << name << ": " << code_with_phrase(answer.code)
                                               << ", sending the same request again in " << wait.count()
                                               << " s (Max-Age)" << std::endl;
                                 });
    }

    static std::string retries_text(const RepeatedAnswer& a) {
        return a.retries ? " after " + std::to_string(a.retries) + " repetition(s)" : "";
    }

    // The PVR (BRSKI.md §5.2): proximity, a fresh nonce, the registrar's certificate, our serial number;
    // signed with the IDevID key, no kid and no x5bag (cBRSKI §9.2.2).
    Result<std::string> request_voucher() {
        expected_.nonce.resize(kNonceBytes);
        if (RAND_bytes(expected_.nonce.data(), static_cast<int>(expected_.nonce.size())) != 1)
            return make_error(Status::Internal, "no random nonce");
        brski::Voucher pvr;
        pvr.assertion = brski::Assertion::Proximity;
        pvr.nonce = expected_.nonce;
        pvr.proximity_registrar_cert = expected_.server_chain[0];
        pvr.serial_number = expected_.serial_number;
        ESTGW_TRY(payload, brski::encode(brski::Kind::VoucherRequest, pvr));
        ESTGW_TRY(signed_pvr, cose::sign1(payload, {}, key_.get()));
        CoapRequest request;
        request.method = COAP_REQUEST_CODE_POST;
        request.path = brski_path("rv");
        request.content_format = brski::kVoucherCoseFormat;
        request.accept = brski::kVoucherCoseFormat;
        request.body = std::move(signed_pvr);  // the identical bytes go out again after a 5.03
        ESTGW_TRY(answered, exchange(*client_, request, "rv"));
        if (answered.answer.code != COAP_RESPONSE_CODE(204))
            return refused(code_with_diagnostic(answered.answer));
        voucher_answer_ = std::move(answered.answer);
        return code_with_phrase(voucher_answer_.code) + ", " + std::to_string(voucher_answer_.body.size()) +
               "-byte voucher for serial " + expected_.serial_number + retries_text(answered);
    }

    Result<std::string> check_voucher() {
        auto accepted = brski::check_voucher(voucher_answer_.body, voucher_answer_.content_format, expected_);
        if (!accepted) return refused(accepted.error().message);  // begins with the check's name
        ESTGW_TRY(path, write_output_file(o_.out_dir, "voucher.cose", voucher_answer_.body, kPublicFileMode));
        const brski::Voucher& v = accepted->voucher;
        std::string text = "accepted: signed by " + accepted->signer + ", assertion " +
                           std::string(brski::assertion_name(*v.assertion)) + ", " + accepted->pin;
        for (const auto& unknown : v.unknown)
            text += ", unknown leaf ignored: " + unknown;
        pinned_domain_cert_ = accepted->pinned_domain_cert;
        return text + "; wrote " + path.string();
    }

    Result<std::string> send_status(CoapClient& client, const char* resource, bool status,
                                    const std::string& reason) {
        CoapRequest request;
        request.method = COAP_REQUEST_CODE_POST;
        request.path = brski_path(resource);
        request.content_format = kCborFormat;
        request.body = status_telemetry(status, reason);
        ESTGW_TRY(answered, exchange(client, request, resource));
        if (answered.answer.code != COAP_RESPONSE_CODE(204))
            return refused(code_with_diagnostic(answered.answer));
        return code_with_phrase(answered.answer.code) + ", status " + (status ? "true" : "false") +
               (reason.empty() ? "" : " (" + reason + ")");
    }

    // cBRSKI §6.7.1: a new key and a CSR with the IDevID subject unchanged; skip /att.
    Result<std::string> enroll() {
        ESTGW_TRY(key, certs::generate_key(certs::KeyType{}));
        ldevid_key_ = std::move(key);
        ESTGW_TRY(csr, build_csr(ldevid_key_.get(), X509_get_subject_name(idevid_.get()), nullptr));
        CoapRequest request;
        request.method = COAP_REQUEST_CODE_POST;
        request.path = path_segments(o_.url.root + "/sen");
        request.content_format = kPkcs10Format;
        request.accept = kPkixCertFormat;
        request.body = std::move(csr);
        ESTGW_TRY(answered, exchange(*client_, request, "sen"));
        if (answered.answer.code != COAP_RESPONSE_CODE(204))
            return refused(code_with_diagnostic(answered.answer));
        ESTGW_TRY(cert, issued_certificate(answered.answer));
        if (EVP_PKEY_eq(X509_get0_pubkey(cert.get()), ldevid_key_.get()) != 1)
            return refused("the issued certificate does not carry our new public key");
        ldevid_ = std::move(cert);
        return code_with_phrase(answered.answer.code) + ", issued " + describe_certificate(ldevid_.get()) +
               retries_text(answered);
    }

    // cBRSKI §6.7.1: a pinned root that signed the LDevID is the domain's trust anchor; otherwise /crts.
    bool pinned_root_issued_ldevid() const {
        if (pinned_domain_cert_.empty()) return false;
        auto pinned = parse_certificate_der(pinned_domain_cert_);
        return pinned && is_self_issued(pinned->get()) && is_issued_by(ldevid_.get(), pinned->get());
    }

    Result<std::string> settle_domain_ca(bool pinned_issued) {
        std::vector<Bytes> domain_ca;
        std::string text;
        if (pinned_issued) {
            domain_ca = {pinned_domain_cert_};
            text = "the pinned-domain-cert " + subject_of_der(pinned_domain_cert_) + " issued the LDevID";
        } else {
            CoapRequest request;
            request.path = path_segments(o_.url.root + "/crts");
            request.accept = kMultipartFormat;
            ESTGW_TRY(answered, exchange(*client_, request, "crts"));
            if (answered.answer.code != COAP_RESPONSE_CODE(205))
                return refused(code_with_diagnostic(answered.answer));
            ESTGW_TRY(certificates, ca_certificates(answered.answer));
            if (!brski::chains_to(ldevid_.get(), certificates, certificates))
                return refused("the LDevID does not chain to any of the " +
                               std::to_string(certificates.size()) + " certificate(s) of /crts");
            domain_ca = std::move(certificates);
            text = code_with_phrase(answered.answer.code) + ", " + std::to_string(domain_ca.size()) +
                   " CA certificate(s); the LDevID chains to them";
        }
        std::string pem;
        for (const auto& der : domain_ca)
            pem += pem_encode(der, "CERTIFICATE");
        ESTGW_TRY(ca_path, write_output_file(o_.out_dir, "domain-ca.pem", as_bytes(pem), kPublicFileMode));
        ESTGW_TRY(ldevid_der, certificate_to_der(ldevid_.get()));
        CoapAnswer issued;
        issued.code = COAP_RESPONSE_CODE(204);
        issued.content_format = kPkixCertFormat;
        issued.body = std::move(ldevid_der);
        EnrollOutput out{o_.out_dir};
        out.csr_key = out.new_key = ldevid_key_.get();
        ESTGW_TRY(written, write_enroll_results(Operation::SimpleEnroll, issued, out));
        return text + "; wrote " + ca_path.string() + ", " + (o_.out_dir / "cert.pem").string() + ", " +
               (o_.out_dir / "key.pem").string();
    }

    // RFC 8995 §5.9.4: SHOULD reconnect with the LDevID first. The server must show the certificate the
    // voucher's pin was checked against; a registrar that refuses the new LDevID is reported over the
    // IDevID session as a failed enrollment.
    Result<std::string> report_enrollment() {
        DtlsIdentity ldevid = identity_;
        ldevid.cert_file = (o_.out_dir / "cert.pem").string();
        ldevid.key_file = (o_.out_dir / "key.pem").string();
        auto reconnected = CoapClient::open(address_, ldevid);
        Result<void> handshake =
            reconnected ? (*reconnected)->handshake(o_.timeout) : Result<void>(reconnected.error());
        std::string problem;
        if (!handshake) {
            problem = "a DTLS handshake with the new LDevID failed: " + handshake.error().message;
        } else if (auto chain = (*reconnected)->server_chain();
                   chain.empty() || chain[0] != expected_.server_chain[0]) {
            problem = "the server presented another certificate on the LDevID session";
        }
        if (!problem.empty()) {
            auto reported = send_status(*client_, "es", false, problem);
            return refused(problem + (reported ? "; reported on the IDevID session"
                                               : "; /es not delivered: " + reported.error().message));
        }
        ESTGW_TRY(sent, send_status(**reconnected, "es", true, ""));
        return sent + ", over a new DTLS session with the LDevID";
    }

    const PledgeOptions& o_;
    X509Ptr idevid_;
    EvpPkeyPtr key_;
    DtlsIdentity identity_;
    coap_address_t address_{};
    brski::PledgeExpectations expected_;
    std::unique_ptr<CoapClient> client_;
    CoapAnswer voucher_answer_;
    Bytes pinned_domain_cert_;
    EvpPkeyPtr ldevid_key_;
    X509Ptr ldevid_;
    std::string failure_;
    int exit_code_ = kExitFailure;
};

}  // namespace

int run_pledge_flow(const PledgeOptions& options) {
    CoapLibrary library(LOG_WARNING);  // outlives every CoapClient of the pledge
    return Pledge(options).run();
}

}  // namespace estgw::client
