#include "adapters/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>

namespace shiplog::adapters {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

Result<ServerUrl> ParseServerUrl(const std::string& url) {
  const std::string scheme = "http://";
  if (url.compare(0, scheme.size(), scheme) != 0) {
    return Status::InvalidArgument("the server URL must start with http://, not '" + url + "'");
  }
  std::string rest = url.substr(scheme.size());
  ServerUrl out;
  const size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    out.prefix = rest.substr(slash);
    rest = rest.substr(0, slash);
    while (!out.prefix.empty() && out.prefix.back() == '/') out.prefix.pop_back();
  }
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos || rest.back() == ']') {
    out.host = rest;
    out.port = "80";
  } else {
    out.host = rest.substr(0, colon);
    out.port = rest.substr(colon + 1);
  }
  if (out.host.size() > 2 && out.host.front() == '[') out.host = out.host.substr(1, out.host.size() - 2);
  if (out.host.empty() || out.port.empty() ||
      out.port.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument("'" + url + "' is not a server URL (http://HOST:PORT)");
  }
  return out;
}

Result<HttpReply> Call(const ServerUrl& server, const HttpCall& call) {
  const std::string where = "http://" + server.host + ":" + server.port;
  try {
    net::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.expires_after(call.timeout);
    beast::error_code ec;
    auto endpoints = resolver.resolve(server.host, server.port, ec);
    if (ec) return Status::Internal("cannot resolve " + server.host + ": " + ec.message());
    stream.connect(endpoints, ec);
    if (ec) return Status::Internal("cannot reach the server at " + where + ": " + ec.message());
    http::request<http::string_body> req(http::string_to_verb(call.method),
                                         server.prefix + call.target, 11);
    req.set(http::field::host, server.host);
    req.set(http::field::user_agent, "shiplog");
    if (!call.content_type.empty()) req.set(http::field::content_type, call.content_type);
    if (!call.accept.empty()) req.set(http::field::accept, call.accept);
    req.keep_alive(false);
    req.body() = call.body;
    req.prepare_payload();
    http::write(stream, req, ec);
    if (ec) return Status::Internal("sending to " + where + " failed: " + ec.message());
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    http::read(stream, buffer, parser, ec);
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
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    return reply;
  } catch (const std::exception& e) {
    return Status::Internal("talking to " + where + " failed: " + e.what());
  }
}

}  // namespace shiplog::adapters
