#include "support/libest_base64.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>

#include <climits>
#include <memory>
#include <stdexcept>

namespace estgw::test {

namespace {

struct BioChainFree {
    void operator()(BIO* b) const { BIO_free_all(b); }
};
using BioChain = std::unique_ptr<BIO, BioChainFree>;

}  // namespace

std::optional<Bytes> libest_base64_decode(std::string_view text) {
    if (text.size() > INT_MAX) return std::nullopt;
    BioChain chain(BIO_new(BIO_f_base64()));
    BIO* source = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
    if (!chain || !source) throw std::runtime_error("BIO_new failed");
    BIO_push(chain.get(), source);
    Bytes out(text.size());
    int n = BIO_read(chain.get(), out.data(), static_cast<int>(out.size()));
    if (n <= 0) return std::nullopt;
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string libest_base64_encode(ByteView der) {
    BioChain chain(BIO_new(BIO_f_base64()));
    BIO* sink = BIO_new(BIO_s_mem());
    if (!chain || !sink) throw std::runtime_error("BIO_new failed");
    BIO_push(chain.get(), sink);
    if (!der.empty() && BIO_write(chain.get(), der.data(), static_cast<int>(der.size())) <= 0)
        throw std::runtime_error("BIO_write failed");
    if (BIO_flush(chain.get()) != 1) throw std::runtime_error("BIO_flush failed");
    char* data = nullptr;
    long length = BIO_get_mem_data(sink, &data);
    return std::string(data, static_cast<std::size_t>(length));
}

}  // namespace estgw::test
