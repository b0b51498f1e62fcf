#include "common/openssl.hpp"

#include <openssl/err.h>

namespace estgw {

std::string openssl_errors() {
    std::string out;
    char buffer[256];
    const char* data = nullptr;
    int flags = 0;
    while (unsigned long code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
        ERR_error_string_n(code, buffer, sizeof buffer);
        if (!out.empty()) out += "; ";
        out += buffer;
        // The free-text detail ("Input type: DER, ...") is often the only useful part of a decoder error.
        if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') {
            out += ": ";
            out += data;
        }
    }
    return out;
}

Error openssl_error(Status status, std::string_view context, std::string_view what) {
    std::string message(context);
    message += ": ";
    message += what;
    const std::string queue = openssl_errors();
    if (!queue.empty()) message += " (" + queue + ")";
    return make_error(status, std::move(message));
}

}  // namespace estgw
