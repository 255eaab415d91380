// The server's view of HTTP, free of Beast's types: a request as the routes read it, and the
// answer they give (a whole body, or one produced piece by piece and sent chunked).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/status.h"

namespace shiplog::adapters {

inline constexpr char kJson[] = "application/json";
inline constexpr char kJsonLines[] = "application/x-ndjson";
inline constexpr char kCapnp[] = "application/x-capnp";
// A DSSE envelope's JSON (what in-toto tooling labels it); taken as well as application/json.
inline constexpr char kDsseEnvelope[] = "application/vnd.dsse.envelope.v1+json";

struct Reader;  // adapters/read_access.h

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query string, percent-decoded
  std::map<std::string, std::string> query;  // decoded; a repeated name keeps its last value
  std::string content_type;  // without parameters, lower case
  std::string accept;
  std::string body;
  // Every header, names lower case; a repeated header keeps its last value. Integrations read
  // their own (X-Hub-Signature-256, X-GitHub-Delivery).
  std::map<std::string, std::string> headers;
  // The request target as sent (path and query, still percent-encoded): what a signed read's
  // "@path" and "@query" cover.
  std::string target;
  // Who signed this read (adapters/read_access.h); null for a route that needs no signature.
  std::shared_ptr<const Reader> reader;
  // The client's IP address (the connection's peer), for the per-address rate limit.
  std::string remote_address;

  bool WantsCapnp() const;
  // The header `lower_case_name`, if sent.
  std::optional<std::string> Header(std::string_view lower_case_name) const;
  // The query parameter `name`, if given.
  std::optional<std::string> Param(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::string content_type = kJson;
  std::string body;
  // When set, the body is sent chunked: each call fills `chunk` and returns true while there is
  // more (an empty chunk with true is allowed), false when done.
  // A producer may throw: the server then ends the stream with one {"error": ...} line.
  std::function<bool(std::string& chunk)> stream;
  // When set instead of `stream`, the body is sent chunked as it becomes ready: for each chunk
  // `next` is called with a callback to call exactly once, from any thread, with a chunk (never
  // empty while more follows) and whether more follows. A live feed waits for appends so
  // without holding a thread (adapters/event_feed.h).
  std::function<void(std::function<void(std::string chunk, bool more)> done)> next;
  // Headers beyond Content-Type (e.g. Retry-After on a 503).
  std::vector<std::pair<std::string, std::string>> headers;
  // What the request log adds after the status: the sequence number, or the denial's rules.
  std::string log_note;
};

// `value` as the server sends JSON, one line. Every string the server echoes may be attacker
// text (a percent-decoded path, an event field): bytes that are not UTF-8 are replaced with
// U+FFFD instead of throwing, so no answer can fail to serialize.
std::string DumpJson(const nlohmann::json& value);

// A JSON answer.
Response JsonResponse(int status, const nlohmann::json& body);
// The last-resort answer when a route or producer threw: 500 {"error": {"code": "internal"}}.
// Says nothing of the exception (it goes to the server's log).
Response InternalErrorResponse();
// An error answer: {"error": {"code": "...", "message": "..."}} with the HTTP status its code
// maps to (HttpStatusFor).
Response ErrorResponse(const Status& status);
Response ErrorResponse(int http_status, const std::string& code, const std::string& message);
int HttpStatusFor(const Status& status);

// Splits "a/b?x=1&y=%20" into the decoded path and parameters; kInvalidArgument for a bad escape.
Status ParseTarget(std::string_view target, Request& request);
// `text` with ASCII letters lowercased: header names and media types compare without case.
std::string AsciiLower(std::string_view text);
// `text` as a query parameter's value: every byte but RFC 3986's unreserved ones %-escaped.
std::string PercentEncode(std::string_view text);

}  // namespace shiplog::adapters
