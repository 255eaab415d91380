// How the `shiplog` command reads from `shiplog serve`: every read is a GET signed with the
// user's key (RFC 9421, adapters/http_signature.h), so the server knows who reads and what their
// roles allow (the policy's reads: section). Public routes (checkpoints, proofs) take no key.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "adapters/http_client.h"
#include "ledger/crypto.h"
#include "ledger/status.h"
#include "tools/shiplog/server_client.h"

namespace shiplog::cli {

// GETs `target` (path and query, percent-encoded) from `server`, signed by `key` when given, with
// a fresh nonce and the current time. An unreachable server is kInternal naming it; any HTTP
// answer is a value. The whole answer is read (a query's JSON lines included, up to the
// client's reply limit).
Result<ServerAnswer> SignedGet(const ServerEndpoint& server, const std::string& target,
                               const SigningKey* key);

// The answer of a read as the CLI's result: OK for 200, else the status the HTTP code stands
// for (401 kUnknownKey or kBadSignature, 403 kForbidden, 400 kInvalidArgument, 404 kNotFound),
// with the server's message.
Status ReadAnswerStatus(const ServerEndpoint& server, const ServerAnswer& answer);

// The `--server URL --key FILE` pair of a read command (with the server's TLS options), read into
// what SignedGet takes; `key_file` may be empty for a public route.
struct ReadTarget {
  ServerEndpoint server;
  std::optional<SigningKey> key;
};
Result<ReadTarget> OpenReadTarget(const ServerTarget& server, const std::string& key_file);

// Where a read command reads: --data DIR (the ledger, directly) or --server URL with --key FILE
// (signed reads); exactly one of --data and --server. `key_required`: false for public routes.
struct ReadSource {
  std::string dir;
  ServerTarget server;  // with --ca, --client-cert, --client-key for https
  std::string key;
};
void AddReadSourceOptions(CLI::App* command, ReadSource& source, bool key_required = true);
// kInvalidArgument unless exactly one source was given (and --key with --server when required).
Status CheckReadSource(const ReadSource& source, bool key_required = true);

// The JSON answer of a read from --server: `target` GET signed with --key (unsigned without one,
// for a public route). Any answer but a 200 holding JSON is the status ReadAnswerStatus gives.
Result<nlohmann::json> ReadServerJson(const ReadSource& source, const std::string& target);

// Runs a read against --server: GETs `target` signed with --key and prints the answer as the
// server sent it (the same JSON the --data form prints). The exit code, as the CLI gives it.
int RunServerRead(const ReadSource& source, const std::string& target);

}  // namespace shiplog::cli
