#include "support/test_data.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace estgw::test {

std::string data_path(const std::string& relative) {
    return std::string(ESTGW_TEST_DATA_DIR) + "/" + relative;
}

std::string read_text(const std::string& relative) {
    std::ifstream in(data_path(relative), std::ios::binary);
    if (!in) throw std::runtime_error("cannot read test data " + data_path(relative));
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

Bytes read_hex(const std::string& relative) {
    return hex(read_text(relative));
}

Bytes hex(const std::string& text) {
    Bytes out;
    if (!from_hex(text, out)) throw std::runtime_error("malformed hex in test data");
    return out;
}

Bytes der_tlv(std::uint8_t tag, const Bytes& content) {
    Bytes out{tag};
    if (content.size() < 0x80) {
        out.push_back(static_cast<std::uint8_t>(content.size()));
    } else {
        out.push_back(0x82);
        out.push_back(static_cast<std::uint8_t>(content.size() >> 8));
        out.push_back(static_cast<std::uint8_t>(content.size()));
    }
    out.insert(out.end(), content.begin(), content.end());
    return out;
}

Bytes joined(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const auto& p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

}  // namespace estgw::test
