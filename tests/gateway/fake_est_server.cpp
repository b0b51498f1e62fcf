#include "gateway/fake_est_server.hpp"

#include <sys/socket.h>

#include <stdexcept>

#include "common/base64.hpp"
#include "common/keys.hpp"
#include "common/pkcs7.hpp"
#include "common/x509.hpp"
#include "mapping/multipart_mixed.hpp"
#include "support/test_pki.hpp"

namespace estgw::test {

namespace {

std::string last_segment(const std::string& path) {
    return path.substr(path.rfind('/') + 1);
}

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
    server_ =
        std::make_unique<httplib::SSLServer>(cert_file_.c_str(), key_file_.c_str(), client_ca_file_.c_str());
    if (!server_->is_valid()) throw std::runtime_error("fake EST server: bad certificate/key");
    server_->set_tcp_nodelay(true);  // as production HTTP servers do; otherwise Nagle adds ~40 ms per answer
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

FakeReply FakeEstServer::encoded_reply(const std::string& der, const std::string& content_type) const {
    FakeReply r;
    r.headers.emplace_back("Content-Type", content_type);
    Bytes bytes(der.begin(), der.end());
    switch (style_.load()) {
        case BodyStyle::Base64OneLine:
            r.body = base64_encode(bytes);
            break;
        case BodyStyle::Base64CrlfLinesWithCte:
            r.body = base64_encode(bytes, 64) + "\r\n";
            r.headers.emplace_back("Content-Transfer-Encoding", "base64");
            break;
        case BodyStyle::Base64LfLines76: {
            std::string text = base64_encode(bytes, 76);
            for (char c : text) {
                if (c != '\r') r.body.push_back(c);
            }
            r.body.push_back('\n');
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
    if (operation == "voucher_status" || operation == "enrollstatus") {
        FakeReply r;
        r.status = 200;
        return r;
    }
    auto der = base64_decode(body);
    if (!der) return FakeReply{400, {{"Content-Type", "text/plain"}}, "bad base64: " + der.error().message};
    auto csr = parse_csr_der(*der);
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
        parts[0].body = base64_encode(*pkcs8, 64);
        parts[1].headers = {{"Content-Type", "application/pkcs7-mime; smime-type=certs-only"},
                            {"Content-Transfer-Encoding", "base64"}};
        parts[1].body = base64_encode(to_bytes(certs_only_of(to_der(cert.get()))), 64);
        FakeReply r;
        r.headers.emplace_back("Content-Type", "multipart/mixed; boundary=\"est-boundary-1\"");
        r.body = "This is the preamble.\r\n" + mapping::encode_multipart_mixed(parts, "est-boundary-1");
        return r;
    }
    return FakeReply{404, {{"Content-Type", "text/plain"}}, "no such operation"};
}

void FakeEstServer::handle(const httplib::Request& req, httplib::Response& res) {
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
    {
        std::lock_guard lock(mutex_);
        ++calls_[operation];
        requests_.push_back(rec);
        auto& queue = scripts_[operation];
        if (!queue.empty()) {
            reply = std::move(queue.front());
            queue.pop_front();
            scripted = true;
        }
    }
    if (!scripted) reply = normal_answer(operation, req.body);
    auto delay = reply.delay + std::chrono::milliseconds(delay_ms_.load());
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    if (reply.drop_connection && req.ssl) {
        ::shutdown(SSL_get_fd(req.ssl), SHUT_RDWR);
        return;
    }
    res.status = reply.status;
    std::string content_type = "text/plain";
    for (const auto& [k, v] : reply.headers) {
        if (k == "Content-Type") {
            content_type = v;
        } else {
            res.set_header(k, v);
        }
    }
    res.set_content(reply.body, content_type.c_str());
}

}  // namespace estgw::test
