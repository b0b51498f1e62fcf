// PEM (RFC 7468) ⇄ DER. Armour is optional on input: bare base64 is accepted as the body.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/result.hpp"

namespace estgw {

struct PemBlock {
    std::string label;  // "CERTIFICATE"; empty when the input had no armour
    Bytes der;
};

// "-----BEGIN <label>-----\n" + base64 in 64-character lines + "-----END <label>-----\n".
std::string pem_encode(ByteView der, std::string_view label);

// Every block of a PEM bundle, in order; text between blocks is ignored (as openssl does). Input with no
// "-----BEGIN" line at all is decoded as one bare base64 body with an empty label.
Result<std::vector<PemBlock>> pem_decode_all(std::string_view text);

// Exactly one block. When expected_label is not empty the block's label must equal it (armour-less input
// is accepted for any label).
Result<Bytes> pem_decode(std::string_view text, std::string_view expected_label = {});

}  // namespace estgw
