// The pledge's side of encrypted server-generated keys (RFC 7030 §4.4.1.1-2, §4.4.2; RFC 9148 §4.8):
// `estgw enroll --op skg|skc` with --kek-file [--kek-id] or --encrypt-to-cert asks for the key encrypted, by
// putting DecryptKeyIdentifier or AsymmetricDecryptKeyIdentifier and SMIMECapabilities in its CSR, and opens
// the Content-Format 280 answer: EnvelopedData ( SignedData ( AsymmetricKeyPackage ) ), as
// certs/key_envelope.hpp builds it on the server side.
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <vector>

#include "certs/key_envelope.hpp"
#include "client/client_csr.hpp"
#include "common/bytes.hpp"
#include "common/est.hpp"
#include "common/openssl.hpp"
#include "common/result.hpp"

namespace estgw::client {

// What the pledge asked for and what opens the answer. Move-only; the shared key is wiped on destruction.
struct ClientKeyProtection {
    certs::KeyProtection kind = certs::KeyProtection::None;
    std::string source;  // for messages: "--kek-file F (key id 6b6531)", "--encrypt-to-cert (--key F)"
    certs::SymmetricKey shared_key;  // Symmetric
    X509Ptr certificate;             // Asymmetric: --cert, whose subjectKeyIdentifier the CSR names
    EvpPkeyPtr private_key;          // Asymmetric: --key

    ClientKeyProtection() = default;
    ClientKeyProtection(ClientKeyProtection&&) = default;
    ClientKeyProtection& operator=(ClientKeyProtection&&) = default;
    ~ClientKeyProtection();
};

// --kek-file, --kek-id, --encrypt-to-cert.
void add_key_protection_options(boost::program_options::options_description& desc);

// Checks and loads them for `op` (kind None when none is given). Status::BadRequest naming the option when
// one is given for another operation than skg or skc, together with --csr (whose attributes estgw does not
// change), --kek-id without --kek-file, both kinds at once, an unusable key file or key id, or a --cert
// without subjectKeyIdentifier or with a key that cannot receive a key (only RSA and EC can).
Result<ClientKeyProtection> read_key_protection_options(const boost::program_options::variables_map& vm,
                                                        Operation op, bool csr_given,
                                                        const std::string& cert_file,
                                                        const std::string& key_file);

// The CSR attributes that ask for the protection: the identifier, and SMIMECapabilities listing the content
// ciphers (AES-CBC) and, as they apply, the key wrap of the shared key or RSAES-OAEP. Empty for None.
Result<std::vector<CsrAttribute>> key_protection_attributes(const ClientKeyProtection& protection);

// The private key inside a Content-Format 280 key part. The EnvelopedData is decrypted with the shared key
// or --key, the SignedData inside it must verify with the signer certificate it carries (the answer's
// origin is already authenticated by DTLS; this checks it arrived whole), and its content must be an
// AsymmetricKeyPackage holding one key. Every failure is Status::BadRequest naming `protection.source`.
Result<EvpPkeyPtr> open_server_generated_key(ByteView enveloped_data, const ClientKeyProtection& protection);

// The Block-wise size for a request asking for an encrypted key: `wanted` (--block) when it splits the
// `body_size`-byte request into several blocks, else the largest size that does. The answer, the encrypted
// key with a certificate, outgrows one block, and libcoap 4.3.1 reassembles a separate Block2 answer only
// for a request that went block-wise ("large body receive internal issue" otherwise): it never reaches us.
unsigned block_size_for_encrypted_key(std::optional<unsigned> wanted, std::size_t body_size);

}  // namespace estgw::client
