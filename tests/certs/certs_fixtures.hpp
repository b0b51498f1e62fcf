// Shared by the certs/ tests: a scratch directory, a CA built with certs::IssuingCa, chain verification.
#pragma once

#include <gtest/gtest.h>
#include <openssl/x509_vfy.h>
#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "certs/ca.hpp"
#include "common/openssl.hpp"
#include "support/test_pki.hpp"

namespace estgw::certs::fixtures {

// A fresh directory under $TMPDIR, removed with everything in it at the end of the test.
class TempDir {
  public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "estgw-certs-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

// A self-signed P-256 root made by IssuingCa itself.
inline IssuingCa make_ca(const std::string& subject = "CN=estgw test CA,O=estgw tests") {
    const X509NamePtr name = estgw::test::make_name(subject);
    auto ca = IssuingCa::create_self_signed(name.get(), estgw::test::make_key(), 3650);
    if (!ca) throw std::runtime_error("test CA: " + ca.error().message);
    return std::move(*ca);
}

// X509_verify_cert of `leaf` against the single trust anchor `root` (what `openssl verify -CAfile` does),
// with `intermediates` as untrusted chain. Returns the OpenSSL verdict text on failure, empty on success.
inline std::string verify_chain(const X509* leaf, const X509* root,
                                const std::vector<const X509*>& intermediates = {}) {
    X509StorePtr store(X509_STORE_new());
    X509StackPtr untrusted(sk_X509_new_null());
    X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (!store || !untrusted || !ctx) return "allocation failed";
    X509_STORE_add_cert(store.get(), const_cast<X509*>(root));
    for (const X509* cert : intermediates) {
        X509_up_ref(const_cast<X509*>(cert));
        sk_X509_push(untrusted.get(), const_cast<X509*>(cert));
    }
    if (X509_STORE_CTX_init(ctx.get(), store.get(), const_cast<X509*>(leaf), untrusted.get()) != 1) {
        return "X509_STORE_CTX_init failed";
    }
    if (X509_verify_cert(ctx.get()) == 1) return {};
    return X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
}

}  // namespace estgw::certs::fixtures
