// A small blocking HTTP/1.1 client for `shiplog submit`, the server's calls to outside services
// (GitHub's API) and the tests: one request per call on a fresh connection, with a deadline.
// Plain http, or https with the peer's certificate checked against the system's CAs (or a CA
// file given) and its name matched to the host (SNI sent for names), TLS 1.2 or 1.3, and a client
// certificate shown when one is given (for a server that requires them, mTLS).
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ledger/status.h"

namespace shiplog::adapters {

// "http://127.0.0.1:7478" or "https://api.github.com" (a path after it is a prefix for every
// target).
struct ServerUrl {
  std::string host;
  std::string port;
  std::string prefix;  // "" or "/something"
  bool tls = false;    // https
};
// Takes http:// (port 80 by default) and https:// (443).
Result<ServerUrl> ParseServerUrl(const std::string& url);

struct HttpReply {
  int status = 0;
  std::string content_type;
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
};

struct HttpCall {
  std::string method = "GET";
  std::string target = "/";
  std::string body;
  std::string content_type;
  std::string accept;
  // Further request headers (Authorization, ...), sent as given.
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{30000};  // for the whole call: connect, TLS, send, answer
  // For https: a PEM file of the CAs to trust instead of the system's ("" = the system's).
  std::string ca_file;
  // For https to a server that asks for client certificates: PEM files of this client's
  // certificate (with any intermediates) and its key; both or neither.
  std::string client_cert_file;
  std::string client_key_file;
  // The largest reply body taken.
  size_t max_reply_bytes = 64 * 1024 * 1024;
};

// kInternal naming the server when it cannot be reached, its certificate does not check out, or
// the exchange fails; kNotFound when `call.ca_file` or a client certificate file cannot be read,
// kInvalidArgument when one is not usable PEM (or the key does not match the certificate).
Result<HttpReply> Call(const ServerUrl& server, const HttpCall& call);

}  // namespace shiplog::adapters
