#include "tools/shiplog/server_client.h"

#include "adapters/http.h"
#include "ledger/crypto.h"
#include "ledger/event.h"
#include "tools/shiplog/read_client.h"

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

CLI::Option* AddServerOptions(CLI::App* command, ServerTarget* target,
                              const std::string& url_option, const std::string& url_help,
                              bool required) {
  CLI::Option* url = command->add_option(url_option, target->url, url_help)->required(required);
  command->add_option("--ca", target->ca,
                      "For an https:// URL: PEM file of the CA (or the self-signed certificate) "
                      "to trust instead of the system's CAs");
  command->add_option("--client-cert", target->client_cert,
                      "For a server that requires client certificates (mTLS): this client's "
                      "certificate, PEM (with --client-key)");
  command->add_option("--client-key", target->client_key, "The private key of --client-cert, PEM");
  return url;
}

Result<ServerEndpoint> ResolveServer(const ServerTarget& target, const std::string& url_option) {
  auto url = adapters::ParseServerUrl(target.url);
  if (!url.ok()) return url.status().Prefixed(url_option);
  const bool tls_files =
      !target.ca.empty() || !target.client_cert.empty() || !target.client_key.empty();
  if (tls_files && !url->tls) {
    return Status::InvalidArgument("--ca, --client-cert and --client-key are for an https:// " +
                                   url_option + ", not " + target.url);
  }
  if (target.client_cert.empty() != target.client_key.empty()) {
    return Status::InvalidArgument("--client-cert and --client-key go together: give both");
  }
  ServerEndpoint server{std::move(url).value(), {}};
  server.base.ca_file = target.ca;
  server.base.client_cert_file = target.client_cert;
  server.base.client_key_file = target.client_key;
  return server;
}

Result<ServerAnswer> PostToServer(const ServerEndpoint& server, const std::string& target,
                                  const std::string& content_type, std::string body,
                                  std::chrono::milliseconds timeout) {
  adapters::HttpCall call = server.base;
  call.method = "POST";
  call.target = target;
  call.content_type = content_type;
  call.body = std::move(body);
  call.timeout = timeout;
  SHIPLOG_ASSIGN_OR_RETURN(adapters::HttpReply reply, adapters::Call(server.url, call));
  ServerAnswer answer;
  answer.status = reply.status;
  // The server's reply is outside text too; unparseable or too deep reads as no JSON at all.
  auto parsed = ParseJsonText(reply.body, reply.body.size());
  if (parsed.ok()) answer.body = std::move(parsed).value();
  answer.text = std::move(reply.body);
  return answer;
}

Result<ServerAnswer> PostSignedEvent(const ServerEndpoint& server, const nlohmann::json& envelope,
                                     std::chrono::milliseconds timeout) {
  return PostToServer(server, "/v1/events", adapters::kJson, envelope.dump(), timeout);
}

Result<std::string> EnrolledNameAt(const ServerEndpoint& server, const SigningKey& key) {
  // /v1/whoami answers any live enrolled key, whatever its roles may read: a step owner that
  // reads nothing else still learns its own name.
  SHIPLOG_ASSIGN_OR_RETURN(ServerAnswer answer, SignedGet(server, "/v1/whoami", &key));
  const std::string hex = HexEncode(key.PublicKey());
  if (answer.status == 401) {
    return Status::UnknownKey("key " + hex + " is not enrolled (or is revoked) at the server " +
                              server.url.host + ":" + server.url.port + ": " +
                              answer.ErrorMessage().value_or(""));
  }
  if (answer.status != 200 || !answer.body.is_object() || !answer.body.contains("name") ||
      !answer.body["name"].is_string()) {
    return Status::Internal("the server at " + server.url.host + ":" + server.url.port +
                            " did not say whose key " + hex + " is (HTTP " +
                            std::to_string(answer.status) + ")");
  }
  return answer.body["name"].get<std::string>();
}

}  // namespace shiplog::cli
