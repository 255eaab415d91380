// TLS on the real `shiplog serve`: certificates made here with the openssl command (a CA, a
// server certificate for 127.0.0.1 by IP SAN, client certificates), then submit and reads over
// https, refusals (an untrusted server, TLS 1.1, plain HTTP to the TLS port, mTLS without the
// right client certificate), SIGHUP reload, and the listener options.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "tests/server/deploy_chain.h"
#include "tests/server/raw_socket.h"
#include "tests/server/server_process.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using json = nlohmann::json;

// A deploy.requested for `deployment` (deploy_chain.h's request).
json Request(const std::string& deployment) {
  json request = ChainRequest("checkout",
                              "registry.example/checkout@sha256:"
                              "4f1c2a9e7b3d5f60812a4c6e8f0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b");
  request["deployment"] = deployment;
  return request;
}

void Openssl(std::vector<std::string> args) {
  args.insert(args.begin(), "/usr/bin/openssl");
  ProcessResult r = RunProcess(args);
  if (r.exit_code != 0) throw std::runtime_error("openssl failed: " + r.err);
}

// Certificates in a scratch directory: CAs, and certificates they issue (P-256 keys).
class Pki {
 public:
  std::string path(const std::string& name) const { return dir_ / name; }

  // NAME.pem (self-signed CA) and NAME.key.
  void MakeCa(const std::string& name) {
    Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", path(name + ".key"), "-out", path(name + ".pem"), "-days", "2", "-subj",
             "/CN=" + name});
  }
  // NAME.pem issued by `ca` and NAME.key; `san` e.g. "IP:127.0.0.1", "" for a client.
  void Issue(const std::string& ca, const std::string& name, const std::string& san) {
    Openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
             path(name + ".key"), "-out", path(name + ".csr"), "-subj", "/CN=" + name});
    const std::string ext = path(name + ".ext");
    WriteFile(ext, san.empty() ? "extendedKeyUsage=clientAuth\n"
                               : "subjectAltName=" + san + "\nextendedKeyUsage=serverAuth\n");
    Openssl({"x509", "-req", "-in", path(name + ".csr"), "-CA", path(ca + ".pem"), "-CAkey",
             path(ca + ".key"), "-set_serial", std::to_string(++serial_), "-out",
             path(name + ".pem"), "-days", "2", "-extfile", ext});
  }

 private:
  ScratchDir dir_;
  int serial_ = 1000;
};

// A TLS connection made with OpenSSL directly, to try what shiplog's own client never does (an
// old protocol) and to keep one connection open across a reload.
class TlsClient {
 public:
  // Connects to 127.0.0.1:`port` and handshakes, trusting `ca`, offering at most `max_version`.
  TlsClient(uint16_t port, const std::string& ca, int max_version = 0)
      : ctx_(SSL_CTX_new(TLS_client_method()), SSL_CTX_free) {
    SSL_CTX_load_verify_locations(ctx_.get(), ca.c_str(), nullptr);
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
    if (max_version != 0) {
      // Level 0 lets this client offer TLS 1.0/1.1 at all: the refusal must be the server's.
      SSL_CTX_set_security_level(ctx_.get(), 0);
      SSL_CTX_set_min_proto_version(ctx_.get(), TLS1_VERSION);
      SSL_CTX_set_max_proto_version(ctx_.get(), max_version);
    }
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{20, 0};  // a server that never answers fails the test instead of hanging it
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return;
    ssl_ = SSL_new(ctx_.get());
    SSL_set_fd(ssl_, fd_);
    connected_ = SSL_connect(ssl_) == 1;
  }
  ~TlsClient() {
    if (ssl_) SSL_free(ssl_);
    ::close(fd_);
  }

  bool connected() const { return connected_; }

  // The certificate the server showed equals the one in `pem_file`.
  bool ServerShowed(const std::string& pem_file) const {
    FILE* f = std::fopen(pem_file.c_str(), "r");
    if (!f) return false;
    X509* expected = PEM_read_X509(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    X509* peer = SSL_get1_peer_certificate(ssl_);
    const bool same = expected && peer && X509_cmp(expected, peer) == 0;
    X509_free(peer);
    X509_free(expected);
    return same;
  }

  // One keep-alive GET on this connection; the answer's status, or 0 when none came.
  int Get(const std::string& target) {
    const std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    if (SSL_write(ssl_, request.data(), static_cast<int>(request.size())) <= 0) return 0;
    std::string answer;
    char buf[4096];
    size_t head_end = std::string::npos;
    size_t want = std::string::npos;
    while (want == std::string::npos || answer.size() < want) {
      const int n = SSL_read(ssl_, buf, sizeof(buf));
      if (n <= 0) return 0;
      answer.append(buf, static_cast<size_t>(n));
      if (head_end == std::string::npos &&
          (head_end = answer.find("\r\n\r\n")) != std::string::npos) {
        const size_t at = answer.find("Content-Length: ");
        want = head_end + 4 + std::stoul(answer.substr(at + 16));
      }
    }
    return RawSocket::StatusOf(answer);
  }

 private:
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx_;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool connected_ = false;
};

// Waits for `text` in the server's log (what the server did, not how fast).
bool LogShows(const ServerProcess& server, const std::string& text) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (server.Log().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

class TlsTest : public ::testing::Test {
 protected:
  TlsTest() : server_({{"leon", {"coordinator"}}, {"rutger", {"production-ops"}}}) {
    pki_.MakeCa("ca");
    pki_.MakeCa("other-ca");
    pki_.Issue("ca", "server", "IP:127.0.0.1");
    pki_.Issue("ca", "client", "");
    pki_.Issue("other-ca", "stranger", "");
  }

  TlsSetup Options(bool mtls = false) const {
    TlsSetup tls{pki_.path("server.pem"), pki_.path("server.key"), "", pki_.path("ca.pem"), "", ""};
    if (mtls) {
      tls.client_ca = pki_.path("ca.pem");
      tls.client_cert = pki_.path("client.pem");
      tls.client_key = pki_.path("client.key");
    }
    return tls;
  }

  // `shiplog submit` of a signed deploy.requested with `extra` options.
  ProcessResult Submit(const std::string& deployment, std::vector<std::string> extra) const {
    std::vector<std::string> args = {"submit", "--server", server_.url(), "--key",
                                     server_.key("leon")};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back("-");
    json event = Request(deployment);
    event["actor"] = "leon";
    return server_.Shiplog(args, event.dump());
  }

  Pki pki_;
  ServerProcess server_;
};

TEST_F(TlsTest, SubmitAndReadOverHttpsWithTheCa) {
  server_.StartTls(Options());
  ProcessResult submitted = Submit("checkout-1", {"--ca", pki_.path("ca.pem")});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
  EXPECT_GT(json::parse(submitted.out).value("seq", 0), 0);
  adapters::HttpReply read = server_.Get("/v1/query?deployment=checkout-1");
  EXPECT_EQ(read.status, 200);
  EXPECT_THAT(read.body, HasSubstr("checkout-1"));
  EXPECT_THAT(server_.Log(), HasSubstr("listening on https://127.0.0.1:"));
  // The CLI's signed read over https: the same records.
  ProcessResult query =
      server_.Shiplog({"query", "--server", server_.url(), "--ca", pki_.path("ca.pem"), "--key",
                       server_.admin_key(), "--deployment", "checkout-1"});
  ASSERT_EQ(query.exit_code, 0) << query.err;
  EXPECT_EQ(query.out, read.body);
}

TEST_F(TlsTest, AClientThatDoesNotTrustTheCaFailsClearly) {
  server_.StartTls(Options());
  ProcessResult untrusting = Submit("checkout-1", {});  // the system's CAs only
  EXPECT_EQ(untrusting.exit_code, 1);
  EXPECT_THAT(untrusting.err, HasSubstr("certificate is not trusted"));
  EXPECT_THAT(untrusting.err, HasSubstr("--ca FILE"));
  ProcessResult wrong_ca = Submit("checkout-1", {"--ca", pki_.path("other-ca.pem")});
  EXPECT_EQ(wrong_ca.exit_code, 1);
  EXPECT_THAT(wrong_ca.err, HasSubstr("certificate is not trusted"));
  EXPECT_EQ(server_.Get("/v1/query?deployment=checkout-1").body, "");  // nothing stored
}

TEST_F(TlsTest, TlsOnePointOneAndPlainHttpAreRefused) {
  server_.StartTls(Options());
  EXPECT_TRUE(TlsClient(server_.port(), pki_.path("ca.pem"), TLS1_2_VERSION).connected());
  EXPECT_FALSE(TlsClient(server_.port(), pki_.path("ca.pem"), TLS1_1_VERSION).connected());
  EXPECT_TRUE(LogShows(server_, "unsupported protocol"));

  RawSocket plain(server_.port());
  ASSERT_TRUE(plain.connected());
  plain.Send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_THAT(plain.ReadUntilClosed(), ::testing::Not(HasSubstr("200 OK")));
  EXPECT_TRUE(LogShows(server_, "failed: http request"));
}

TEST_F(TlsTest, MutualTlsTakesOnlyClientCertificatesFromItsCa) {
  server_.StartTls(Options(/*mtls=*/true));  // ready: /readyz answered over mTLS
  ProcessResult none = Submit("checkout-1", {"--ca", pki_.path("ca.pem")});
  EXPECT_EQ(none.exit_code, 1) << none.out;
  ProcessResult stranger =
      Submit("checkout-1", {"--ca", pki_.path("ca.pem"), "--client-cert", pki_.path("stranger.pem"),
                            "--client-key", pki_.path("stranger.key")});
  EXPECT_EQ(stranger.exit_code, 1) << stranger.out;
  EXPECT_TRUE(LogShows(server_, "client certificate refused"));
  ProcessResult client =
      Submit("checkout-1", {"--ca", pki_.path("ca.pem"), "--client-cert", pki_.path("client.pem"),
                            "--client-key", pki_.path("client.key")});
  EXPECT_EQ(client.exit_code, 0) << client.err;
  ProcessResult half =
      Submit("checkout-2", {"--ca", pki_.path("ca.pem"), "--client-cert", pki_.path("client.pem")});
  EXPECT_EQ(half.exit_code, 2);
  EXPECT_THAT(half.err, HasSubstr("--client-key"));
}

TEST_F(TlsTest, SighupReloadsForNewConnectionsAndKeepsOpenOnes) {
  // The server reads its certificate from files the test then replaces.
  const std::string cert = pki_.path("live.pem");
  const std::string key = pki_.path("live.key");
  WriteFile(cert, ReadFile(pki_.path("server.pem")));
  WriteFile(key, ReadFile(pki_.path("server.key")));
  TlsSetup tls = Options();
  tls.cert = cert;
  tls.key = key;
  server_.StartTls(tls);
  TlsClient before(server_.port(), pki_.path("ca.pem"));
  ASSERT_TRUE(before.connected());
  EXPECT_TRUE(before.ServerShowed(pki_.path("server.pem")));
  EXPECT_EQ(before.Get("/healthz"), 200);

  pki_.Issue("ca", "server2", "IP:127.0.0.1");
  WriteFile(cert, ReadFile(pki_.path("server2.pem")));
  WriteFile(key, ReadFile(pki_.path("server2.key")));
  server_.Signal(SIGHUP);
  ASSERT_TRUE(LogShows(server_, "reloaded the TLS certificate"));
  EXPECT_EQ(before.Get("/healthz"), 200);  // the connection opened before goes on
  TlsClient after(server_.port(), pki_.path("ca.pem"));
  ASSERT_TRUE(after.connected());
  EXPECT_TRUE(after.ServerShowed(pki_.path("server2.pem")));

  WriteFile(cert, "not a certificate\n");
  server_.Signal(SIGHUP);
  ASSERT_TRUE(LogShows(server_, "TLS reload failed, still serving the previous certificate"));
  TlsClient still(server_.port(), pki_.path("ca.pem"));
  ASSERT_TRUE(still.connected());
  EXPECT_TRUE(still.ServerShowed(pki_.path("server2.pem")));
  EXPECT_EQ(still.Get("/healthz"), 200);
  EXPECT_EQ(server_.Stop(), 0);
}

TEST_F(TlsTest, ListenWithoutACertificateExits2) {
  ProcessResult r = RunProcess({"/usr/bin/timeout", "30", ShiplogBinary(), "serve", "--data",
                                server_.data(), "--listen", "127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--tls-cert"));
  EXPECT_THAT(r.err, HasSubstr("--insecure-listen"));
}

TEST_F(TlsTest, InsecureListenSaysItIsUnencrypted) {
  server_.Start();  // --insecure-listen
  EXPECT_THAT(server_.Log(), HasSubstr("plain HTTP, UNENCRYPTED and UNAUTHENTICATED"));
  EXPECT_EQ(server_.Get("/healthz").status, 200);
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
