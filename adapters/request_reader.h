// How the server reads one request off a connection, apart from the socket: Beast's parser with
// the server's limits, the answer to a request that cannot be read, and the routes' Request made
// from what was read. Public so the HTTP fuzz target (tests/fuzz/http_fuzz.cc) feeds bytes through
// exactly what a connection runs, without a socket.
#pragma once

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "adapters/http.h"
#include "adapters/server.h"

namespace shiplog::adapters {

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;
using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;

// Sets `parser`'s header and body limits to the server's (max_header_bytes, max_body_bytes).
void LimitRequest(RequestParser& parser, const ServerOptions& options);

// The answer to a request that failed to parse with `error` (not a timeout, not the client
// going away): 413 over the body limit, 431 over the header limit, 400 for anything else.
Response UnreadableRequest(const boost::beast::error_code& error, const ServerOptions& options);

// `read` as the routes see it (http.h): the method, the percent-decoded path and query, the media
// type without parameters in lower case, every header by its lower-case name, and the body
// (moved out of `read`). kInvalidArgument when the target does not decode.
Result<Request> ToRequest(BeastRequest& read);

}  // namespace shiplog::adapters
