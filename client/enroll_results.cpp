#include "client/enroll_results.hpp"
#include "common/file_descriptor.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "common/keys.hpp"
#include "common/pem.hpp"
#include "common/x509.hpp"
#include "mapping/cert_formats.hpp"
#include "mapping/multipart_core.hpp"

namespace estgw::client {

namespace {

Error write_error(const std::filesystem::path& path, const char* what) {
    return make_error(Status::Internal,
                      "cannot " + std::string(what) + " " + path.string() + ": " + std::strerror(errno));
}

// Key material in memory is wiped once written.
struct SecretText {
    std::string text;
    ~SecretText() { OPENSSL_cleanse(text.data(), text.size()); }
};
struct SecretBytes {
    Bytes bytes;
    ~SecretBytes() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

Result<std::filesystem::path> write_private_key(const std::filesystem::path& dir, const EVP_PKEY* key) {
    auto der = private_key_to_pkcs8_der(key);
    if (!der) return der.error();
    SecretBytes pkcs8{std::move(*der)};
    SecretText pem{pem_encode(pkcs8.bytes, "PRIVATE KEY")};
    return write_output_file(dir, "key.pem", as_bytes(pem.text), kPrivateFileMode);
}

Result<std::filesystem::path> write_certificate(const std::filesystem::path& dir, const std::string& name,
                                                const std::vector<Bytes>& certificates) {
    std::string pem;
    for (const auto& der : certificates)
        pem += pem_encode(der, "CERTIFICATE");
    return write_output_file(dir, name, as_bytes(pem), kPublicFileMode);
}

unsigned format_or(const CoapAnswer& answer, ContentFormat fallback) {
    return answer.content_format.value_or(static_cast<unsigned>(fallback));
}

Error unexpected_format(std::string_view what, unsigned format) {
    return make_error(Status::UnsupportedFormat,
                      std::string(what) + " came with Content-Format " + std::to_string(format));
}

// The issued certificate of a 281 (certs-only) or 287 (pkix-cert) body.
Result<X509Ptr> certificate_of(unsigned format, ByteView body) {
    Bytes der;
    if (format == static_cast<unsigned>(ContentFormat::CertsOnly)) {
        ESTGW_TRY(issued, mapping::issued_certificate_from_certs_only(body));
        der = std::move(issued);
    } else if (format == static_cast<unsigned>(ContentFormat::PkixCert)) {
        der.assign(body.begin(), body.end());
    } else {
        return unexpected_format("the certificate", format);
    }
    return parse_certificate_der(der);
}

Result<void> require_key_match(const X509* cert, const EVP_PKEY* key) {
    if (key && EVP_PKEY_eq(X509_get0_pubkey(cert), key) != 1)
        return make_error(Status::BadRequest, "the issued certificate does not carry our public key");
    return {};
}

Result<std::string> write_ca_certs(const CoapAnswer& answer, const EnrollOutput& out) {
    ESTGW_TRY(certificates, ca_certificates(answer));
    ESTGW_TRY(path, write_certificate(out.dir, "ca.pem", certificates));
    std::string summary = std::to_string(certificates.size()) + " CA certificate(s)";
    if (auto first = parse_certificate_der(certificates.front()))
        summary += ", first " + name_to_string(X509_get_subject_name(first->get()));
    return summary + "; wrote " + path.string();
}

Result<std::string> write_issued(const CoapAnswer& answer, const EnrollOutput& out) {
    ESTGW_TRY(cert, issued_certificate(answer));
    if (auto match = require_key_match(cert.get(), out.csr_key); !match) return match.error();
    std::string wrote;
    if (out.new_key) {
        ESTGW_TRY(key_path, write_private_key(out.dir, out.new_key));
        wrote = key_path.string() + ", ";
    }
    ESTGW_TRY(der, certificate_to_der(cert.get()));
    ESTGW_TRY(cert_path, write_certificate(out.dir, "cert.pem", {der}));
    return "issued " + describe_certificate(cert.get()) + "; wrote " + wrote + cert_path.string();
}

Result<std::string> write_csr_attrs(const CoapAnswer& answer, const EnrollOutput& out) {
    unsigned format = format_or(answer, ContentFormat::CsrAttrs);
    if (format != static_cast<unsigned>(ContentFormat::CsrAttrs)) return unexpected_format("/att", format);
    ESTGW_TRY(path, write_output_file(out.dir, "csrattrs.der", answer.body, kPublicFileMode));
    return std::to_string(answer.body.size()) + " bytes of CSR attributes; wrote " + path.string();
}

// The encrypted key the pledge asked for, and its certificate, are written as received first: when the key
// cannot be decrypted here (a wrong --kek-file, say), whoever holds the right key can still open key.p7.
Result<std::string> write_decrypted_key(ByteView enveloped, const X509* issued, const EnrollOutput& out) {
    ESTGW_TRY(p7_path, write_output_file(out.dir, "key.p7", enveloped, kPrivateFileMode));
    ESTGW_TRY(der, certificate_to_der(issued));
    ESTGW_TRY(cert_path, write_certificate(out.dir, "cert.pem", {der}));
    const std::string kept = "; kept " + p7_path.string() + " and " + cert_path.string() + " as received";
    auto private_key = open_server_generated_key(enveloped, *out.key_protection);
    if (!private_key) return make_error(private_key.error().status, private_key.error().message + kept);
    if (auto match = require_key_match(issued, private_key->get()); !match)
        return make_error(match.error().status, "the decrypted key: " + match.error().message + kept);
    ESTGW_TRY(key_path, write_private_key(out.dir, private_key->get()));
    return "issued " + describe_certificate(issued) + "; server-generated " +
           key_description(private_key->get()) + " key, decrypted from " + p7_path.string() + "; wrote " +
           key_path.string() + ", " + cert_path.string();
}

// RFC 9148 §4.8: a multipart-core with one key part (284 plain, 280 encrypted) and one certificate part.
Result<std::string> write_server_key(const CoapAnswer& answer, const EnrollOutput& out) {
    unsigned format = format_or(answer, ContentFormat::MultipartCore);
    if (format != static_cast<unsigned>(ContentFormat::MultipartCore))
        return unexpected_format("the server-generated key", format);
    ESTGW_TRY(parts, mapping::decode_multipart_core(answer.body));
    const BodyPart* key = nullptr;
    const BodyPart* cert = nullptr;
    for (const auto& part : parts) {
        bool is_key = part.format == ContentFormat::Pkcs8 || part.format == ContentFormat::ServerGeneratedKey;
        bool is_cert = part.format == ContentFormat::CertsOnly || part.format == ContentFormat::PkixCert;
        const BodyPart*& slot = is_key ? key : cert;
        if ((!is_key && !is_cert) || slot || !part.body)
            return make_error(Status::BadRequest, "the answer is not one key part and one certificate part");
        slot = &part;
    }
    if (!key || !cert)
        return make_error(Status::BadRequest, "the answer lacks the key or the certificate part");
    ESTGW_TRY(issued, certificate_of(static_cast<unsigned>(cert->format), *cert->body));
    const bool asked_encrypted =
        out.key_protection != nullptr && out.key_protection->kind != certs::KeyProtection::None;
    if (key->format == ContentFormat::ServerGeneratedKey && asked_encrypted)
        return write_decrypted_key(*key->body, issued.get(), out);
    std::string summary = "issued " + describe_certificate(issued.get());
    std::string key_note;
    std::filesystem::path key_path;
    if (key->format == ContentFormat::ServerGeneratedKey) {
        // Only the holder of the key-encryption key can open it (RFC 7030 §4.4.2): kept as received.
        ESTGW_TRY(written, write_output_file(out.dir, "key.p7", *key->body, kPrivateFileMode));
        key_path = written;
        key_note = "; the key is encrypted (CMS, Content-Format 280): " + key_path.string() +
                   " is DER, decrypt it with your key-encryption key";
    } else {
        // The protection asked for was dropped on the way: the key crossed at least one hop in the clear.
        if (asked_encrypted) {
            return make_error(Status::BadRequest, "the key came unencrypted (Content-Format 284) although " +
                                                      out.key_protection->source +
                                                      " asked for it encrypted; nothing written");
        }
        ESTGW_TRY(private_key, parse_private_key_der(*key->body));
        if (auto match = require_key_match(issued.get(), private_key.get()); !match) return match.error();
        ESTGW_TRY(written, write_private_key(out.dir, private_key.get()));
        key_path = written;
        key_note = "; server-generated " + key_description(private_key.get()) + " key";
    }
    ESTGW_TRY(der, certificate_to_der(issued.get()));
    ESTGW_TRY(cert_path, write_certificate(out.dir, "cert.pem", {der}));
    return summary + key_note + "; wrote " + key_path.string() + ", " + cert_path.string();
}

using Writer = Result<std::string> (*)(const CoapAnswer&, const EnrollOutput&);
struct ResultWriter {
    Operation op;
    Writer write;
};
constexpr ResultWriter kWriters[] = {
    {Operation::CaCerts, write_ca_certs},        {Operation::SimpleEnroll, write_issued},
    {Operation::SimpleReenroll, write_issued},   {Operation::CsrAttrs, write_csr_attrs},
    {Operation::ServerKeyGen, write_server_key}, {Operation::ServerKeyGenCert, write_server_key},
};

}  // namespace

Result<std::filesystem::path> write_output_file(const std::filesystem::path& dir, const std::string& name,
                                                ByteView data, mode_t mode) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return make_error(Status::Internal, "cannot create " + dir.string() + ": " + ec.message());
    const std::filesystem::path path = dir / name;
    const std::filesystem::path temporary = dir / ("." + name + ".tmp-" + std::to_string(::getpid()));
    ::unlink(temporary.c_str());
    FileDescriptor fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
    if (fd.get() < 0) return write_error(temporary, "create");
    for (std::size_t done = 0; done < data.size();) {
        ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ::unlink(temporary.c_str());
            return write_error(temporary, "write");
        }
        done += static_cast<std::size_t>(n);
    }
    if (::close(fd.release()) != 0 || ::rename(temporary.c_str(), path.c_str()) != 0) {
        ::unlink(temporary.c_str());
        return write_error(path, "write");
    }
    return path;
}

Result<std::vector<Bytes>> ca_certificates(const CoapAnswer& answer) {
    unsigned format = format_or(answer, ContentFormat::CertsOnly);
    if (format == static_cast<unsigned>(ContentFormat::PkixCert)) {
        if (auto cert = parse_certificate_der(answer.body); !cert) return cert.error();
        return std::vector<Bytes>{answer.body};
    }
    if (format == static_cast<unsigned>(ContentFormat::MultipartCore)) {
        // cBRSKI §6.7.5: a list of pkix-cert parts, the issuing CA first.
        ESTGW_TRY(parts, mapping::decode_multipart_core(answer.body));
        std::vector<Bytes> certificates;
        for (const auto& part : parts) {
            if (part.format != ContentFormat::PkixCert || !part.body)
                return make_error(Status::BadRequest,
                                  "/crts multipart-core holds a part that is not a pkix-cert");
            if (auto cert = parse_certificate_der(*part.body); !cert) return cert.error();
            certificates.push_back(*part.body);
        }
        if (certificates.empty()) return make_error(Status::BadRequest, "/crts returned no certificate");
        return certificates;
    }
    if (format != static_cast<unsigned>(ContentFormat::CertsOnly)) return unexpected_format("/crts", format);
    ESTGW_TRY(certificates, certs_only_certificates_der(answer.body));
    if (certificates.empty()) return make_error(Status::BadRequest, "/crts returned no certificate");
    return certificates;
}

Result<X509Ptr> issued_certificate(const CoapAnswer& answer) {
    return certificate_of(format_or(answer, ContentFormat::CertsOnly), answer.body);
}

std::string describe_certificate(const X509* cert) {
    const ASN1_INTEGER* serial = X509_get0_serialNumber(cert);
    std::string hex =
        to_hex(ByteView(ASN1_STRING_get0_data(serial), static_cast<std::size_t>(ASN1_STRING_length(serial))));
    for (char& c : hex)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::string until = "?";
    std::tm tm{};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1) {
        char text[32];
        std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
        until = text;
    }
    return name_to_string(X509_get_subject_name(cert)) + ", serial " + hex + ", valid until " + until;
}

Result<std::string> write_enroll_results(Operation op, const CoapAnswer& answer, const EnrollOutput& out) {
    for (const auto& writer : kWriters) {
        if (writer.op == op) return writer.write(answer, out);
    }
    // --op is checked against the same operations before any request is sent: reaching this is a bug.
    return make_error(Status::Internal, "no result writer for this operation");
}

}  // namespace estgw::client
