// Fixed test inputs under tests/data (RFC 9148 worked examples and friends).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include "common/bytes.hpp"

namespace estgw::test {

// Absolute path of a file under tests/data.
std::string data_path(const std::string& relative);
// Contents of a text file under tests/data.
std::string read_text(const std::string& relative);
// Bytes of a *.hex file under tests/data (one line of hex); fails the current test when unreadable.
Bytes read_hex(const std::string& relative);
// Bytes from a hex literal; throws on malformed input (test code only).
Bytes hex(const std::string& text);
// One DER TLV: tag, definite length (short form, or two octets), content. For building test structures.
Bytes der_tlv(std::uint8_t tag, const Bytes& content);
// The parts one after another.
Bytes joined(std::initializer_list<Bytes> parts);

}  // namespace estgw::test
