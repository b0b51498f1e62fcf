#include "brski/masa.hpp"

#include <openssl/err.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <utility>

#include "brski/pvr_checks.hpp"
#include "common/cbor.hpp"
#include "common/cose.hpp"
#include "common/json.hpp"
#include "common/keys.hpp"
#include "common/pem_file.hpp"
#include "common/x509.hpp"

namespace estgw::brski {

namespace {

Error refuse(Status status, std::string reason) {
    return make_error(status, std::move(reason));
}

// ---- media types (RFC 9110 §8.3.1, §12.5.1) ----

std::string lowercase_trimmed(std::string_view text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    text = text.substr(first, text.find_last_not_of(" \t") - first + 1);
    std::string out(text);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// The media type of a Content-Type or one Accept member without its parameters, and its q (1 when absent).
struct MediaRange {
    std::string type;
    double q = 1.0;
};

MediaRange media_range(std::string_view member) {
    MediaRange range;
    const std::size_t semicolon = member.find(';');
    range.type = lowercase_trimmed(member.substr(0, semicolon));
    std::size_t at = semicolon;
    while (at != std::string_view::npos) {
        const std::size_t next = member.find(';', at + 1);
        const std::string parameter = lowercase_trimmed(member.substr(at + 1, next - at - 1));
        if (parameter.rfind("q=", 0) == 0) {
            try {
                range.q = std::stod(parameter.substr(2));
            } catch (const std::exception&) {
                range.q = 0;  // an unreadable weight admits nothing, rather than everything
            }
        }
        at = next;
    }
    return range;
}

bool is_voucher_type(std::string_view type) {
    return type == kVoucherMediaType || type == kVoucherMediaTypeOld;
}

// ---- certificates ----

Bytes sha256(ByteView data) {
    Bytes digest(SHA256_DIGEST_LENGTH);
    SHA256(data.data(), data.size(), digest.data());
    return digest;
}

std::string subject_of(const X509* cert) {
    return name_to_string(X509_get_subject_name(cert));
}

bool is_ca(const X509* cert) {
    return X509_check_ca(const_cast<X509*>(cert)) != 0;
}

struct BagCertificate {
    Bytes der;
    X509Ptr cert;
};

Result<std::vector<BagCertificate>> bag_certificates(const cose::Sign1& message) {
    std::vector<BagCertificate> out;
    for (Bytes& der : message.certificates()) {
        auto cert = parse_certificate_der(der);
        if (!cert) {
            return refuse(Status::BadRequest, "x5bag certificate " + std::to_string(out.size() + 1) +
                                                  " does not parse: " + cert.error().message);
        }
        out.push_back(BagCertificate{std::move(der), std::move(*cert)});
    }
    if (out.empty()) {
        return refuse(Status::BadRequest,
                      "the voucher-request carries no x5bag: the registrar's certificate must be in it "
                      "(cBRSKI §9.2.1)");
    }
    return out;
}

bool verifies(const cose::Sign1& message, const X509* cert) {
    const EVP_PKEY* key = X509_get0_pubkey(cert);
    const bool ok = key != nullptr && cose::verify_sign1(message, key).ok();
    ERR_clear_error();
    return ok;
}

// RFC 8995 §5.5.3–5.5.4: the registrar is the certificate whose key signed the RVR, and it must be an RA.
Result<const BagCertificate*> registrar_signer(const cose::Sign1& rvr,
                                               const std::vector<BagCertificate>& bag) {
    const BagCertificate* signer = nullptr;
    for (const BagCertificate& candidate : bag) {
        if (!verifies(rvr, candidate.cert.get())) continue;
        if (has_extended_key_usage(candidate.cert.get(), NID_cmcRA)) return &candidate;
        if (signer == nullptr) signer = &candidate;
    }
    if (signer == nullptr) {
        return refuse(Status::Forbidden,
                      "the voucher-request signature does not verify with any certificate of its x5bag");
    }
    return refuse(Status::Forbidden, "the voucher-request signer " + subject_of(signer->cert.get()) +
                                         " lacks the id-kp-cmcRA extended key usage (RFC 8995 §5.5.4)");
}

// The lowest-level CA of the registrar's chain in the bag: the registrar's issuer, or the registrar itself.
const BagCertificate& pinned_certificate(const BagCertificate& registrar,
                                         const std::vector<BagCertificate>& bag) {
    for (const BagCertificate& candidate : bag) {
        if (&candidate != &registrar && is_ca(candidate.cert.get()) &&
            is_issued_by(registrar.cert.get(), candidate.cert.get())) {
            return candidate;
        }
    }
    return registrar;
}

// End-entity certificates of the bag (other than the registrar's) that chain to a pledge CA, the rest of
// the bag serving as intermediates. Time is not checked: IDevIDs are meant to outlive any validity period
// (802.1AR; RFC 9148 §3 lets an expired IDevID through).
Result<std::vector<const BagCertificate*>> pledge_candidates(const std::vector<BagCertificate>& bag,
                                                             const BagCertificate& registrar,
                                                             const MasaConfig& config) {
    X509StorePtr store(X509_STORE_new());
    X509StackPtr untrusted(sk_X509_new_null());
    if (!store || !untrusted) return refuse(Status::Internal, "out of memory");
    for (const X509Ptr& ca : config.pledge_cas) {
        if (X509_STORE_add_cert(store.get(), ca.get()) != 1) ERR_clear_error();  // a duplicate is no error
    }
    X509_STORE_set_flags(store.get(), X509_V_FLAG_NO_CHECK_TIME);
    for (const BagCertificate& entry : bag) {
        if (sk_X509_push(untrusted.get(), entry.cert.get()) <= 0)
            return refuse(Status::Internal, "out of memory");
        X509_up_ref(entry.cert.get());
    }
    std::vector<const BagCertificate*> out;
    for (const BagCertificate& entry : bag) {
        if (&entry == &registrar || is_ca(entry.cert.get())) continue;
        X509StoreCtxPtr ctx(X509_STORE_CTX_new());
        if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), entry.cert.get(), untrusted.get()) != 1) {
            return refuse(Status::Internal, "X509_STORE_CTX_init failed");
        }
        if (X509_verify_cert(ctx.get()) == 1) out.push_back(&entry);
    }
    ERR_clear_error();
    if (out.empty()) {
        return refuse(Status::NotFound,
                      "no pledge certificate in the x5bag chains to a --pledge-ca: not a device of this "
                      "manufacturer");
    }
    return out;
}

// The idevid-issuer values that name this IDevID's issuer (8366bis §6.1, BRSKI.md §3.3 and D9): the AKI
// extnValue as an OCTET STRING TLV (04 18 30 16 80 14 <keyId>), its content alone (the SEQUENCE), or the
// bare keyIdentifier. Without an AKI the same forms of SHA-1 over the IDevID's own key (the text's rule).
Result<std::vector<Bytes>> idevid_issuer_forms(const X509* idevid) {
    Bytes key_id;
    Bytes sequence;
    const int index = X509_get_ext_by_NID(idevid, NID_authority_key_identifier, -1);
    if (index >= 0) {
        const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(X509_get_ext(idevid, index));
        sequence.assign(ASN1_STRING_get0_data(value),
                        ASN1_STRING_get0_data(value) + ASN1_STRING_length(value));
        if (const ASN1_OCTET_STRING* id = X509_get0_authority_key_id(const_cast<X509*>(idevid))) {
            key_id.assign(ASN1_STRING_get0_data(id), ASN1_STRING_get0_data(id) + ASN1_STRING_length(id));
        }
    } else {
        unsigned char digest[SHA_DIGEST_LENGTH];
        unsigned int length = 0;
        if (X509_pubkey_digest(idevid, EVP_sha1(), digest, &length) != 1) {
            return refuse(Status::Internal, "SHA-1 of the IDevID key failed");
        }
        key_id.assign(digest, digest + length);
        sequence = {0x30, static_cast<std::uint8_t>(key_id.size() + 2), 0x80,
                    static_cast<std::uint8_t>(key_id.size())};
        sequence.insert(sequence.end(), key_id.begin(), key_id.end());
    }
    std::vector<Bytes> forms;
    if (sequence.size() < 0x80) {
        Bytes tlv{0x04, static_cast<std::uint8_t>(sequence.size())};
        tlv.insert(tlv.end(), sequence.begin(), sequence.end());
        forms.push_back(std::move(tlv));
    }
    forms.push_back(sequence);
    if (!key_id.empty()) forms.push_back(key_id);
    return forms;
}

// RFC 8995 §5.5.5, BRSKI.md §3.2 check 8 and D6: each proximity field present names the RVR signer.
Result<void> check_proximity(const Voucher& pvr, const BagCertificate& registrar) {
    if (!pvr.proximity_registrar_cert && !pvr.proximity_registrar_pubk &&
        !pvr.proximity_registrar_pubk_sha256) {
        return refuse(Status::Forbidden,
                      "the prior-signed-voucher-request names no registrar (no proximity-registrar-cert, "
                      "-pubk or -pubk-sha256)");
    }
    ESTGW_TRY(spki, public_key_to_der(X509_get0_pubkey(registrar.cert.get())));
    const std::string who = " does not match the voucher-request signer " + subject_of(registrar.cert.get());
    if (pvr.proximity_registrar_cert && *pvr.proximity_registrar_cert != registrar.der) {
        return refuse(Status::Forbidden, "proximity-registrar-cert" + who);
    }
    if (pvr.proximity_registrar_pubk && *pvr.proximity_registrar_pubk != spki) {
        return refuse(Status::Forbidden, "proximity-registrar-pubk" + who);
    }
    if (pvr.proximity_registrar_pubk_sha256 && *pvr.proximity_registrar_pubk_sha256 != sha256(spki)) {
        return refuse(Status::Forbidden, "proximity-registrar-pubk-sha256" + who);
    }
    return {};
}

// The prior-signed-voucher-request, decoded and verified with whichever pledge certificate signed it.
struct SignedPvr {
    Voucher payload;
    const BagCertificate* idevid = nullptr;
};

Result<SignedPvr> verified_pvr(const Bytes& bytes, const std::vector<const BagCertificate*>& pledges) {
    auto message = cose::decode_sign1(bytes);
    if (!message) {
        return refuse(Status::BadRequest, "prior-signed-voucher-request: " + message.error().message);
    }
    auto payload = decode(Kind::VoucherRequest, message->payload);
    if (!payload) {
        return refuse(Status::BadRequest, "prior-signed-voucher-request payload: " + payload.error().message);
    }
    for (const BagCertificate* pledge : pledges) {
        if (verifies(*message, pledge->cert.get())) return SignedPvr{std::move(*payload), pledge};
    }
    return refuse(Status::Forbidden,
                  "the prior-signed-voucher-request signature does not verify with the "
                  "pledge certificate " +
                      subject_of(pledges.front()->cert.get()));
}

std::string text_or_absent(const std::optional<std::string>& value) {
    return value ? "'" + *value + "'" : "absent";
}

// RFC 8995 §5.5.5–5.5.6: the PVR says what the pledge asked, and the RVR must say the same about it.
Result<void> check_pvr_against_rvr(const Voucher& rvr, const SignedPvr& pvr,
                                   const BagCertificate& registrar) {
    const Voucher& p = pvr.payload;
    if (p.assertion != Assertion::Proximity) {
        return refuse(Status::Forbidden,
                      std::string("the prior-signed-voucher-request asserts ") +
                          (p.assertion ? std::string(assertion_name(*p.assertion)) : "nothing") +
                          ", not proximity");
    }
    if (auto r = check_proximity(p, registrar); !r) return r.error();
    const std::optional<std::string> idevid_serial = idevid_serial_number(pvr.idevid->cert.get());
    if (!idevid_serial) {
        return refuse(Status::Forbidden, "the pledge certificate " + subject_of(pvr.idevid->cert.get()) +
                                             " has no subject serialNumber (RFC 8995 §2.3.1)");
    }
    if (p.serial_number != rvr.serial_number || *rvr.serial_number != *idevid_serial) {
        return refuse(Status::Forbidden,
                      "serial-number mismatch: voucher-request " + text_or_absent(rvr.serial_number) +
                          ", prior-signed-voucher-request " + text_or_absent(p.serial_number) +
                          ", IDevID serialNumber '" + *idevid_serial + "'");
    }
    if (rvr.idevid_issuer) {
        ESTGW_TRY(forms, idevid_issuer_forms(pvr.idevid->cert.get()));
        if (std::find(forms.begin(), forms.end(), *rvr.idevid_issuer) == forms.end()) {
            return refuse(Status::Forbidden,
                          "idevid-issuer " + to_hex(*rvr.idevid_issuer) +
                              " is not the pledge certificate's authority key identifier " +
                              to_hex(forms.front()));
        }
    }
    if (p.nonce != rvr.nonce) {
        return refuse(Status::Forbidden, "nonce mismatch: voucher-request " + to_hex(*rvr.nonce) +
                                             ", prior-signed-voucher-request " +
                                             (p.nonce ? to_hex(*p.nonce) : std::string("absent")));
    }
    return {};
}

Result<IssuedVoucher> sign_voucher(const Voucher& rvr, const BagCertificate& registrar,
                                   const BagCertificate& pledge, const std::vector<BagCertificate>& bag,
                                   const MasaConfig& config, std::chrono::system_clock::time_point now) {
    const BagCertificate& pinned = pinned_certificate(registrar, bag);
    Voucher voucher;
    voucher.assertion = Assertion::Proximity;
    voucher.created_on = rfc3339_utc(now);
    voucher.domain_cert_revocation_checks = false;
    voucher.nonce = rvr.nonce;
    voucher.pinned_domain_cert = pinned.der;
    voucher.serial_number = rvr.serial_number;
    auto payload = encode(Kind::Voucher, voucher);
    if (!payload) return refuse(Status::Internal, "voucher encoding: " + payload.error().message);
    const cbor::Map unprotected{
        {cbor::Value(cose::kHeaderX5Bag), cose::certificate_bag(config.signing_chain)}};
    auto signed_voucher = cose::sign1(*payload, unprotected, config.signing_key.get());
    if (!signed_voucher)
        return refuse(Status::Internal, "voucher signing: " + signed_voucher.error().message);

    IssuedVoucher issued;
    issued.voucher = std::move(*signed_voucher);
    issued.created_on = *voucher.created_on;
    issued.serial_number = *voucher.serial_number;
    issued.idevid_issuer = name_to_string(X509_get_issuer_name(pledge.cert.get()));
    issued.registrar_subject = subject_of(registrar.cert.get());
    issued.nonce = *voucher.nonce;
    issued.pinned_domain_cert_sha256 = sha256(pinned.der);
    issued.assertion = *voucher.assertion;
    return issued;
}

Result<IssuedVoucher> decide(ByteView body, const MasaConfig& config,
                             std::chrono::system_clock::time_point now, std::string& serial_seen) {
    auto rvr_message = cose::decode_sign1(body);
    if (!rvr_message) return refuse(Status::BadRequest, "voucher-request: " + rvr_message.error().message);
    auto rvr = decode(Kind::VoucherRequest, rvr_message->payload);
    if (!rvr) return refuse(Status::BadRequest, "voucher-request payload: " + rvr.error().message);
    if (!rvr->serial_number) return refuse(Status::BadRequest, "the voucher-request has no serial-number");
    serial_seen = *rvr->serial_number;

    ESTGW_TRY(bag, bag_certificates(*rvr_message));
    ESTGW_TRY(registrar, registrar_signer(*rvr_message, bag));
    ESTGW_TRY(pledges, pledge_candidates(bag, *registrar, config));
    if (!rvr->nonce) {
        return refuse(Status::Forbidden,
                      "the voucher-request has no nonce: this MASA issues no nonceless "
                      "vouchers");
    }
    if (!rvr->prior_signed_voucher_request) {
        return refuse(Status::Forbidden,
                      "the voucher-request carries no prior-signed-voucher-request: this MASA "
                      "issues proximity vouchers only");
    }
    ESTGW_TRY(pvr, verified_pvr(*rvr->prior_signed_voucher_request, pledges));
    if (auto r = check_pvr_against_rvr(*rvr, pvr, *registrar); !r) return r.error();
    if (config.serials && config.serials->count(*rvr->serial_number) == 0) {
        return refuse(Status::NotFound, "unknown device: serial-number '" + *rvr->serial_number +
                                            "' is not in the --serials list");
    }
    return sign_voucher(*rvr, *registrar, *pvr.idevid, bag, config, now);
}

}  // namespace

Result<MasaConfig> MasaConfig::create(std::vector<X509Ptr> pledge_cas,
                                      std::vector<X509Ptr> signing_certificates, EvpPkeyPtr signing_key,
                                      std::optional<std::set<std::string>> serials) {
    if (pledge_cas.empty()) return refuse(Status::BadRequest, "no pledge CA certificate");
    for (const X509Ptr& ca : pledge_cas) {
        if (!is_ca(ca.get())) {
            return refuse(Status::BadRequest,
                          "the pledge CA " + subject_of(ca.get()) + " is not a CA certificate");
        }
    }
    if (signing_certificates.empty() || !signing_key) {
        return refuse(Status::BadRequest, "no signing certificate or key");
    }
    if (auto matches = check_key_matches(signing_certificates.front().get(), signing_key.get()); !matches) {
        return refuse(Status::BadRequest, "the signing key does not belong to the signing certificate " +
                                              subject_of(signing_certificates.front().get()));
    }
    MasaConfig config;
    const X509* current = signing_certificates.front().get();
    std::vector<bool> used(signing_certificates.size(), false);
    used[0] = true;
    while (true) {
        ESTGW_TRY(der, certificate_to_der(current));
        config.signing_chain.push_back(std::move(der));
        if (is_self_issued(current)) break;
        const X509* issuer = nullptr;
        for (std::size_t i = 0; i < signing_certificates.size() && issuer == nullptr; ++i) {
            if (!used[i] && is_issued_by(current, signing_certificates[i].get())) {
                used[i] = true;
                issuer = signing_certificates[i].get();
            }
        }
        if (issuer == nullptr) break;
        current = issuer;
    }
    ERR_clear_error();
    config.pledge_cas = std::move(pledge_cas);
    config.signing_key = std::move(signing_key);
    config.serials = std::move(serials);
    return config;
}

Result<std::string> negotiate_voucher_media_type(std::string_view content_type,
                                                 const std::optional<std::string>& accept) {
    const std::string request_type = media_range(content_type).type;
    if (!is_voucher_type(request_type)) {
        return refuse(
            Status::UnsupportedFormat,
            "Content-Type " +
                (content_type.empty() ? std::string("missing") : "'" + std::string(content_type) + "'") +
                ": a voucher-request is application/voucher+cose (RFC 8995 §5.5, cBRSKI §7.1)");
    }
    if (!accept) {
        return refuse(Status::NotAcceptable,
                      "Accept missing: the voucher comes as application/voucher+cose, "
                      "which the request must accept (cBRSKI §7.1)");
    }
    bool wildcard = false;
    std::optional<std::string> named;
    std::size_t start = 0;
    while (start <= accept->size()) {
        const std::size_t comma = accept->find(',', start);
        const MediaRange range = media_range(std::string_view(*accept).substr(start, comma - start));
        if (range.q > 0) {
            if (range.type == request_type)
                named = request_type;
            else if (is_voucher_type(range.type) && !named)
                named = range.type;
            else if (range.type == "*/*" || range.type == "application/*")
                wildcard = true;
        }
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    if (named) return *named;
    if (wildcard) return request_type;
    return refuse(Status::NotAcceptable,
                  "Accept '" + *accept + "' excludes application/voucher+cose, the only format of a voucher");
}

VoucherDecision decide_voucher_request(ByteView body, const MasaConfig& config,
                                       std::chrono::system_clock::time_point now) {
    VoucherDecision decision;
    decision.voucher = decide(body, config, now, decision.serial_number);
    return decision;
}

std::string audit_line(const IssuedVoucher& voucher) {
    std::string out = "{\"time\":";
    append_json_string(out, voucher.created_on);
    out += ",\"serial\":";
    append_json_string(out, voucher.serial_number);
    out += ",\"idevid_issuer\":";
    append_json_string(out, voucher.idevid_issuer);
    out += ",\"registrar_subject\":";
    append_json_string(out, voucher.registrar_subject);
    out += ",\"nonce\":";
    append_json_string(out, to_hex(voucher.nonce));
    out += ",\"pinned_domain_cert_sha256\":";
    append_json_string(out, to_hex(voucher.pinned_domain_cert_sha256));
    out += ",\"assertion\":";
    append_json_string(out, assertion_name(voucher.assertion));
    out += "}";
    return out;
}

Result<std::set<std::string>> parse_serial_list(std::string_view text) {
    std::set<std::string> serials;
    std::size_t line_number = 0;
    std::size_t start = 0;
    while (start < text.size()) {
        ++line_number;
        const std::size_t end = std::min(text.find('\n', start), text.size());
        std::string_view line = text.substr(start, end - start);
        start = end + 1;
        line = line.substr(0, line.find('#'));
        const std::size_t first = line.find_first_not_of(" \t\r");
        if (first == std::string_view::npos) continue;
        line = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
        for (char c : line) {
            const auto byte = static_cast<unsigned char>(c);
            if (byte <= 0x20 || byte == 0x7f) {
                return refuse(Status::BadRequest,
                              "line " + std::to_string(line_number) +
                                  ": a serial-number has no spaces or control characters");
            }
        }
        serials.emplace(line);
    }
    return serials;
}

int masa_http_status(Status status) {
    // clang-format off
    constexpr std::pair<Status, int> kStatuses[] = {
        {Status::BadRequest,        400},
        {Status::Forbidden,         403},
        {Status::NotFound,          404},  // RFC 8995 §5.6: unknown device
        {Status::NotAcceptable,     406},
        {Status::PayloadTooLarge,   413},
        {Status::UnsupportedFormat, 415},
    };
    // clang-format on
    for (const auto& [s, code] : kStatuses) {
        if (s == status) return code;
    }
    return 500;
}

std::string rfc3339_utc(std::chrono::system_clock::time_point time) {
    const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char text[32];
    const std::size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(text, length);
}

}  // namespace estgw::brski
