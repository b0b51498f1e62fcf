#include "certs/csrattrs.hpp"

#include <openssl/err.h>
#include <openssl/objects.h>

#include <algorithm>

#include "certs/der_writer.hpp"
#include "common/der.hpp"
#include "common/openssl.hpp"
#include "common/pem.hpp"
#include "common/small_file.hpp"

namespace estgw::certs {

namespace {

using der::concat;
using der::tlv;
using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, OpensslDeleter<ASN1_OBJECT, ASN1_OBJECT_free>>;

constexpr const char* kOidKeyUsage = "2.5.29.15";
constexpr const char* kOidExtendedKeyUsage = "2.5.29.37";
constexpr const char* kOidClientAuth = "1.3.6.1.5.5.7.3.2";

constexpr std::uintmax_t kLargestFile = 64 * 1024;

Bytes oid(const char* dotted) {
    // The OIDs are constants of this file; OBJ_txt2obj cannot fail on them (a test decodes every one).
    const Asn1ObjectPtr object(OBJ_txt2obj(dotted, 1));
    auto encoded = i2d_bytes(object.get(), i2d_ASN1_OBJECT);
    return encoded.ok() ? *encoded : Bytes{};
}

Bytes attribute(const char* type, const Bytes& value) {
    return tlv(der::kSequence, concat({oid(type), tlv(der::kSet, value)}));
}

Bytes extension(const char* type, bool critical, const Bytes& value) {
    const Bytes critical_flag = critical ? tlv(der::kBoolean, Bytes{0xff}) : Bytes{};
    return tlv(der::kSequence, concat({oid(type), critical_flag, tlv(der::kOctetString, value)}));
}

// ---- reading ----

Error bad(std::string message) {
    return make_error(Status::BadRequest, "csrattrs: " + std::move(message));
}

// One complete OBJECT IDENTIFIER TLV → "1.2.840...". (d2i_exactly insists on a SEQUENCE, hence by hand.)
Result<std::string> read_oid(ByteView encoded) {
    if (auto framed = require_single_der_object(encoded, "csrattrs OID", der::kOid); !framed)
        return framed.error();
    const unsigned char* p = encoded.data();
    const Asn1ObjectPtr object(d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(encoded.size())));
    if (!object || p != encoded.data() + encoded.size()) {
        ERR_clear_error();
        return bad("malformed OBJECT IDENTIFIER");
    }
    char text[128];
    const int length = OBJ_obj2txt(text, sizeof text, object.get(), 1);
    if (length <= 0 || static_cast<std::size_t>(length) >= sizeof text) return bad("OID too long");
    return std::string(text, static_cast<std::size_t>(length));
}

}  // namespace

Result<Bytes> default_csr_attributes(const CsrAttrsOptions& options) {
    // keyUsage digitalSignature: BIT STRING, 7 unused bits, 0x80.
    const Bytes key_usage = tlv(der::kBitString, Bytes{0x07, 0x80});
    const Bytes client_auth = tlv(der::kSequence, oid(kOidClientAuth));
    const Bytes extensions =
        tlv(der::kSequence, concat({extension(kOidKeyUsage, true, key_usage),
                                    extension(kOidExtendedKeyUsage, false, client_auth)}));
    Bytes entries;
    if (options.require_tls_unique) entries = oid(kOidChallengePassword);
    entries = concat({entries, attribute(kOidEcPublicKey, oid(kOidSecp256r1)),
                      attribute(kOidExtensionRequest, extensions)});
    Bytes encoded = tlv(der::kSequence, entries);
    if (auto checked = csr_attribute_types(encoded); !checked) {
        return make_error(Status::Internal, "built-in csrattrs: " + checked.error().message);
    }
    return encoded;
}

Result<std::vector<std::string>> csr_attribute_types(ByteView encoded) {
    if (auto framed = require_single_der_object(encoded, "csrattrs"); !framed) return framed.error();
    ESTGW_TRY(outer, read_der_header(encoded));
    ByteView rest = encoded.subspan(outer.header_length);
    std::vector<std::string> types;
    while (!rest.empty()) {
        ESTGW_TRY(entry, read_der_header(rest));
        const ByteView whole = rest.first(entry.total_length());
        rest = rest.subspan(entry.total_length());
        if (entry.tag == der::kOid) {
            ESTGW_TRY(type, read_oid(whole));
            types.push_back(std::move(type));
            continue;
        }
        if (entry.tag != der::kSequence) {
            return bad("entry " + std::to_string(types.size() + 1) + " is neither an OID nor an Attribute");
        }
        // Attribute ::= SEQUENCE { type OBJECT IDENTIFIER, values SET OF ANY }
        ByteView inner = whole.subspan(entry.header_length);
        ESTGW_TRY(type_header, read_der_header(inner));
        if (type_header.tag != der::kOid) return bad("an Attribute does not start with its type OID");
        ESTGW_TRY(type, read_oid(inner.first(type_header.total_length())));
        inner = inner.subspan(type_header.total_length());
        ESTGW_TRY(values, read_der_header(inner));
        if (values.tag != der::kSet || values.total_length() != inner.size()) {
            return bad("Attribute " + type + " does not end with its SET of values");
        }
        types.push_back(std::move(type));
    }
    return types;
}

Result<Bytes> load_csr_attributes(const std::filesystem::path& file, const CsrAttrsOptions& options) {
    const std::string where = "csrattrs file '" + file.string() + "'";
    ESTGW_TRY(text, read_small_file(file, "csrattrs file", kLargestFile));
    Bytes encoded = to_bytes(text);
    if (!is_single_der_object(encoded)) {
        auto decoded = pem_decode(text);
        if (!decoded) {
            return make_error(Status::BadRequest, where + " is neither a DER SEQUENCE nor PEM/base64: " +
                                                      decoded.error().message);
        }
        encoded = std::move(*decoded);
    }
    auto types = csr_attribute_types(encoded);
    if (!types) return make_error(Status::BadRequest, where + ": " + types.error().message);
    if (options.require_tls_unique &&
        std::find(types->begin(), types->end(), kOidChallengePassword) == types->end()) {
        return make_error(Status::BadRequest,
                          where +
                              " must list challengePassword (1.2.840.113549.1.9.7) while tls-unique is "
                              "required (RFC 7030 §3.5, §4.5.2)");
    }
    return encoded;
}

}  // namespace estgw::certs
