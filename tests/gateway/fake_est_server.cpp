#include "gateway/fake_est_server.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <stdexcept>

#include "common/base64.hpp"
#include "common/keys.hpp"
#include "common/pkcs7.hpp"
#include "common/x509.hpp"
#include "mapping/multipart_mixed.hpp"
#include "support/libest_base64.hpp"
#include "support/test_pki.hpp"

namespace estgw::test {

namespace {

std::string last_segment(const std::string& path) {
    return path.substr(path.rfind('/') + 1);
}

constexpr std::size_t kServerThreads = 128;

std::string der_string(const Bytes& b) {
    return std::string(b.begin(), b.end());
}

}  // namespace

FakeEstServer::FakeEstServer(std::string cert_file, std::string key_file, std::string client_ca_file,
                             const X509* ca, const EVP_PKEY* ca_key)
    : cert_file_(std::move(cert_file)),
      key_file_(std::move(key_file)),
      client_ca_file_(std::move(client_ca_file)) {
    ca_.reset(X509_dup(const_cast<X509*>(ca)));
    EVP_PKEY_up_ref(const_cast<EVP_PKEY*>(ca_key));
    ca_key_.reset(const_cast<EVP_PKEY*>(ca_key));
}

FakeEstServer::~FakeEstServer() {
    stop();
}

int FakeEstServer::start() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = false;
    }
    server_ =
        std::make_unique<httplib::SSLServer>(cert_file_.c_str(), key_file_.c_str(), client_ca_file_.c_str());
    if (!server_->is_valid()) throw std::runtime_error("fake EST server: bad certificate/key");
    // As production HTTP servers do; otherwise Nagle adds ~40 ms per answer. cpp-httplib writes the status
    // line and headers, then the body, in two writes: with Nagle on (split_writes_) that is the stall of
    // servers such as cisco/libest.
    server_->set_tcp_nodelay(!split_writes_);
    // cpp-httplib serves each kept-alive connection on one thread of its pool for as long as it stays open,
    // and its default pool has 8: the gateway's and the benchmark's clients keep more open than that.
    // (cpp-httplib 0.11 takes the pool as a raw pointer, which it owns.)
    server_->new_task_queue = [] { return new httplib::ThreadPool(kServerThreads); };
    server_->set_keep_alive_max_count(1000);  // nginx's default; cpp-httplib's 5 forces a TLS handshake often
    auto handler = [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); };
    server_->Get(".*", handler);
    server_->Post(".*", handler);
    int port = server_->bind_to_any_port("127.0.0.1");
    if (port <= 0) throw std::runtime_error("fake EST server: cannot bind");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    // cpp-httplib 0.11 has no wait_until_ready(); the socket is bound, so connections queue until listen
    // runs.
    for (int i = 0; i < 200 && !server_->is_running(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return port;
}

void FakeEstServer::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    stopped_.notify_all();  // a delayed answer goes out at once: stop() need not wait for it
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
}

void FakeEstServer::script(const std::string& operation, FakeReply reply) {
    std::lock_guard lock(mutex_);
    scripts_[operation].push_back(std::move(reply));
}

int FakeEstServer::calls(const std::string& operation) const {
    std::lock_guard lock(mutex_);
    auto it = calls_.find(operation);
    return it == calls_.end() ? 0 : it->second;
}

std::vector<RecordedRequest> FakeEstServer::requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
}

void FakeEstServer::set_wire_style(WireStyle style) {
    std::lock_guard lock(mutex_);
    wire_ = style;
}

void FakeEstServer::require_basic(std::string user, std::string password) {
    std::lock_guard lock(mutex_);
    basic_credentials_ = user + ":" + password;
}

void FakeEstServer::apply_profile_from_environment() {
    const char* profile = std::getenv("ESTGW_TEST_UPSTREAM");
    std::string name = profile ? profile : "lenient";
    if (name == "strict") {
        set_strictness(Strictness::Libest);
        set_body_style(BodyStyle::Base64LibestLines);
    } else if (name == "split") {
        set_split_writes(true);
    } else if (name != "lenient") {
        throw std::runtime_error("ESTGW_TEST_UPSTREAM must be 'strict', 'lenient' or 'split', not '" + name +
                                 "'");
    }
}

void FakeEstServer::restore_defaults() {
    set_body_style(strict() ? BodyStyle::Base64LibestLines : BodyStyle::Base64OneLine);
    set_wire_style({});
}

std::string FakeEstServer::encode_base64(const Bytes& der) const {
    return style_.load() == BodyStyle::Base64LibestLines ? libest_base64_encode(der) : base64_encode(der, 64);
}

FakeReply FakeEstServer::encoded_reply(const std::string& der, const std::string& content_type) const {
    FakeReply r;
    r.headers.emplace_back("Content-Type", content_type);
    Bytes bytes(der.begin(), der.end());
    switch (style_.load()) {
        case BodyStyle::Base64LibestLines:
            r.body = libest_base64_encode(bytes);
            r.headers.emplace_back("Content-Transfer-Encoding", "base64");
            break;
        case BodyStyle::Base64OneLine:
            r.body = base64_encode(bytes);
            break;
        case BodyStyle::Base64CrlfLinesWithCte:
            r.body = base64_encode(bytes, 64);
            r.headers.emplace_back("Content-Transfer-Encoding", "base64");
            break;
        case BodyStyle::Base64LfLines76: {
            std::string text = base64_encode(bytes, 76);
            for (char c : text) {
                if (c != '\r') r.body.push_back(c);
            }
            break;
        }
        case BodyStyle::RawDer:
            r.body = der;
            r.headers.emplace_back("Content-Transfer-Encoding", "binary");
            break;
    }
    return r;
}

FakeReply FakeEstServer::normal_answer(const std::string& operation, const std::string& body) {
    auto certs_only_of = [](const Bytes& cert) {
        auto p7 = make_certs_only({cert});
        if (!p7) throw std::runtime_error(p7.error().message);
        return der_string(*p7);
    };
    if (operation == "cacerts") {
        // RFC 7030 §4.1.3 labels /cacerts without smime-type.
        return encoded_reply(certs_only_of(to_der(ca_.get())), "application/pkcs7-mime");
    }
    if (operation == "csrattrs") {
        // SEQUENCE { challengePassword OID }: RFC 7030 §4.5.2 with one entry.
        static const unsigned char kAttrs[] = {0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48,
                                               0x86, 0xf7, 0x0d, 0x01, 0x09, 0x07};
        return encoded_reply(std::string(std::begin(kAttrs), std::end(kAttrs)), "application/csrattrs");
    }
    if (operation == "requestvoucher") {
        // RFC 8995 §5.5: a binary voucher answers a binary voucher-request; the bytes stand for a registrar's
        // voucher (tag 18 around an empty COSE_Sign1 shape), which the gateway passes on unchanged.
        if (body.empty()) return FakeReply{400, {{"Content-Type", "text/plain"}}, "empty voucher-request"};
        return FakeReply{200, {{"Content-Type", "application/voucher+cose"}}, kFakeVoucher};
    }
    if (operation == "voucher_status" || operation == "enrollstatus") {
        FakeReply r;
        r.status = 200;
        return r;
    }
    Bytes der;
    if (strict()) {
        // libest's answer and log when its decoder gives nothing usable.
        auto decoded = libest_base64_decode(body);
        if (!decoded) {
            return FakeReply{400,
                             {{"Content-Type", "text/plain"}},
                             "Invalid or corrupted pkcs10 request (Problem reading DER encoded certificate "
                             "request)"};
        }
        der = std::move(*decoded);
    } else {
        auto decoded = base64_decode(body);
        if (!decoded)
            return FakeReply{400, {{"Content-Type", "text/plain"}}, "bad base64: " + decoded.error().message};
        der = std::move(*decoded);
    }
    auto csr = parse_csr_der(der);
    if (!csr) return FakeReply{400, {{"Content-Type", "text/plain"}}, "bad CSR: " + csr.error().message};
    if (operation == "simpleenroll" || operation == "simplereenroll") {
        X509Ptr cert = issue_cert(csr->get(), ca_.get(), ca_key_.get());
        return encoded_reply(certs_only_of(to_der(cert.get())),
                             "application/pkcs7-mime; smime-type=certs-only");
    }
    if (operation == "serverkeygen") {
        // RFC 7030 §4.4.2: a fresh key; the CSR's key is ignored.
        EvpPkeyPtr key = make_key(KeyKind::P256);
        X509ReqPtr with_new_key(X509_REQ_dup(csr->get()));
        X509_REQ_set_pubkey(with_new_key.get(), key.get());
        sign_csr(with_new_key.get(), key.get());
        X509Ptr cert = issue_cert(with_new_key.get(), ca_.get(), ca_key_.get());
        auto pkcs8 = private_key_to_pkcs8_der(key.get());
        if (!pkcs8) throw std::runtime_error(pkcs8.error().message);
        std::vector<mapping::MimePart> parts(2);
        parts[0].headers = {{"Content-Type", "application/pkcs8"}, {"Content-Transfer-Encoding", "base64"}};
        parts[0].body = encode_base64(*pkcs8);
        parts[1].headers = {{"Content-Type", "application/pkcs7-mime; smime-type=certs-only"},
                            {"Content-Transfer-Encoding", "base64"}};
        parts[1].body = encode_base64(to_bytes(certs_only_of(to_der(cert.get()))));
        FakeReply r;
        r.headers.emplace_back("Content-Type", "multipart/mixed; boundary=\"est-boundary-1\"");
        r.body = "This is the preamble.\r\n" + mapping::encode_multipart_mixed(parts, "est-boundary-1");
        return r;
    }
    return FakeReply{404, {{"Content-Type", "text/plain"}}, "no such operation"};
}

// RFC 7617: the credentials on every request, or 401 naming the scheme and realm.
std::optional<FakeReply> FakeEstServer::refusal(const httplib::Request& req) const {
    std::lock_guard lock(mutex_);
    if (!basic_credentials_) return std::nullopt;
    const std::string expected = "Basic " + base64_encode(to_bytes(*basic_credentials_));
    if (req.get_header_value("Authorization") == expected) return std::nullopt;
    return FakeReply{401,
                     {{"Content-Type", "text/plain"}, {"WWW-Authenticate", "Basic realm=\"estrealm\""}},
                     "Unauthorized"};
}

void FakeEstServer::handle(const httplib::Request& req, httplib::Response& res) {
    const int now_in_flight = ++in_flight_;
    for (int seen = max_in_flight_.load(); now_in_flight > seen;) {
        if (max_in_flight_.compare_exchange_weak(seen, now_in_flight)) break;
    }
    struct Leaving {
        std::atomic<int>& count;
        ~Leaving() { --count; }
    } leaving{in_flight_};
    std::string operation = last_segment(req.path);
    RecordedRequest rec;
    rec.method = req.method;
    rec.path = req.path;
    rec.content_type = req.get_header_value("Content-Type");
    rec.body = req.body;
    for (const auto& [k, v] : req.headers)
        rec.headers[k] = v;
    if (req.ssl) {
        X509Ptr peer(SSL_get1_peer_certificate(req.ssl));
        if (peer) rec.client_subject = name_to_string(X509_get_subject_name(peer.get()));
    }
    FakeReply reply;
    bool scripted = false;
    auto refused = refusal(req);
    {
        std::lock_guard lock(mutex_);
        ++calls_[operation];
        requests_.push_back(rec);
        auto& queue = scripts_[operation];
        if (!refused && !queue.empty()) {
            reply = std::move(queue.front());
            queue.pop_front();
            scripted = true;
        }
    }
    if (refused) {
        reply = std::move(*refused);
    } else if (!scripted) {
        reply = normal_answer(operation, req.body);
    }
    auto delay = reply.delay + std::chrono::milliseconds(delay_ms_.load());
    if (delay.count() > 0) {
        std::unique_lock lock(mutex_);
        stopped_.wait_for(lock, delay, [this] { return stopping_; });
    }
    if (reply.drop_connection && req.ssl) {
        ::shutdown(SSL_get_fd(req.ssl), SHUT_RDWR);
        return;
    }
    write(std::move(reply), req, res);
}

namespace {

std::string odd_case(std::string name) {
    for (std::size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        name[i] = static_cast<char>(i % 2 ? std::toupper(static_cast<unsigned char>(c))
                                          : std::tolower(static_cast<unsigned char>(c)));
    }
    return name;
}

}  // namespace

void FakeEstServer::write(FakeReply reply, const httplib::Request& req, httplib::Response& res) const {
    WireStyle wire;
    {
        std::lock_guard lock(mutex_);
        wire = wire_;
    }
    std::string content_type = "text/plain";
    std::vector<std::pair<std::string, std::string>> headers;
    for (auto& [k, v] : reply.headers) {
        if (k == "Content-Type") {
            content_type = v;
        } else {
            headers.emplace_back(k, v);
        }
    }
    if (wire.content_type_parameters) content_type += "; charset=us-ascii";
    if (wire.http10_close_delimited && req.ssl) {
        // The whole answer written by hand: an HTTP/1.0 status line, no Content-Length, and the end of the
        // body marked only by closing the connection (RFC 9112 §6.3, last rule). cpp-httplib's own answer
        // to this request then goes nowhere.
        std::string raw =
            "HTTP/1.0 " + std::to_string(reply.status) + " X\r\nContent-Type: " + content_type + "\r\n";
        for (const auto& [k, v] : headers)
            raw += k + ": " + v + "\r\n";
        raw += "\r\n" + reply.body;
        SSL* ssl = const_cast<SSL*>(req.ssl);  // this handler owns the connection until it returns
        SSL_write(ssl, raw.data(), static_cast<int>(raw.size()));
        SSL_shutdown(ssl);
        ::shutdown(SSL_get_fd(req.ssl), SHUT_RDWR);
        return;
    }
    auto name = [&](const std::string& n) { return wire.odd_header_case ? odd_case(n) : n; };
    res.status = reply.status;
    for (const auto& [k, v] : headers)
        res.set_header(name(k), v);
    if (wire.close_after_each_answer) res.set_header("Connection", "close");
    if (wire.chunked) {
        auto body = std::make_shared<std::string>(std::move(reply.body));
        res.set_chunked_content_provider(content_type, [body](std::size_t, httplib::DataSink& sink) {
            // Three chunks of uneven sizes, so that no chunk boundary falls on a base64 group.
            std::size_t third = body->size() / 3 + 1;
            for (std::size_t at = 0; at < body->size(); at += third)
                sink.write(body->data() + at, std::min(third, body->size() - at));
            sink.done();
            return true;
        });
        return;
    }
    if (wire.odd_header_case) {
        // set_content would add a conventional "Content-Type"; cpp-httplib adds Content-Length itself.
        res.set_header(name("Content-Type"), content_type);
        res.body = std::move(reply.body);
        return;
    }
    res.set_content(reply.body, content_type.c_str());
}

}  // namespace estgw::test
