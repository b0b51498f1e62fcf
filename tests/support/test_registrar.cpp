#include "support/test_registrar.hpp"

#include <openssl/ssl.h>

#include <cstring>
#include <memory>
#include <stdexcept>

#include "common/x509.hpp"
#include "mapping/cert_formats.hpp"
#include "mapping/multipart_core.hpp"
#include "support/process.hpp"

namespace estgw::test {

namespace {

constexpr const char* kPaths[] = {"brski/rv", "brski/vs", "brski/es", "est/sen", "est/crts"};

std::optional<unsigned> uint_option(const coap_pdu_t* pdu, coap_option_num_t number) {
    coap_opt_iterator_t it;
    const coap_opt_t* opt = coap_check_option(pdu, number, &it);
    if (!opt) return std::nullopt;
    return coap_decode_var_bytes(coap_opt_value(opt), coap_opt_length(opt));
}

Bytes client_certificate(coap_session_t* session) {
    coap_tls_library_t library = COAP_TLS_LIBRARY_NOTLS;
    const auto* ssl = static_cast<const SSL*>(coap_session_get_tls(session, &library));
    if (!ssl || library != COAP_TLS_LIBRARY_OPENSSL) return {};
    const X509* cert = SSL_get0_peer_certificate(ssl);
    if (!cert) return {};
    auto der = certificate_to_der(cert);
    return der ? *der : Bytes{};
}

RegistrarAnswer error(std::uint8_t code) {
    RegistrarAnswer a;
    a.code = code;
    return a;
}

// libcoap calls this once it no longer needs the body, also when adding it failed.
void release_copy(coap_session_t*, void* data) {
    std::unique_ptr<Bytes> owned(static_cast<Bytes*>(data));
}

}  // namespace

TestRegistrar::TestRegistrar(Config config) : config_(std::move(config)) {
    coap_startup();  // idempotent
    // Quiet: libcoap reports the key it was deliberately not given (tls_setup installs it) as an error on
    // every session; a real failure shows in the pledge's output and the test's assertions.
    coap_set_log_level(LOG_CRIT);
    coap_dtls_set_log_level(LOG_CRIT);
    auto credentials = DtlsCredentials::load(config_.cert_file, config_.key_file, "");
    if (!credentials) throw std::runtime_error("test registrar: " + credentials.error().message);
    credentials_ = std::move(*credentials);
    context_ = coap_new_context(nullptr);
    if (!context_) throw std::runtime_error("test registrar: coap_new_context failed");
    coap_set_app_data(context_, this);
    coap_context_set_block_mode(context_, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);

    coap_dtls_pki_t pki{};
    pki.version = COAP_DTLS_PKI_SETUP_VERSION;
    pki.verify_peer_cert = 1;
    pki.cert_chain_validation = 1;
    pki.cert_chain_verify_depth = 4;
    // As gateway/coap_front.cpp: libcoap gets no key; tls_setup installs the certificate with its chain,
    // which libcoap's PEM loading would not send.
    pki.additional_tls_setup_call_back = tls_setup;
    pki.pki_key.key_type = COAP_PKI_KEY_ASN1;
    if (!coap_context_set_pki(context_, &pki) ||
        !coap_context_set_pki_root_cas(context_, config_.client_ca_file.c_str(), nullptr))
        throw std::runtime_error("test registrar: libcoap refused the DTLS set-up");

    for (const char* path : kPaths) {
        const std::string full = std::string(".well-known/") + path;
        coap_resource_t* r = coap_resource_init(
            coap_new_str_const(reinterpret_cast<const std::uint8_t*>(full.data()), full.size()),
            COAP_RESOURCE_FLAGS_RELEASE_URI);
        coap_register_handler(r, COAP_REQUEST_POST, handle);
        coap_register_handler(r, COAP_REQUEST_GET, handle);
        coap_add_resource(context_, r);
    }
    for (int attempt = 0; attempt < 20 && port_ == 0; ++attempt) {
        const int port = free_port(true);
        coap_address_t address;
        coap_address_init(&address);
        address.addr.sin.sin_family = AF_INET;
        address.addr.sin.sin_port = htons(static_cast<std::uint16_t>(port));
        address.addr.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        address.size = sizeof(sockaddr_in);
        if (coap_new_endpoint(context_, &address, COAP_PROTO_DTLS)) port_ = port;
    }
    if (port_ == 0) throw std::runtime_error("test registrar: no free UDP port");
    thread_ = std::thread([this] {
        while (!stop_)
            coap_io_process(context_, 50);
    });
}

TestRegistrar::~TestRegistrar() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    coap_free_context(context_);
}

int TestRegistrar::tls_setup(void* tls_session, coap_dtls_pki_t*) {
    auto* ssl = static_cast<SSL*>(tls_session);
    auto* session = static_cast<coap_session_t*>(SSL_get_app_data(ssl));
    auto* self =
        session ? static_cast<TestRegistrar*>(coap_get_app_data(coap_session_get_context(session))) : nullptr;
    return self && self->credentials_ && self->credentials_->install(ssl) ? 1 : 0;
}

std::vector<RegistrarRequest> TestRegistrar::received() const {
    std::lock_guard lock(mutex_);
    return received_;
}

std::vector<RegistrarRequest> TestRegistrar::received(const std::string& path) const {
    std::vector<RegistrarRequest> out;
    for (auto& r : received())
        if (r.path == path) out.push_back(std::move(r));
    return out;
}

void TestRegistrar::handle(coap_resource_t* resource, coap_session_t* session, const coap_pdu_t* request,
                           const coap_string_t* query, coap_pdu_t* response) {
    auto* self = static_cast<TestRegistrar*>(coap_get_app_data(coap_session_get_context(session)));
    RegistrarRequest r;
    coap_str_const_t* uri = coap_resource_get_uri_path(resource);
    r.path =
        std::string(reinterpret_cast<const char*>(uri->s), uri->length).substr(std::strlen(".well-known/"));
    std::size_t length = 0, offset = 0, total = 0;
    const std::uint8_t* data = nullptr;
    if (coap_get_data_large(request, &length, &data, &offset, &total)) r.body.assign(data, data + length);
    r.content_format = uint_option(request, COAP_OPTION_CONTENT_FORMAT);
    r.accept = uint_option(request, COAP_OPTION_ACCEPT);
    r.client_certificate = client_certificate(session);
    RegistrarAnswer a = self->answer(r);
    coap_pdu_set_code(response, static_cast<coap_pdu_code_t>(a.code));
    if (a.body.empty()) {
        if (a.max_age) {
            std::uint8_t buf[4];
            coap_add_option(response, COAP_OPTION_MAXAGE, coap_encode_var_safe(buf, sizeof buf, *a.max_age),
                            buf);
        }
        if (a.content_format) {
            std::uint8_t buf[4];
            coap_add_option(response, COAP_OPTION_CONTENT_FORMAT,
                            coap_encode_var_safe(buf, sizeof buf, *a.content_format), buf);
        }
        return;
    }
    Bytes* copy = std::make_unique<Bytes>(std::move(a.body)).release();  // libcoap owns it now
    coap_add_data_large_response(
        resource, session, request, response, query, static_cast<std::uint16_t>(a.content_format.value_or(0)),
        a.max_age ? static_cast<int>(*a.max_age) : -1, 0, copy->size(), copy->data(), release_copy, copy);
}

RegistrarAnswer TestRegistrar::answer(const RegistrarRequest& r) {
    int count = 0;
    {
        std::lock_guard lock(mutex_);
        received_.push_back(r);
        if (r.path == "brski/rv") count = ++voucher_requests_;
    }
    if (r.path == "brski/rv") return config_.voucher(r, count);
    if (r.path == "brski/vs" || r.path == "brski/es") return error(COAP_RESPONSE_CODE(204));
    if (r.path == "est/sen") {
        auto csr = parse_csr_der(r.body);
        if (!csr || !config_.issuing_ca) return error(COAP_RESPONSE_CODE(400));
        auto cert = config_.issuing_ca->issue(csr->get(), certs::IssuanceProfile{});
        if (!cert) return error(COAP_RESPONSE_CODE(500));
        RegistrarAnswer a;
        a.body = certificate_to_der(cert->get()).value();
        a.content_format = 287;
        if (r.accept != 287u) {
            a.body = mapping::certs_only_from_certificate(a.body).value();
            a.content_format = 281;
        }
        return a;
    }
    // crts
    RegistrarAnswer a;
    a.code = COAP_RESPONSE_CODE(205);
    if (r.accept == 62u) {
        std::vector<BodyPart> parts;
        for (const auto& der : config_.crts)
            parts.push_back(BodyPart{ContentFormat::PkixCert, der});
        a.body = mapping::encode_multipart_core(parts);
        a.content_format = 62;
    } else if (r.accept == 287u) {
        a.body = config_.crts.front();
        a.content_format = 287;
    } else {
        a.body = config_.issuing_ca->cacerts_response().value();
        a.content_format = 281;
    }
    return a;
}

}  // namespace estgw::test
