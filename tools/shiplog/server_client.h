// How the `shiplog` command talks to `shiplog serve` as an agent: `submit` and `exec` send
// signed events through here, so both read the server's answers the same way. Every command that
// takes a server's URL takes its TLS options with it (AddServerOptions), so https with a private
// CA and client certificates work the same everywhere.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/http_client.h"
#include "ledger/crypto.h"
#include "ledger/crypto.h"
#include "ledger/status.h"

namespace shiplog::cli {

// A server to call as named on the command line: its URL and the TLS files to use with it.
struct ServerTarget {
  std::string url;          // http://HOST:PORT or https://HOST:PORT
  std::string ca;           // --ca: PEM of the CA (or self-signed certificate) to trust
  std::string client_cert;  // --client-cert and --client-key: for a server requiring mTLS
  std::string client_key;
};

// Adds `url_option` (--server, --witness) with --ca, --client-cert and --client-key to `command`;
// the URL option is required when `required`.
// Returns the URL option, for callers that relate it to their own options.
CLI::Option* AddServerOptions(CLI::App* command, ServerTarget* target,
                      const std::string& url_option = "--server",
                      const std::string& url_help =
                          "The server's URL, e.g. "
                          "https://shiplog.internal:7478",
                      bool required = false);

// A server ready to call: where it is and the call every request to it starts from (the TLS
// files set; method, target and body are the caller's).
struct ServerEndpoint {
  adapters::ServerUrl url;
  adapters::HttpCall base;
};

// kInvalidArgument naming `url_option` for a URL that is not http(s)://, TLS files given with an
// http:// URL, or a client certificate without its key (or the other way round).
Result<ServerEndpoint> ResolveServer(const ServerTarget& target,
                                     const std::string& url_option = "--server");

// The server's answer to a submitted event. 200: `body` is the receipt; 403: the decision of a
// denied intent (with its denial_receipt); otherwise a refusal, usually {"error":{...}}.
struct ServerAnswer {
  int status = 0;       // the HTTP status
  std::string text;     // the body as received
  nlohmann::json body;  // `text` parsed; null when it is not JSON (outside text: never trusted)

  // A refusal's {"error":{"message"}} (the whole text when the message is not a string);
  // nullopt when the body holds no "error" object.
  std::optional<std::string> ErrorMessage() const;
};

// POSTs `body` (of `content_type`) to `target`. An unreachable server or a broken exchange is
// kInternal naming the server; any HTTP answer is a value.
Result<ServerAnswer> PostToServer(const ServerEndpoint& server, const std::string& target,
                                  const std::string& content_type, std::string body,
                                  std::chrono::milliseconds timeout);

// POSTs a signed event's envelope (SignedEvent::ToJson()) to /v1/events. An unreachable server
// or a broken exchange is kInternal naming the server; any HTTP answer is a value.
Result<ServerAnswer> PostSignedEvent(const ServerEndpoint& server, const nlohmann::json& envelope,
                                     std::chrono::milliseconds timeout);

// The name `key` is enrolled under at `server`, from a GET /v1/whoami signed with it (RFC 9421).
// kUnknownKey when it is not enrolled or is revoked.
Result<std::string> EnrolledNameAt(const ServerEndpoint& server, const SigningKey& key);

}  // namespace shiplog::cli
