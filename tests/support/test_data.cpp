#include "support/test_data.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace estgw::test {

std::string data_path(const std::string& relative) { return std::string(ESTGW_TEST_DATA_DIR) + "/" + relative; }

std::string read_text(const std::string& relative) {
    std::ifstream in(data_path(relative), std::ios::binary);
    if (!in) throw std::runtime_error("cannot read test data " + data_path(relative));
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

Bytes read_hex(const std::string& relative) { return hex(read_text(relative)); }

Bytes hex(const std::string& text) {
    Bytes out;
    if (!from_hex(text, out)) throw std::runtime_error("malformed hex in test data");
    return out;
}

}  // namespace estgw::test
