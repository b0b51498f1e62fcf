// Throw-away PKI for tests: keys, names, CA and end-entity certificates and CSRs built with OpenSSL.
// Failures throw std::runtime_error (test code only), which GoogleTest reports as a failed test.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/openssl.hpp"

namespace estgw::test {

enum class KeyKind { P256, P384, Rsa2048, Ed25519 };
// A fresh key pair. Rsa2048 takes a noticeable fraction of a second: generate it once per test at most.
EvpPkeyPtr make_key(KeyKind kind = KeyKind::P256);

// "CN=Root CA,O=Example Inc" → a Name holding those attributes in that order as UTF8Strings. A comma always
// separates attributes (no escaping); an empty text gives an empty Name.
X509NamePtr make_name(const std::string& text);

// A non-critical subjectAltName with the names in order: "DNS:a.example", "IP:192.0.2.1", "email:a@b",
// "URI:coaps://a.example", "RID:1.2.3", "dirName:CN=x,O=y" (make_name syntax).
X509ExtensionPtr make_san_extension(const std::vector<std::string>& sans);

struct CertOptions {
    bool ca = false;                 // basicConstraints CA:TRUE + keyCertSign, else CA:FALSE
    std::vector<std::string> sans;   // OpenSSL config syntax: "DNS:a.example", "IP:192.0.2.1", "email:a@b"
    std::string extended_key_usage;  // OpenSSL config syntax, "cmcRA,serverAuth"; empty: no extension
    long serial = 0;                 // 0: a process-wide counter
    long days = 365;
    long not_before_offset_seconds = -60;  // relative to now
};

// `options` for a certificate whose validity ended a day ago (it began two days ago).
CertOptions expired(CertOptions options = {});

// A certificate for `subject`/`subject_key`, signed by `issuer_key`. With no `issuer` it is self-signed:
// the issuer name is the subject and `issuer_key` must be `subject_key`.
X509Ptr make_certificate(const std::string& subject, EVP_PKEY* subject_key, const X509* issuer,
                         EVP_PKEY* issuer_key, const CertOptions& options = {});
// A self-signed CA certificate (basicConstraints CA:TRUE, keyCertSign + cRLSign, SKI = AKI).
X509Ptr make_self_signed_ca(const std::string& subject, EVP_PKEY* key);

// A signed PKCS#10 request with the SANs (make_san_extension syntax) in an extensionRequest attribute and,
// when given, a challengePassword UTF8String.
X509ReqPtr make_csr(const std::string& subject, const std::vector<std::string>& sans, EVP_PKEY* key,
                    const std::optional<std::string>& challenge_password = {});
// Adds an attribute whose single value has ASN.1 string type `asn1_type` (V_ASN1_UTF8STRING, ...) holding
// `value`. The request must be signed again (sign_csr) afterwards.
void add_csr_string_attribute(X509_REQ* csr, int nid, int asn1_type, const std::string& value);
void sign_csr(X509_REQ* csr, EVP_PKEY* key);

// A certificate for the CSR's subject, public key and subjectAltName (options.sans ignored), issued by `ca`.
X509Ptr issue_cert(const X509_REQ* csr, const X509* ca, EVP_PKEY* ca_key, const CertOptions& options = {});

Bytes to_der(const X509* cert);
Bytes to_der(const X509_REQ* csr);

// PEM as estgw reads it (--cert, --key, --client-ca, the CA files of server mode): certificates one after
// another in the order given, so a leaf first and then the chain that follows it; a private key as
// unencrypted PKCS#8.
std::string certs_pem(std::initializer_list<const X509*> certs);
std::string key_pem(const EVP_PKEY* key);

// The same PEM written to `path`, replacing the file. The DER overload writes what a pledge received
// without parsing it, so that openssl, not the test, judges a malformed answer.
void write_cert_file(const std::string& path, std::initializer_list<const X509*> certs);
void write_cert_file(const std::string& path, ByteView der);
// Mode 0600, as `estgw pki init` and `estgw enroll` create theirs: a test hands estgw only key files that a
// real deployment could have.
void write_key_file(const std::string& path, const EVP_PKEY* key);

// The first certificate of a PEM file, and a PEM private key, as estgw reads them (pki init's files).
X509Ptr load_certificate(const std::string& path);
EvpPkeyPtr load_key(const std::string& path);

// The DER inside a one-block PEM file under tests/data; `label` receives "EC PRIVATE KEY" etc. when given.
Bytes read_pem_der(const std::string& relative, std::string* label = nullptr);
// A certificate from a *.hex file under tests/data.
X509Ptr read_certificate_hex(const std::string& relative);

}  // namespace estgw::test
