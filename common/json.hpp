// JSON text (RFC 8259) for what estgw prints or relays: only the string encoding is shared, since every
// writer builds its own objects.
#pragma once

#include <string>
#include <string_view>

namespace estgw {

// `text` as a quoted JSON string, appended to `out`. Quote and backslash are escaped, \n \r \t \b \f by
// their short forms and every other control character (and DEL) as \u00XX (RFC 8259 §7). A byte that does
// not start well-formed UTF-8 becomes U+FFFD, so the result is valid JSON whatever the input held (names
// read back from a database, say).
void append_json_string(std::string& out, std::string_view text);
std::string json_string(std::string_view text);

}  // namespace estgw
