#include "tools/shiplog/server_client.h"

#include "adapters/http.h"
#include "ledger/crypto.h"
#include "ledger/event.h"

namespace shiplog::cli {

std::optional<std::string> ServerAnswer::ErrorMessage() const {
  if (!body.is_object() || !body.contains("error")) return std::nullopt;
  const nlohmann::json& error = body["error"];
  // value() would throw on an answer whose "message" is not a string.
  if (error.is_object() && error.contains("message") && error["message"].is_string()) {
    return error["message"].get<std::string>();
  }
  return text;
}

Result<ServerAnswer> PostSignedEvent(const adapters::ServerUrl& server,
                                     const nlohmann::json& envelope,
                                     std::chrono::milliseconds timeout) {
  adapters::HttpCall call;
  call.method = "POST";
  call.target = "/v1/events";
  call.content_type = adapters::kJson;
  call.body = envelope.dump();
  call.timeout = timeout;
  SHIPLOG_ASSIGN_OR_RETURN(adapters::HttpReply reply, adapters::Call(server, call));
  ServerAnswer answer;
  answer.status = reply.status;
  // The server's reply is outside text too; unparseable or too deep reads as no JSON at all.
  auto parsed = ParseJsonText(reply.body, reply.body.size());
  if (parsed.ok()) answer.body = std::move(parsed).value();
  answer.text = std::move(reply.body);
  return answer;
}

Result<std::string> EnrolledNameAt(const adapters::ServerUrl& server, std::string_view public_key) {
  adapters::HttpCall call;
  call.target = "/v1/query?kind=key.enrolled";
  SHIPLOG_ASSIGN_OR_RETURN(adapters::HttpReply reply, adapters::Call(server, call));
  if (reply.status != 200) {
    return Status::Internal("the server at " + server.host + ":" + server.port +
                            " did not list its enrolled keys (HTTP " +
                            std::to_string(reply.status) + ")");
  }
  const std::string hex = HexEncode(public_key);
  std::optional<std::string> name;
  size_t start = 0;
  while (start < reply.body.size()) {  // JSON lines: one record each
    size_t end = reply.body.find('\n', start);
    if (end == std::string::npos) end = reply.body.size();
    auto record =
        ParseJsonText(std::string_view(reply.body).substr(start, end - start), reply.body.size());
    start = end + 1;
    if (!record.ok() || !record->is_object()) continue;
    const nlohmann::json event = record->value("event", nlohmann::json());
    if (event.is_object() && event.value("public_key", nlohmann::json()) == hex &&
        event.contains("name") && event["name"].is_string()) {
      name = event["name"].get<std::string>();
    }
  }
  if (!name) {
    return Status::UnknownKey("key " + hex + " is not enrolled at the server " + server.host + ":" +
                              server.port);
  }
  return *name;
}

}  // namespace shiplog::cli
