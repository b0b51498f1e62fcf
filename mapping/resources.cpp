#include "mapping/resources.hpp"

#include <array>

namespace estgw::mapping {

namespace {

using CF = ContentFormat;
constexpr CF kNone[] = {CF::LinkFormat};  // placeholder storage; spans below use size 0 for "none"
constexpr CF kPkcs10[] = {CF::Pkcs10};
constexpr CF kCertResponses[] = {CF::CertsOnly, CF::PkixCert};
// cBRSKI §6.7.5 adds multipart-core (a list of 287 certificates) to /crts.
constexpr CF kCaCertsResponses[] = {CF::CertsOnly, CF::PkixCert, CF::MultipartCore};
constexpr CF kMultipart[] = {CF::MultipartCore};
constexpr CF kCsrAttrs[] = {CF::CsrAttrs};
constexpr CF kVoucher[] = {CF::VoucherCose};
// cBRSKI §6.5.1: CBOR MUST, JSON MAY.
constexpr CF kTelemetry[] = {CF::Json, CF::Cbor};  // listed as ct="50 60" (cBRSKI App. E.1)

constexpr std::span<const CF> none() {
    return std::span<const CF>(kNone, 0);
}

// RFC 9148 Table 1 (short names, RFC 7030 operations), §4.3 (formats), Table 4 (codes), §8.2 (rt);
// cBRSKI §6.5 and §15.1 for the BRSKI rows.
// clang-format off
constexpr std::array kResources = {
    //        short   operation                    family         HTTP name         method            request     responses          success  rt              MTI
    Resource{"crts", Operation::CaCerts,          Family::Est,   "cacerts",        CoapMethod::Get,  none(),     kCaCertsResponses, k2_05,   "ace.est.crts", true},
    Resource{"sen",  Operation::SimpleEnroll,     Family::Est,   "simpleenroll",   CoapMethod::Post, kPkcs10,    kCertResponses,    k2_04,   "ace.est.sen",  true},
    Resource{"sren", Operation::SimpleReenroll,   Family::Est,   "simplereenroll", CoapMethod::Post, kPkcs10,    kCertResponses,    k2_04,   "ace.est.sren", true},
    Resource{"att",  Operation::CsrAttrs,         Family::Est,   "csrattrs",       CoapMethod::Get,  none(),     kCsrAttrs,         k2_05,   "ace.est.att",  false},
    Resource{"skg",  Operation::ServerKeyGen,     Family::Est,   "serverkeygen",   CoapMethod::Post, kPkcs10,    kMultipart,        k2_04,   "ace.est.skg",  false},
    Resource{"skc",  Operation::ServerKeyGenCert, Family::Est,   "serverkeygen",   CoapMethod::Post, kPkcs10,    kMultipart,        k2_04,   "ace.est.skc",  false},
    Resource{"rv",   Operation::RequestVoucher,   Family::Brski, "requestvoucher", CoapMethod::Post, kVoucher,   kVoucher,          k2_04,   "brski.rv",     true},
    Resource{"vs",   Operation::VoucherStatus,    Family::Brski, "voucher_status", CoapMethod::Post, kTelemetry, none(),            k2_04,   "brski.vs",     true},
    Resource{"es",   Operation::EnrollStatus,     Family::Brski, "enrollstatus",   CoapMethod::Post, kTelemetry, none(),            k2_04,   "brski.es",     true},
};
// clang-format on

}  // namespace

std::span<const Resource> resources() {
    return kResources;
}

const Resource* find_resource_by_short_name(Family family, std::string_view short_name) {
    for (const auto& r : kResources) {
        if (r.family == family && r.short_name == short_name) return &r;
    }
    return nullptr;
}

const Resource& resource_for(Operation op) {
    for (const auto& r : kResources) {
        if (r.op == op) return r;
    }
    return kResources[0];  // unreachable: every Operation has a row (tests check this)
}

}  // namespace estgw::mapping
