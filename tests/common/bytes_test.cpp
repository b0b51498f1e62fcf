// UTF-8 well-formedness (RFC 3629 §4), shared by CBOR text strings and the diagnostics of both protocols.
#include "common/bytes.hpp"

#include <gtest/gtest.h>

#include "support/test_data.hpp"

namespace estgw {
namespace {

using test::hex;

TEST(Utf8, SequenceLengthsOfWellFormedCharacters) {
    // "a", U+00E9, U+20AC, U+1F600 and the largest code point U+10FFFF.
    const Bytes text =
        hex("61"
            "c3a9"
            "e282ac"
            "f09f9880"
            "f48fbfbf");
    std::vector<std::size_t> lengths;
    for (std::size_t i = 0; i < text.size(); i += lengths.back())
        lengths.push_back(utf8_sequence_length(text, i));
    EXPECT_EQ(lengths, (std::vector<std::size_t>{1, 2, 3, 4, 4}));
    EXPECT_EQ(invalid_utf8_at(text), std::nullopt);
}

TEST(Utf8, RefusesOverlongSurrogateOutOfRangeTruncatedAndStrayBytes) {
    for (const char* bad : {"c0af",      // overlong "/"
                            "e080af",    // overlong, three bytes
                            "eda080",    // surrogate U+D800
                            "f4908080",  // above U+10FFFF
                            "f5808080",  // lead byte beyond U+10FFFF
                            "80",        // a continuation byte where a character should start
                            "e282",      // truncated
                            "c328"}) {   // second byte not a continuation
        EXPECT_EQ(utf8_sequence_length(hex(bad), 0), 0u) << bad;
        EXPECT_EQ(invalid_utf8_at(hex(std::string("61") + bad)), std::optional<std::size_t>(1)) << bad;
    }
}

}  // namespace
}  // namespace estgw
