#include "tools/shiplog/read_client.h"

#include <chrono>
#include <iostream>

#include "adapters/http_signature.h"
#include "ledger/event.h"
#include "ledger/key_file.h"
#include "tools/shiplog/cli.h"

namespace shiplog::cli {

Result<ServerAnswer> SignedGet(const ServerEndpoint& server, const std::string& target,
                               const SigningKey* key) {
  adapters::HttpCall call = server.base;
  call.target = target;
  if (key != nullptr) {
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    const std::string date = adapters::HttpDate(now);
    // The signature covers the target as it goes on the wire, prefix included.
    adapters::RequestParts parts{"GET", server.url.prefix + target, date};
    call.headers = adapters::SignRequest(parts, *key, now, RandomId());
    call.headers.emplace_back("Date", date);
  }
  SHIPLOG_ASSIGN_OR_RETURN(adapters::HttpReply reply, adapters::Call(server.url, call));
  ServerAnswer answer;
  answer.status = reply.status;
  if (reply.content_type.rfind("application/json", 0) == 0) {
    auto parsed = ParseJsonText(reply.body, reply.body.size());
    if (parsed.ok()) answer.body = std::move(parsed).value();
  }
  answer.text = std::move(reply.body);
  return answer;
}

Status ReadAnswerStatus(const ServerEndpoint& server, const ServerAnswer& answer) {
  if (answer.status == 200) return Status::Ok();
  const std::string message = "the server at " + server.url.host + ":" + server.url.port + " answered " +
                              std::to_string(answer.status) + ": " +
                              answer.ErrorMessage().value_or(answer.text.substr(0, 500));
  switch (answer.status) {
    case 400:
      return Status::InvalidArgument(message);
    case 401:
      return Status::UnknownKey(message);
    case 403:
      return Status::Forbidden(message);
    case 404:
      return Status::NotFound(message);
    default:
      return Status::Internal(message);
  }
}

Result<ReadTarget> OpenReadTarget(const ServerTarget& server, const std::string& key_file) {
  ReadTarget target;
  SHIPLOG_ASSIGN_OR_RETURN(target.server, ResolveServer(server));
  if (!key_file.empty()) {
    auto key = ReadKeyFile(key_file);
    if (!key.ok()) return key.status().Prefixed("--key " + key_file);
    target.key.emplace(std::move(key).value());
  }
  return target;
}

void AddReadSourceOptions(CLI::App* command, ReadSource& source, bool key_required) {
  // Which of the two is given is checked when the command runs (CheckReadSource).
  auto* data = command->add_option("--data", source.dir, "The ledger's directory (read directly)");
  auto* server = AddServerOptions(command, &source.server, "--server",
                                  "Read from this server instead (shiplog serve), e.g. "
                                  "https://shiplog.internal:7478");
  auto* key =
      command->add_option("--key", source.key,
                          key_required ? "With --server: the key file that signs the read (an "
                                         "enrolled key whose roles may read this)"
                                       : "With --server: sign the read with this key file (needed "
                                         "only when the server does not publish this route)");
  data->excludes(server);
  key->needs(server);
}

Status CheckReadSource(const ReadSource& source, bool key_required) {
  if (source.dir.empty() && source.server.url.empty()) {
    return Status::InvalidArgument("say where to read: --data DIR or --server URL --key FILE");
  }
  if (key_required && !source.server.url.empty() && source.key.empty()) {
    return Status::InvalidArgument("--server needs --key FILE: reads from a server are signed");
  }
  return Status::Ok();
}

namespace {

Result<ServerAnswer> ReadFromServer(const ReadSource& source, const std::string& target) {
  SHIPLOG_ASSIGN_OR_RETURN(ReadTarget opened, OpenReadTarget(source.server, source.key));
  SHIPLOG_ASSIGN_OR_RETURN(ServerAnswer answer,
                           SignedGet(opened.server, target, opened.key ? &*opened.key : nullptr));
  SHIPLOG_RETURN_IF_ERROR(ReadAnswerStatus(opened.server, answer));
  return answer;
}

}  // namespace

Result<nlohmann::json> ReadServerJson(const ReadSource& source, const std::string& target) {
  SHIPLOG_ASSIGN_OR_RETURN(ServerAnswer answer, ReadFromServer(source, target));
  if (answer.body.is_null()) {
    return Status::Internal("the server at " + source.server.url + " answered " + target +
                            " with something that is not JSON");
  }
  return std::move(answer.body);
}

int RunServerRead(const ReadSource& source, const std::string& target) {
  auto answer = ReadFromServer(source, target);
  if (!answer.ok()) return Fail(answer.status());
  std::cout << answer->text;
  if (!answer->text.empty() && answer->text.back() != '\n') std::cout << "\n";
  return kExitOk;
}

}  // namespace shiplog::cli
