#include "adapters/http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <fstream>

namespace shiplog::adapters {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

std::string Where(const ServerUrl& server) {
  return (server.tls ? "https://" : "http://") + server.host + ":" + server.port;
}

http::request<http::string_body> BuildRequest(const ServerUrl& server, const HttpCall& call) {
  http::request<http::string_body> req(http::string_to_verb(call.method),
                                       server.prefix + call.target, 11);
  const bool default_port = server.port == (server.tls ? "443" : "80");
  req.set(http::field::host, default_port ? server.host : server.host + ":" + server.port);
  req.set(http::field::user_agent, "shiplog");
  if (!call.content_type.empty()) req.set(http::field::content_type, call.content_type);
  if (!call.accept.empty()) req.set(http::field::accept, call.accept);
  for (const auto& [name, value] : call.headers) req.set(name, value);
  req.keep_alive(false);
  req.body() = call.body;
  req.prepare_payload();
  return req;
}

// Runs one asynchronous operation on `ioc` to its end and returns its error. Every step of a call
// is asynchronous because tcp_stream's expiry (the call's one deadline, set before connecting)
// bounds only asynchronous operations: a blocking read from a peer that accepted and never
// answers would wait forever.
template <typename Start>
beast::error_code Await(net::io_context& ioc, Start start) {
  beast::error_code result = net::error::operation_aborted;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

// Writes the request and reads the reply over a connected (and, for https, handshaken) stream.
template <typename Stream>
Result<HttpReply> Exchange(net::io_context& ioc, Stream& stream, const ServerUrl& server,
                           const HttpCall& call) {
  const std::string where = Where(server);
  auto req = BuildRequest(server, call);
  beast::error_code ec = Await(ioc, [&](auto done) { http::async_write(stream, req, done); });
  if (ec) return Status::Internal("sending to " + where + " failed: " + ec.message());
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(call.max_reply_bytes);
  ec = Await(ioc, [&](auto done) { http::async_read(stream, buffer, parser, done); });
  if (ec) return Status::Internal("no answer from " + where + ": " + ec.message());
  auto& res = parser.get();
  HttpReply reply;
  reply.status = static_cast<int>(res.result_int());
  reply.content_type = std::string(res[http::field::content_type]);
  reply.body = std::move(res.body());
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers[name] = std::string(field.value());
  }
  return reply;
}

// Trusts the system's CAs, or only those in `ca_file`, and refuses a peer whose chain does not
// verify.
Status LoadTrust(ssl::context& context, const std::string& ca_file) {
  beast::error_code ec;
  if (ca_file.empty()) {
    context.set_default_verify_paths(ec);
  } else {
    if (!std::ifstream(ca_file)) return Status::NotFound("cannot read the CA file " + ca_file);
    context.load_verify_file(ca_file, ec);
  }
  if (ec) return Status::Internal("cannot load the CAs to trust: " + ec.message());
  context.set_verify_mode(ssl::verify_peer);
  return Status::Ok();
}

// Shows the server this client's certificate when one is given.
Status LoadClientCertificate(ssl::context& context, const HttpCall& call) {
  if (call.client_cert_file.empty() && call.client_key_file.empty()) return Status::Ok();
  if (call.client_cert_file.empty() || call.client_key_file.empty()) {
    return Status::InvalidArgument("a client certificate needs both its file and its key file");
  }
  for (const std::string* file : {&call.client_cert_file, &call.client_key_file}) {
    if (!std::ifstream(*file)) return Status::NotFound("cannot read " + *file);
  }
  beast::error_code ec;
  context.use_certificate_chain_file(call.client_cert_file, ec);
  if (ec) {
    return Status::InvalidArgument("the client certificate " + call.client_cert_file +
                                   " is not usable PEM: " + ec.message());
  }
  context.use_private_key_file(call.client_key_file, ssl::context::pem, ec);
  if (ec || SSL_CTX_check_private_key(context.native_handle()) != 1) {
    return Status::InvalidArgument("the client key " + call.client_key_file +
                                   " is not usable PEM or does not match " + call.client_cert_file);
  }
  return Status::Ok();
}

// Makes the handshake refuse a certificate that does not name `host` (OpenSSL checks it along
// with the chain), and sends `host` as SNI when it is a name.
Status RequirePeerName(SSL* ssl, const std::string& host) {
  beast::error_code not_ip;
  net::ip::make_address(host, not_ip);
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  const bool named =
      not_ip ? SSL_set1_host(ssl, host.c_str()) == 1 &&
                   SSL_set_tlsext_host_name(ssl, host.c_str()) == 1
             // An address is matched against the certificate's IP entries; no SNI (RFC 6066).
             : X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1;
  if (!named) return Status::Internal("cannot check the certificate against " + host);
  return Status::Ok();
}

Result<HttpReply> CallTls(net::io_context& ioc, const tcp::resolver::results_type& endpoints,
                          const ServerUrl& server, const HttpCall& call) {
  const std::string where = Where(server);
  ssl::context context(ssl::context::tls_client);
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  Status trusted = LoadTrust(context, call.ca_file);
  if (!trusted.ok()) return trusted;
  Status identified = LoadClientCertificate(context, call);
  if (!identified.ok()) return identified;
  beast::ssl_stream<beast::tcp_stream> stream(ioc, context);
  Status named = RequirePeerName(stream.native_handle(), server.host);
  if (!named.ok()) return named;
  beast::get_lowest_layer(stream).expires_after(call.timeout);  // one deadline for it all
  beast::error_code ec = Await(
      ioc, [&](auto done) { beast::get_lowest_layer(stream).async_connect(endpoints, done); });
  if (ec) return Status::Internal("cannot reach " + where + ": " + ec.message());
  ec = Await(ioc, [&](auto done) { stream.async_handshake(ssl::stream_base::client, done); });
  if (ec) {
    const long verdict = SSL_get_verify_result(stream.native_handle());
    const std::string why =
        verdict != X509_V_OK
            ? std::string("the server's certificate is not trusted: ") +
                  X509_verify_cert_error_string(verdict) +
                  (call.ca_file.empty() ? " (checked against the system's CAs; give the CA that "
                                          "issued it as a CA file, --ca FILE)"
                                        : " (checked against the CAs in " + call.ca_file + ")")
            : ec.message();
    return Status::Internal("TLS with " + where + " failed: " + why);
  }
  auto reply = Exchange(ioc, stream, server, call);
  // Say goodbye, but briefly: the reply is whole already, and a peer that just closes (or never
  // answers close_notify) must not hold the call.
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(1));
  Await(ioc, [&](auto done) { stream.async_shutdown(done); });
  return reply;
}

Result<HttpReply> CallPlain(net::io_context& ioc, const tcp::resolver::results_type& endpoints,
                            const ServerUrl& server, const HttpCall& call) {
  beast::tcp_stream stream(ioc);
  stream.expires_after(call.timeout);  // one deadline for it all
  beast::error_code ec = Await(ioc, [&](auto done) { stream.async_connect(endpoints, done); });
  if (ec) {
    return Status::Internal("cannot reach the server at " + Where(server) + ": " + ec.message());
  }
  auto reply = Exchange(ioc, stream, server, call);
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return reply;
}

}  // namespace

Result<ServerUrl> ParseServerUrl(const std::string& url) {
  ServerUrl out;
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
    out.tls = true;
  } else {
    return Status::InvalidArgument("the server URL must start with http:// or https://, not '" +
                                   url + "'");
  }
  const size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    out.prefix = rest.substr(slash);
    rest = rest.substr(0, slash);
    while (!out.prefix.empty() && out.prefix.back() == '/') out.prefix.pop_back();
  }
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos || rest.back() == ']') {
    out.host = rest;
    out.port = out.tls ? "443" : "80";
  } else {
    out.host = rest.substr(0, colon);
    out.port = rest.substr(colon + 1);
  }
  if (out.host.size() > 2 && out.host.front() == '[')
    out.host = out.host.substr(1, out.host.size() - 2);
  if (out.host.empty() || out.port.empty() ||
      out.port.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument("'" + url + "' is not a server URL (http[s]://HOST[:PORT])");
  }
  return out;
}

Result<HttpReply> Call(const ServerUrl& server, const HttpCall& call) {
  try {
    net::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::error_code ec;
    auto endpoints = resolver.resolve(server.host, server.port, ec);
    if (ec) return Status::Internal("cannot resolve " + server.host + ": " + ec.message());
    return server.tls ? CallTls(ioc, endpoints, server, call)
                      : CallPlain(ioc, endpoints, server, call);
  } catch (const std::exception& e) {
    return Status::Internal("talking to " + Where(server) + " failed: " + e.what());
  }
}

}  // namespace shiplog::adapters
