#include "brski/pledge_voucher_check.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509_vfy.h>

#include "common/cose.hpp"
#include "common/keys.hpp"
#include "common/openssl.hpp"
#include "common/x509.hpp"

namespace estgw::brski {

namespace {

Error refused(std::string_view check, const std::string& why) {
    return make_error(Status::Forbidden, std::string(check) + ": " + why);
}

Error malformed(std::string_view check, const std::string& why) {
    return make_error(Status::BadRequest, std::string(check) + ": " + why);
}

// Certificates that parse; the others are left out (an x5bag may carry what we cannot use).
std::vector<X509Ptr> parse_all(const std::vector<Bytes>& ders) {
    std::vector<X509Ptr> out;
    for (const auto& der : ders) {
        if (auto cert = parse_certificate_der(der)) out.push_back(std::move(*cert));
    }
    return out;
}

// Whether `leaf` verifies up to one of `anchors` through `intermediates`. Any anchor may end the path
// (PARTIAL_CHAIN: a pinned or configured CA need not be a root) and validity periods are not checked (the
// pledge has no trusted clock yet, RFC 8995 §2.6.1).
bool verifies_up_to(const X509* leaf, const std::vector<X509Ptr>& intermediates,
                    const std::vector<X509Ptr>& anchors) {
    X509StorePtr store(X509_STORE_new());
    X509StackPtr untrusted(sk_X509_new_null());
    X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (!store || !untrusted || !ctx) return false;
    for (const auto& a : anchors) {
        if (X509_STORE_add_cert(store.get(), a.get()) != 1) return false;
    }
    for (const auto& i : intermediates) {
        if (!sk_X509_push(untrusted.get(), i.get())) return false;
        X509_up_ref(i.get());
    }
    X509_STORE_set_flags(store.get(), X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_NO_CHECK_TIME);
    if (X509_STORE_CTX_init(ctx.get(), store.get(), const_cast<X509*>(leaf), untrusted.get()) != 1)
        return false;
    const bool ok = X509_verify_cert(ctx.get()) == 1;
    ERR_clear_error();
    return ok;
}

std::string subject_of(const X509* cert) {
    return name_to_string(X509_get_subject_name(cert));
}

// The certificate whose key verified the voucher: an anchor itself, or a bag certificate that chains to one.
Result<std::string> check_signature(const cose::Sign1& message, const std::vector<Bytes>& anchor_ders) {
    const std::vector<X509Ptr> anchors = parse_all(anchor_ders);
    if (anchors.empty()) return refused("signature", "no usable --masa-anchor certificate");
    std::string last;
    for (const auto& anchor : anchors) {
        auto verified = cose::verify_sign1(message, X509_get0_pubkey(anchor.get()));
        if (verified) return subject_of(anchor.get());
        last = verified.error().message;
    }
    const std::vector<X509Ptr> bag = parse_all(message.certificates());
    for (const auto& signer : bag) {
        auto verified = cose::verify_sign1(message, X509_get0_pubkey(signer.get()));
        if (!verified) continue;
        if (verifies_up_to(signer.get(), bag, anchors)) return subject_of(signer.get());
        return refused("signature", "signed by " + subject_of(signer.get()) +
                                        " from the x5bag, which does not chain to --masa-anchor");
    }
    return refused("signature", "does not verify with --masa-anchor" +
                                    std::string(bag.empty() ? "" : " or a certificate of its x5bag") + " (" +
                                    last + ")");
}

Result<void> check_assertion(const Voucher& v) {
    if (!v.assertion) return refused("assertion", "absent");
    switch (*v.assertion) {
        case Assertion::Verified:
        case Assertion::Logged:
        case Assertion::Proximity:
            return {};
        case Assertion::AgentProximity:
            break;
    }
    return refused("assertion", std::string(assertion_name(*v.assertion)) +
                                    " is not accepted (verified, logged or proximity)");
}

Result<void> check_identity(const Voucher& v, const PledgeExpectations& expected) {
    if (!v.serial_number) return refused("serial-number", "absent");
    if (*v.serial_number != expected.serial_number) {
        return refused("serial-number",
                       "'" + *v.serial_number + "' is not ours ('" + expected.serial_number + "')");
    }
    if (v.idevid_issuer) {
        if (!expected.idevid_issuer)
            return refused("idevid-issuer", "present, but our IDevID has no authorityKeyIdentifier");
        if (*v.idevid_issuer != *expected.idevid_issuer) {
            return refused("idevid-issuer", to_hex(*v.idevid_issuer) + " is not our IDevID's AKI " +
                                                to_hex(*expected.idevid_issuer));
        }
    }
    if (!v.nonce) return refused("nonce", "absent: nonceless vouchers are not accepted");
    if (*v.nonce != expected.nonce)
        return refused("nonce", to_hex(*v.nonce) + " is not the nonce we sent, " + to_hex(expected.nonce));
    return {};
}

Result<Bytes> sha256(ByteView data) {
    Bytes digest(EVP_MAX_MD_SIZE);
    unsigned int length = 0;
    if (EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1)
        return openssl_error(Status::Internal, "pin", "SHA-256");
    digest.resize(length);
    return digest;
}

// Each pin present must match the registrar of this session; at least one must be present.
Result<std::string> check_pin(const Voucher& v, const std::vector<Bytes>& server_chain) {
    if (!v.pinned_domain_cert && !v.pinned_domain_pubk && !v.pinned_domain_pubk_sha256)
        return refused("pin", "the voucher pins nothing (no pinned-domain-cert, -pubk or -pubk-sha256)");
    std::vector<X509Ptr> chain = parse_all(server_chain);
    if (chain.empty() || chain.size() != server_chain.size())
        return refused("pin",
                       "no usable server certificate from the DTLS handshake to check the pin against");
    const X509* server = chain.front().get();
    EVP_PKEY* server_key = X509_get0_pubkey(server);
    if (!server_key) return refused("pin", "the server certificate has no usable public key");
    ESTGW_TRY(server_spki, public_key_to_der(server_key));
    std::string described;
    if (v.pinned_domain_cert) {
        auto pinned = parse_certificate_der(*v.pinned_domain_cert);
        if (!pinned) return refused("pin", "pinned-domain-cert does not parse: " + pinned.error().message);
        const std::string name = subject_of(pinned->get());
        const bool same_key = EVP_PKEY_eq(X509_get0_pubkey(pinned->get()), server_key) == 1;
        std::vector<X509Ptr> anchor;
        anchor.push_back(std::move(*pinned));
        if (!same_key && !verifies_up_to(server, chain, anchor)) {
            return refused("pin", "the server's certificate " + subject_of(server) +
                                      " does not chain to pinned-domain-cert " + name);
        }
        described = "pinned-domain-cert " + name;
    }
    if (v.pinned_domain_pubk) {
        auto pinned = parse_public_key_der(*v.pinned_domain_pubk);
        if (!pinned || EVP_PKEY_eq(pinned->get(), server_key) != 1)
            return refused("pin", "pinned-domain-pubk is not the server's public key");
        described += std::string(described.empty() ? "" : ", ") + "pinned-domain-pubk";
    }
    if (v.pinned_domain_pubk_sha256) {
        ESTGW_TRY(digest, sha256(server_spki));
        if (*v.pinned_domain_pubk_sha256 != digest)
            return refused("pin", "pinned-domain-pubk-sha256 is not the SHA-256 of the server's public key");
        described += std::string(described.empty() ? "" : ", ") + "pinned-domain-pubk-sha256";
    }
    return described;
}

}  // namespace

bool chains_to(const X509* leaf, const std::vector<Bytes>& intermediates, const std::vector<Bytes>& anchors) {
    return verifies_up_to(leaf, parse_all(intermediates), parse_all(anchors));
}

Result<AcceptedVoucher> check_voucher(ByteView answer, std::optional<unsigned> content_format,
                                      const PledgeExpectations& expected) {
    if (content_format != kVoucherCoseFormat) {
        return malformed("content-format",
                         (content_format ? std::to_string(*content_format) : std::string("none")) +
                             ", not application/voucher+cose (836)");
    }
    auto message = cose::decode_sign1(answer);
    if (!message) return malformed("cose", message.error().message);
    ESTGW_TRY(signer, check_signature(*message, expected.masa_anchors));
    auto voucher = decode(Kind::Voucher, message->payload);
    if (!voucher) return malformed("payload", voucher.error().message);
    if (auto ok = check_assertion(*voucher); !ok) return ok.error();
    if (auto ok = check_identity(*voucher, expected); !ok) return ok.error();
    ESTGW_TRY(pin, check_pin(*voucher, expected.server_chain));
    AcceptedVoucher accepted;
    accepted.signer = std::move(signer);
    accepted.pin = std::move(pin);
    if (voucher->pinned_domain_cert) accepted.pinned_domain_cert = *voucher->pinned_domain_cert;
    accepted.voucher = std::move(*voucher);
    return accepted;
}

}  // namespace estgw::brski
