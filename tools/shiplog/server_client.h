// How the `shiplog` command talks to `shiplog serve` as an agent: `submit` and `exec` send
// signed events through here, so both read the server's answers the same way.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "adapters/http_client.h"
#include "ledger/crypto.h"
#include "ledger/status.h"

namespace shiplog::cli {

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
Result<ServerAnswer> PostToServer(const adapters::ServerUrl& server, const std::string& target,
                                  const std::string& content_type, std::string body,
                                  std::chrono::milliseconds timeout);

// POSTs a signed event's envelope (SignedEvent::ToJson()) to /v1/events. An unreachable server
// or a broken exchange is kInternal naming the server; any HTTP answer is a value.
Result<ServerAnswer> PostSignedEvent(const adapters::ServerUrl& server,
                                     const nlohmann::json& envelope,
                                     std::chrono::milliseconds timeout);

// The name `key` is enrolled under at `server`, from a GET /v1/whoami signed with it (RFC 9421).
// kUnknownKey when it is not enrolled or is revoked.
Result<std::string> EnrolledNameAt(const adapters::ServerUrl& server, const SigningKey& key);

}  // namespace shiplog::cli
