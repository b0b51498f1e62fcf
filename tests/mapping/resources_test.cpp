// The resource table against RFC 9148 Table 1, §4.3 and Table 4, and cBRSKI §6.5 / §15.1 (digest §1, §12).
#include "mapping/resources.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace estgw::mapping {
namespace {

using CF = ContentFormat;

constexpr Operation kAllOperations[] = {
    Operation::CaCerts,        Operation::SimpleEnroll,  Operation::SimpleReenroll,
    Operation::CsrAttrs,       Operation::ServerKeyGen,  Operation::ServerKeyGenCert,
    Operation::RequestVoucher, Operation::VoucherStatus, Operation::EnrollStatus,
};

struct Expected {
    std::string_view short_name;
    Operation op;
    Family family;
    std::string_view http_name;
    CoapMethod method;
    std::vector<CF> request;
    std::vector<CF> response;
    std::uint8_t success;
    std::string_view rt;
    bool mandatory;
};

void expect_row(const Expected& e) {
    const Resource* r = find_resource_by_short_name(e.family, e.short_name);
    ASSERT_NE(r, nullptr) << e.short_name;
    EXPECT_EQ(r->op, e.op);
    EXPECT_EQ(r->http_name, e.http_name);
    EXPECT_EQ(r->method, e.method);
    EXPECT_EQ(std::vector<CF>(r->request_formats.begin(), r->request_formats.end()), e.request);
    EXPECT_EQ(std::vector<CF>(r->response_formats.begin(), r->response_formats.end()), e.response);
    EXPECT_EQ(r->success_code, e.success);
    EXPECT_EQ(r->rt, e.rt);
    EXPECT_EQ(r->mandatory, e.mandatory);
    EXPECT_EQ(&resource_for(e.op), r);
}

// RFC 9148 Table 1: /crts is GET /cacerts, 281 by default, 287 allowed; cBRSKI §6.7.5 adds 62; 2.05; MUST.
TEST(ResourceTable, CrtsRowMatchesRfc9148Table1) {
    expect_row({"crts",
                Operation::CaCerts,
                Family::Est,
                "cacerts",
                CoapMethod::Get,
                {},
                {CF::CertsOnly, CF::PkixCert, CF::MultipartCore},
                k2_05,
                "ace.est.crts",
                true});
}

// RFC 9148 Table 1, §4.3, §4.5: /sen is POST /simpleenroll with a 286 CSR, answers 281 or 287 with 2.04.
TEST(ResourceTable, SenRowMatchesRfc9148Table1) {
    expect_row({"sen",
                Operation::SimpleEnroll,
                Family::Est,
                "simpleenroll",
                CoapMethod::Post,
                {CF::Pkcs10},
                {CF::CertsOnly, CF::PkixCert},
                k2_04,
                "ace.est.sen",
                true});
}

// RFC 9148 Table 1: /sren is POST /simplereenroll, as /sen.
TEST(ResourceTable, SrenRowMatchesRfc9148Table1) {
    expect_row({"sren",
                Operation::SimpleReenroll,
                Family::Est,
                "simplereenroll",
                CoapMethod::Post,
                {CF::Pkcs10},
                {CF::CertsOnly, CF::PkixCert},
                k2_04,
                "ace.est.sren",
                true});
}

// RFC 9148 Table 1: /att is GET /csrattrs answering 285 with 2.05; OPTIONAL.
TEST(ResourceTable, AttRowMatchesRfc9148Table1) {
    expect_row({"att",
                Operation::CsrAttrs,
                Family::Est,
                "csrattrs",
                CoapMethod::Get,
                {},
                {CF::CsrAttrs},
                k2_05,
                "ace.est.att",
                false});
}

// RFC 9148 Table 1, §4.8: /skg is POST /serverkeygen with a 286 CSR answering 62 with 2.04; OPTIONAL.
TEST(ResourceTable, SkgRowMatchesRfc9148Table1) {
    expect_row({"skg",
                Operation::ServerKeyGen,
                Family::Est,
                "serverkeygen",
                CoapMethod::Post,
                {CF::Pkcs10},
                {CF::MultipartCore},
                k2_04,
                "ace.est.skg",
                false});
}

// RFC 9148 Table 1, §4.8: /skc is /serverkeygen too, with the certificate as pkix-cert; OPTIONAL.
TEST(ResourceTable, SkcRowMatchesRfc9148Table1) {
    expect_row({"skc",
                Operation::ServerKeyGenCert,
                Family::Est,
                "serverkeygen",
                CoapMethod::Post,
                {CF::Pkcs10},
                {CF::MultipartCore},
                k2_04,
                "ace.est.skc",
                false});
}

// cBRSKI §6.5 (digest §12): /rv is POST /requestvoucher, 836 in and out, 2.04.
TEST(ResourceTable, RvRowMatchesCbrski) {
    expect_row({"rv",
                Operation::RequestVoucher,
                Family::Brski,
                "requestvoucher",
                CoapMethod::Post,
                {CF::VoucherCose},
                {CF::VoucherCose},
                k2_04,
                "brski.rv",
                true});
}

// cBRSKI §6.5: /vs is POST /voucher_status, CBOR (MUST) or JSON (MAY), 2.04 with no payload.
TEST(ResourceTable, VsRowMatchesCbrski) {
    expect_row({"vs",
                Operation::VoucherStatus,
                Family::Brski,
                "voucher_status",
                CoapMethod::Post,
                {CF::Json, CF::Cbor},
                {},
                k2_04,
                "brski.vs",
                true});
}

// cBRSKI §6.5: /es is POST /enrollstatus, as /vs.
TEST(ResourceTable, EsRowMatchesCbrski) {
    expect_row({"es",
                Operation::EnrollStatus,
                Family::Brski,
                "enrollstatus",
                CoapMethod::Post,
                {CF::Json, CF::Cbor},
                {},
                k2_04,
                "brski.es",
                true});
}

// Every Operation has exactly one row, so resource_for never falls back.
TEST(ResourceTable, EveryOperationHasExactlyOneRow) {
    for (Operation op : kAllOperations) {
        int rows = 0;
        for (const auto& r : resources())
            rows += r.op == op ? 1 : 0;
        EXPECT_EQ(rows, 1) << static_cast<int>(op);
        EXPECT_EQ(resource_for(op).op, op);
    }
    EXPECT_EQ(resources().size(), std::size(kAllOperations));
}

// RFC 9148 §4.5: GETs succeed with 2.05, POSTs with 2.04 (never 2.01).
TEST(ResourceTable, SuccessCodeFollowsTheMethod) {
    for (const auto& r : resources()) {
        EXPECT_EQ(r.success_code, r.method == CoapMethod::Get ? k2_05 : k2_04) << r.short_name;
    }
}

// RFC 9148 §4.3: a GET takes no payload, every POST names its payload format.
TEST(ResourceTable, OnlyPostsTakeAPayload) {
    for (const auto& r : resources()) {
        EXPECT_EQ(r.request_formats.empty(), r.method == CoapMethod::Get) << r.short_name;
    }
}

// Short names are unique within a family, and the families do not share one.
TEST(ResourceTable, ShortNamesAreUnique) {
    std::set<std::string_view> names;
    for (const auto& r : resources())
        names.insert(r.short_name);
    EXPECT_EQ(names.size(), resources().size());
}

// An EST short name is not found under the BRSKI root, nor the reverse.
TEST(ResourceLookup, ShortNameIsLookedUpWithinItsFamily) {
    EXPECT_EQ(find_resource_by_short_name(Family::Brski, "crts"), nullptr);
    EXPECT_EQ(find_resource_by_short_name(Family::Est, "rv"), nullptr);
}

// RFC 3986 §6.2.2.1: paths are case-sensitive; only the exact short name matches.
TEST(ResourceLookup, ShortNameIsCaseSensitive) {
    EXPECT_EQ(find_resource_by_short_name(Family::Est, "CRTS"), nullptr);
}

// RFC 9148 §4.1: only the short names exist on the CoAP side.
TEST(ResourceLookup, HttpOperationNameIsNotAShortName) {
    EXPECT_EQ(find_resource_by_short_name(Family::Est, "cacerts"), nullptr);
    EXPECT_EQ(find_resource_by_short_name(Family::Est, ""), nullptr);
}

// RFC 7252 §12.1.2: a code byte is class << 5 | detail.
TEST(CoapCode, PacksClassAndDetail) {
    EXPECT_EQ(k2_04, 0x44);
    EXPECT_EQ(k2_05, 0x45);
    EXPECT_EQ(coap_code(2, 31), 0x5F);
    EXPECT_EQ(coap_code(4, 15), 0x8F);
    EXPECT_EQ(coap_code(5, 3), 0xA3);
}

}  // namespace
}  // namespace estgw::mapping
