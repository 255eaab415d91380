// A small blocking HTTP/1.1 client for `shiplog submit` and the server's tests: one request per
// call on a fresh connection, with a deadline.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "ledger/status.h"

namespace shiplog::adapters {

// "http://127.0.0.1:7478" (a path after it is a prefix for every target).
struct ServerUrl {
  std::string host;
  std::string port;
  std::string prefix;  // "" or "/something"
};
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
  std::chrono::milliseconds timeout{30000};
};

// kInternal naming the server when it cannot be reached or the exchange fails.
Result<HttpReply> Call(const ServerUrl& server, const HttpCall& call);

}  // namespace shiplog::adapters
