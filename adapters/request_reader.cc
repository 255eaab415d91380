#include "adapters/request_reader.h"

#include <boost/beast/http/error.hpp>
#include <cctype>
#include <string>

namespace shiplog::adapters {
namespace {

namespace http = boost::beast::http;

// "text/plain; charset=utf-8" -> "text/plain".
std::string MediaType(std::string_view content_type) {
  std::string type = AsciiLower(content_type.substr(0, content_type.find(';')));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  return type;
}

}  // namespace

void LimitRequest(RequestParser& parser, const ServerOptions& options) {
  parser.header_limit(static_cast<uint32_t>(options.max_header_bytes));
  parser.body_limit(options.max_body_bytes);
}

Response UnreadableRequest(const boost::beast::error_code& error, const ServerOptions& options) {
  if (error == http::error::body_limit) {
    return ErrorResponse(
        413, "too_large",
        "the body is over the limit of " + std::to_string(options.max_body_bytes) + " bytes");
  }
  if (error == http::error::header_limit) {
    return ErrorResponse(
        431, "headers_too_large",
        "the headers are over the limit of " + std::to_string(options.max_header_bytes) + " bytes");
  }
  return ErrorResponse(400, "bad_request", "malformed HTTP request: " + error.message());
}

Result<Request> ToRequest(BeastRequest& read) {
  Request request;
  request.method = std::string(read.method_string());
  request.content_type = MediaType(std::string(read[http::field::content_type]));
  request.accept = std::string(read[http::field::accept]);
  for (const auto& field : read) {
    request.headers[AsciiLower({field.name_string().data(), field.name_string().size()})] =
        std::string(field.value().data(), field.value().size());
  }
  request.body = std::move(read.body());
  SHIPLOG_RETURN_IF_ERROR(
      ParseTarget(std::string_view(read.target().data(), read.target().size()), request));
  return request;
}

}  // namespace shiplog::adapters
