// Fixed test inputs under tests/data (RFC 9148 worked examples and friends).
#pragma once

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

}  // namespace estgw::test
