#include "tests/server/github_double.h"

#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <ctime>
#include <future>
#include <regex>
#include <stdexcept>
#include <tuple>

namespace shiplog::testing {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using SystemClock = std::chrono::system_clock;

namespace {

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(size));
  BIO_free(bio);
  return out;
}

// base64url (no padding) to bytes; "" with ok=false when it is not base64url.
std::string FromBase64Url(std::string text, bool& ok) {
  for (char& c : text) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  size_t padding = 0;
  while (text.size() % 4 != 0) {
    text.push_back('=');
    ++padding;
  }
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  ok = n >= 0 && padding < 3;
  if (!ok) return "";
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

bool VerifyRs256(EVP_PKEY* key, const std::string& input, const std::string& signature) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool good =
      ctx && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return good;
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes));
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

std::string Rfc3339(SystemClock::time_point t) {
  const std::time_t seconds = SystemClock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

// The test forks `shiplog serve` while the double listens: a listening socket inherited by the
// server would keep "down" from refusing connections (the kernel queues them for the child).
void KeepFromChildren(int fd) { ::fcntl(fd, F_SETFD, FD_CLOEXEC); }

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(SystemClock::now().time_since_epoch())
      .count();
}

}  // namespace

RsaKeyPair::RsaKeyPair() : key_(EVP_RSA_gen(2048)) {
  if (!key_) throw std::runtime_error("EVP_RSA_gen failed");
}
RsaKeyPair::~RsaKeyPair() { EVP_PKEY_free(key_); }

std::string RsaKeyPair::PrivatePem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key_, nullptr, nullptr, 0, nullptr, nullptr);
  return BioText(bio);
}

TestCertificate MakeSelfSignedCertificate(const std::string& dns_name, bool include_loopback_ip) {
  RsaKeyPair key;
  X509* cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key.get());
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(dns_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  const std::string san = "DNS:" + dns_name + (include_loopback_ip ? ",IP:127.0.0.1" : "");
  for (const auto& [nid, value] : std::vector<std::pair<int, std::string>>{
           {NID_subject_alt_name, san}, {NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(cert, key.get(), EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  X509_free(cert);
  return {BioText(bio), key.PrivatePem()};
}

nlohmann::json ExampleProtectionRuleDelivery() {
  return nlohmann::json::parse(R"({
    "action": "requested",
    "environment": "production",
    "event": "push",
    "deployment_callback_url": "https://api.github.com/repos/Codertocat/Hello-World/actions/runs/7/deployment_protection_rule",
    "deployment": {
      "url": "https://api.github.com/repos/Codertocat/Hello-World/deployments/145988746",
      "id": 145988746, "node_id": "MDEwOkRlcGxveW1lbnQxNDU5ODg3NDY=",
      "sha": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", "ref": "master", "task": "deploy",
      "payload": {}, "original_environment": "production", "environment": "production",
      "description": null,
      "creator": {"login": "Codertocat", "id": 21031067, "type": "User", "site_admin": false},
      "created_at": "2019-05-15T15:20:53Z", "updated_at": "2019-05-15T15:20:53Z",
      "statuses_url": "https://api.github.com/repos/Codertocat/Hello-World/deployments/145988746/statuses",
      "repository_url": "https://api.github.com/repos/Codertocat/Hello-World"
    },
    "pull_requests": [{"number": 2, "state": "open", "title": "Update the README with new information.",
                       "head": {"sha": "ec26c3e57ca3a959ca5aad62de7213c562f8c821"}}],
    "repository": {"id": 186853002, "name": "Hello-World", "full_name": "Codertocat/Hello-World",
                   "private": false},
    "sender": {"login": "Codertocat", "id": 21031067, "type": "User"},
    "installation": {"id": 2311213, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMjMxMTIxMw=="}
  })");
}

class GitHubDouble::Impl {
 public:
  Impl(EVP_PKEY* key, std::string app_id, const TestCertificate* tls)
      : key_(key), app_id_(std::move(app_id)), work_(ioc_.get_executor()), acceptor_(ioc_) {
    if (tls) {
      tls_ = std::make_unique<ssl::context>(ssl::context::tls_server);
      tls_->use_certificate_chain(net::buffer(tls->cert_pem));
      tls_->use_private_key(net::buffer(tls->key_pem), ssl::context::pem);
    }
    Open(0);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~Impl() {
    ioc_.stop();
    thread_.join();
  }

  uint16_t port() const { return port_; }
  bool tls() const { return tls_ != nullptr; }

  void OnIo(std::function<void()> task) {
    std::promise<void> done;
    net::post(ioc_, [&] {
      task();
      done.set_value();
    });
    done.get_future().wait();
  }
  void Open(uint16_t port) {
    const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    KeepFromChildren(acceptor_.native_handle());
    port_ = acceptor_.local_endpoint().port();
    Accept();
  }
  void Close() {
    beast::error_code ignored;
    acceptor_.close(ignored);
  }

  void Accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;  // closed (GoDown, or the end)
      KeepFromChildren(socket.native_handle());
      Serve(std::move(socket));
      Accept();
    });
  }

  // One request per connection: shiplog's client sends Connection: close.
  void Serve(tcp::socket socket) {
    if (!tls_) {
      auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
      return ReadRequest(stream);
    }
    auto stream = std::make_shared<beast::ssl_stream<beast::tcp_stream>>(std::move(socket), *tls_);
    beast::get_lowest_layer(*stream).expires_after(std::chrono::seconds(10));
    stream->async_handshake(ssl::stream_base::server, [this, stream](beast::error_code ec) {
      if (!ec) ReadRequest(stream);
    });
  }

  template <typename Stream>
  void ReadRequest(std::shared_ptr<Stream> stream) {
    beast::get_lowest_layer(*stream).expires_after(std::chrono::seconds(10));
    auto buffer = std::make_shared<beast::flat_buffer>();
    auto req = std::make_shared<http::request<http::string_body>>();
    http::async_read(
        *stream, *buffer, *req, [this, stream, buffer, req](beast::error_code ec, size_t) {
          if (ec) return;
          auto res = std::make_shared<http::response<http::string_body>>(Answer(*req));
          http::async_write(*stream, *res, [stream, res](beast::error_code, size_t) {
            beast::error_code ignored;
            beast::get_lowest_layer(*stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
          });
        });
  }

  http::response<http::string_body> Answer(const http::request<http::string_body>& req) {
    Received got;
    got.method = std::string(req.method_string());
    got.target = std::string(req.target());
    got.body = req.body();
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      got.headers[name] = std::string(field.value());
    }
    int status = 500;
    json body;
    try {
      std::tie(status, body) = Decide(got);
    } catch (const std::exception& e) {
      std::tie(status, body) = Error(500, std::string("the double threw: ") + e.what());
    }
    got.answered = status;
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(got);
    }
    changed_.notify_all();
    http::response<http::string_body> res(static_cast<http::status>(status), 11);
    res.set(http::field::content_type, "application/json; charset=utf-8");
    res.keep_alive(false);
    if (status != 204) res.body() = body.dump();
    res.prepare_payload();
    return res;
  }

  static std::pair<int, json> Error(int status, const std::string& message) {
    return {status, {{"message", message}, {"documentation_url", "https://docs.github.com/rest"}}};
  }

  std::pair<int, json> Decide(const Received& got) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (fail_count_ > 0) {
        --fail_count_;
        return Error(fail_status_, "the double was told to fail");
      }
    }
    static const std::regex kTokens("^/app/installations/([0-9]+)/access_tokens$");
    static const std::regex kReview(
        "^/repos/[^/]+/[^/]+/actions/runs/[0-9]+/deployment_protection_rule$");
    if (got.method != "POST") return Error(404, "Not Found");
    if (got.headers.count("x-github-api-version") == 0 ||
        got.headers.at("x-github-api-version") != "2022-11-28") {
      return Error(400, "missing X-GitHub-Api-Version 2022-11-28");
    }
    std::smatch match;
    if (std::regex_match(got.target, match, kTokens)) return IssueToken(got);
    if (std::regex_match(got.target, kReview)) return TakeReview(got);
    return Error(404, "Not Found");
  }

  std::string Bearer(const Received& got) const {
    auto it = got.headers.find("authorization");
    const std::string prefix = "Bearer ";
    if (it == got.headers.end() || it->second.rfind(prefix, 0) != 0) return "";
    return it->second.substr(prefix.size());
  }

  // GitHub's checks of an App JWT.
  std::string JwtProblem(const std::string& jwt, json& claims) const {
    const size_t dot1 = jwt.find('.'), dot2 = jwt.find('.', dot1 + 1);
    if (dot1 == std::string::npos || dot2 == std::string::npos) return "not a JWT";
    bool ok1 = false, ok2 = false, ok3 = false;
    const std::string header = FromBase64Url(jwt.substr(0, dot1), ok1);
    const std::string payload = FromBase64Url(jwt.substr(dot1 + 1, dot2 - dot1 - 1), ok2);
    const std::string signature = FromBase64Url(jwt.substr(dot2 + 1), ok3);
    if (!ok1 || !ok2 || !ok3) return "not base64url";
    const json h = json::parse(header, nullptr, false);
    claims = json::parse(payload, nullptr, false);
    if (!h.is_object() || !h.contains("alg") || h["alg"] != "RS256") return "alg is not RS256";
    if (!VerifyRs256(key_, jwt.substr(0, dot2), signature)) return "bad signature";
    if (!claims.is_object() || !claims["iat"].is_number_integer() ||
        !claims["exp"].is_number_integer()) {
      return "no iat/exp";
    }
    const json& iss = claims["iss"];
    if ((iss.is_string() ? iss.get<std::string>() : iss.dump()) != app_id_) return "wrong iss";
    const int64_t now = NowSeconds(), iat = claims["iat"], exp = claims["exp"];
    if (iat > now + 5) return "iat in the future";
    if (exp <= now) return "expired";
    if (exp - iat > 600) return "exp more than 10 minutes after iat";
    return "";
  }

  std::pair<int, json> IssueToken(const Received& got) {
    json claims;
    const std::string problem = JwtProblem(Bearer(got), claims);
    if (!problem.empty()) return Error(401, "A JSON web token could not be decoded: " + problem);
    const std::string token = "ghs_" + RandomHex(18);
    std::lock_guard<std::mutex> lock(mu_);
    const auto expires = SystemClock::now() + token_lifetime_;
    tokens_[token] = expires;
    jwt_claims_.push_back(claims);
    return {201,
            {{"token", token},
             {"expires_at", Rfc3339(expires)},
             {"permissions", {{"actions", "read"}, {"deployments", "write"}}},
             {"repository_selection", "all"}}};
  }

  std::pair<int, json> TakeReview(const Received& got) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = tokens_.find(Bearer(got));
      if (it == tokens_.end() || it->second <= SystemClock::now()) {
        return Error(401, "Bad credentials");
      }
    }
    json body = json::parse(got.body, nullptr, false);
    if (!body.is_object() || !body["environment_name"].is_string()) {
      return Error(422, "environment_name is required");
    }
    if (body.contains("state") && body["state"] != "approved" && body["state"] != "rejected") {
      return Error(422, "state must be approved or rejected");
    }
    if (body.contains("comment") &&
        (!body["comment"].is_string() || body["comment"].get<std::string>().size() > 1024)) {
      return Error(422, "comment is too long (maximum is 1024 characters)");
    }
    body["_target"] = got.target;
    std::lock_guard<std::mutex> lock(mu_);
    reviews_.push_back(body);
    return {204, json()};
  }

  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  std::vector<Received> requests_;                         // GUARDED_BY(mu_)
  std::vector<json> reviews_;                              // GUARDED_BY(mu_)
  std::vector<json> jwt_claims_;                           // GUARDED_BY(mu_)
  std::map<std::string, SystemClock::time_point> tokens_;  // GUARDED_BY(mu_)
  int fail_count_ = 0;                                     // GUARDED_BY(mu_)
  int fail_status_ = 503;                                  // GUARDED_BY(mu_)
  std::chrono::seconds token_lifetime_{3600};              // GUARDED_BY(mu_)

 private:
  EVP_PKEY* key_;
  const std::string app_id_;
  std::unique_ptr<ssl::context> tls_;
  net::io_context ioc_;
  // Keeps run() going while the double is down (no socket open, nothing pending).
  net::executor_work_guard<net::io_context::executor_type> work_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread thread_;
};

GitHubDouble::GitHubDouble(EVP_PKEY* app_public_key, std::string app_id, const TestCertificate* tls)
    : impl_(std::make_unique<Impl>(app_public_key, std::move(app_id), tls)), port_(impl_->port()) {}

GitHubDouble::~GitHubDouble() = default;

std::string GitHubDouble::url() const {
  return (impl_->tls() ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_);
}

void GitHubDouble::FailNext(int count, int status) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->fail_count_ = count;
  impl_->fail_status_ = status;
}

void GitHubDouble::GoDown() {
  impl_->OnIo([this] { impl_->Close(); });
}

void GitHubDouble::ComeUp() {
  impl_->OnIo([this] { impl_->Open(port_); });
}

void GitHubDouble::SetTokenLifetime(std::chrono::seconds lifetime) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->token_lifetime_ = lifetime;
}

std::vector<Received> GitHubDouble::requests() const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  return impl_->requests_;
}

std::vector<json> GitHubDouble::reviews() const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  return impl_->reviews_;
}

std::vector<json> GitHubDouble::jwt_claims() const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  return impl_->jwt_claims_;
}

size_t GitHubDouble::tokens_issued() const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  return impl_->tokens_.size();
}

bool GitHubDouble::WaitForReviews(size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mu_);
  return impl_->changed_.wait_for(lock, timeout, [&] { return impl_->reviews_.size() >= count; });
}

bool GitHubDouble::WaitForRequests(size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mu_);
  return impl_->changed_.wait_for(lock, timeout, [&] { return impl_->requests_.size() >= count; });
}

}  // namespace shiplog::testing
