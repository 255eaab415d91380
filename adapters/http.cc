#include "adapters/http.h"

#include <algorithm>
#include <cctype>

namespace shiplog::adapters {
namespace {

Result<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c != '%') {
      out.push_back(c);
    } else {
      if (i + 2 >= text.size()) {
        return Status::InvalidArgument("a '%' escape in the URL is cut short");
      }
      auto hex = [](char h) -> int {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'a' && h <= 'f') return h - 'a' + 10;
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;
      };
      const int hi = hex(text[i + 1]), lo = hex(text[i + 2]);
      if (hi < 0 || lo < 0) return Status::InvalidArgument("a '%' escape in the URL is not hex");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    }
  }
  return out;
}

}  // namespace

bool Request::WantsCapnp() const { return AsciiLower(accept).find(kCapnp) != std::string::npos; }

std::optional<std::string> Request::Param(const std::string& name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Request::Header(std::string_view lower_case_name) const {
  auto it = headers.find(std::string(lower_case_name));
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

std::string DumpJson(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Response JsonResponse(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.body = DumpJson(body);
  return r;
}

Response InternalErrorResponse() {
  return ErrorResponse(
      500, "internal",
      "an internal error stopped this request; the server logged it and serves on");
}

int HttpStatusFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kBadSignature:
    case StatusCode::kUnknownKey: return 401;
    case StatusCode::kForbidden:
    case StatusCode::kDenied: return 403;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kConflict: return 409;
    case StatusCode::kCorrupt:
    case StatusCode::kInternal: return 500;
    case StatusCode::kFailedPrecondition: return 503;
    case StatusCode::kNoSpace: return 507;  // RFC 4918's Insufficient Storage
    case StatusCode::kUnavailable: return 503;
  }
  return 500;
}

Response ErrorResponse(int http_status, const std::string& code, const std::string& message) {
  return JsonResponse(http_status, {{"error", {{"code", code}, {"message", message}}}});
}

Response ErrorResponse(const Status& status) {
  return ErrorResponse(HttpStatusFor(status), StatusCodeName(status.code()), status.message());
}

Status ParseTarget(std::string_view target, Request& request) {
  request.target = std::string(target);
  const size_t question = target.find('?');
  SHIPLOG_ASSIGN_OR_RETURN(request.path, PercentDecode(target.substr(0, question), false));
  request.query.clear();
  if (question == std::string_view::npos) return Status::Ok();
  std::string_view rest = target.substr(question + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    SHIPLOG_ASSIGN_OR_RETURN(std::string name, PercentDecode(pair.substr(0, eq), true));
    std::string value;
    if (eq != std::string_view::npos) {
      SHIPLOG_ASSIGN_OR_RETURN(value, PercentDecode(pair.substr(eq + 1), true));
    }
    request.query[name] = std::move(value);
  }
  return Status::Ok();
}

std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kDigits[c >> 4], kDigits[c & 0xf]};
    }
  }
  return out;
}

}  // namespace shiplog::adapters
