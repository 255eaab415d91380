// libFuzzer target: the HTTP request path of `shiplog serve`, without a socket. The bytes are a
// connection's input: read request after request (keep-alive, pipelining) by the server's own
// Beast parser and limits (adapters/request_reader.h), turned into the routes' Request, and
// routed (adapters/routes.h) against the fuzz ledger (fuzz_ledger.h) with a real append pipeline
// and reader pool, as a Session does. Whatever the bytes, every request is answered exactly once,
// never with a 500 (the ledger is healthy: a 500 is a bug), and every JSON answer parses; an
// error answer is {"error": {"code", "message"}}. Streamed answers are read to their end.
// A request that carries no Signature-Input is signed here by the ledger's admin, as a client
// would sign it (the fuzzer cannot forge Ed25519), so the read routes behind the read check are
// fuzzed too; one that carries its own goes through the signature parser and checks as sent.
// Seeds: tests/fuzz/corpus/http (requests from the server tests, and a submission of a signed
// event the ledger holds, answered as a repeat); dictionary http.dict.
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <future>
#include <string>
#include <string_view>

#include "adapters/http_signature.h"
#include "adapters/request_reader.h"
#include "adapters/routes.h"
#include "ledger/event.h"
#include "tests/fuzz/fuzz_ledger.h"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using shiplog::fuzz::FuzzLedger;
using namespace shiplog::adapters;

// The most requests read from one input (the fuzzer finds the interesting ones early).
constexpr int kMaxRequests = 8;
// The most chunks read from one streamed answer.
constexpr int kMaxChunks = 10000;

void Check(bool invariant) {
  if (!invariant) std::abort();
}

// A connection's input, handed out as a socket would: whatever is asked for, then end of stream.
class InputStream {
 public:
  explicit InputStream(std::string_view bytes) : rest_(bytes) {}

  template <typename Buffers>
  size_t read_some(const Buffers& buffers, beast::error_code& ec) {
    if (rest_.empty()) {
      ec = net::error::eof;
      return 0;
    }
    const size_t n = net::buffer_copy(buffers, net::buffer(rest_.data(), rest_.size()));
    rest_.remove_prefix(n);
    ec = {};
    return n;
  }
  template <typename Buffers>
  size_t read_some(const Buffers& buffers) {
    beast::error_code ec;
    const size_t n = read_some(buffers, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }

 private:
  std::string_view rest_;
};

// What a Session has: the server's options and state around the fuzz ledger.
struct Service {
  Service()
      : fixture(FuzzLedger::Get()),
        options(Options(fixture)),
        pipeline(fixture.ledger(), {1, 64, nullptr}, &metrics),
        readers(1, 16),
        state{fixture.ledger(), &fixture.gate(), pipeline, metrics, readers, options} {
    state.ready = true;
  }
  static ServerOptions Options(FuzzLedger& fixture) {
    ServerOptions o;
    o.data_dir = fixture.data_dir();
    o.ledger_key = std::make_shared<const shiplog::SigningKey>(FuzzLedger::LedgerKey());
    // Nonces are remembered for the skew window: a short one keeps the harness's own signed
    // requests (hundreds a second) under the per-key bound.
    o.read_clock_skew = std::chrono::seconds(2);
    return o;
  }

  FuzzLedger& fixture;
  Metrics metrics;
  ServerOptions options;
  AppendPipeline pipeline;
  ReaderPool readers;
  ServerState state;
};

Service& TheService() {
  static Service* service = new Service();  // never destroyed: its threads run until exit
  return *service;
}

void CheckAnswer(Response& response) {
  Check(response.status >= 200 && response.status < 600 && response.status != 500);
  if (response.stream) {
    std::string chunk;
    int chunks = 0;
    while (response.stream(chunk) && ++chunks < kMaxChunks) chunk.clear();
    return;
  }
  if (response.content_type != kJson) return;
  auto body = shiplog::ParseJsonText(response.body, response.body.size());
  Check(body.ok());
  if (response.status < 400) return;
  const nlohmann::json* error = body->contains("error") ? &(*body)["error"] : nullptr;
  // A denial (403) answers with the decision instead.
  if (!error) Check(response.status == 403 && body->contains("reasons"));
  if (error) Check(error->contains("code") && error->contains("message"));
}

// Signs `request` as the ledger's admin when it carries no signature of its own.
void SignUnlessSigned(Request& request) {
  if (request.headers.count("signature-input") != 0 || request.headers.count("signature") != 0) {
    return;
  }
  static const shiplog::SigningKey* admin = new shiplog::SigningKey(FuzzLedger::KeyOf("admin"));
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const std::string date = HttpDate(now);
  for (auto& [name, value] :
       SignRequest({request.method, request.target, date}, *admin, now, shiplog::RandomId())) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    request.headers[lower] = value;
  }
  request.headers["date"] = date;
}

// Routes `request` and waits for its one answer.
void Answer(Service& service, const Request& request) {
  auto promise = std::make_shared<std::promise<Response>>();
  auto answers = std::make_shared<std::atomic<int>>(0);
  Respond respond = [promise, answers](Response response) {
    Check(answers->fetch_add(1) == 0);  // exactly once
    promise->set_value(std::move(response));
  };
  std::future<Response> answer = promise->get_future();
  AnswerGuarded(respond, "fuzzed route", [&] { Route(service.state, request, respond); });
  Response response = answer.get();
  CheckAnswer(response);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  TheService();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Service& service = TheService();
  InputStream input(std::string_view(reinterpret_cast<const char*>(data), size));
  beast::flat_buffer buffer;
  for (int i = 0; i < kMaxRequests; ++i) {
    RequestParser parser;
    LimitRequest(parser, service.options);
    beast::error_code ec;
    http::read(input, buffer, parser, ec);
    if (ec == http::error::end_of_stream) return 0;  // the client closed between requests
    if (ec) {
      Response unreadable = UnreadableRequest(ec, service.options);
      CheckAnswer(unreadable);
      return 0;
    }
    BeastRequest read = parser.release();
    const bool keep_alive = read.keep_alive();
    auto request = ToRequest(read);
    if (!request.ok()) {
      Response refused = ErrorResponse(request.status());
      CheckAnswer(refused);
    } else {
      SignUnlessSigned(*request);
      Answer(service, *request);
    }
    if (!keep_alive) return 0;
  }
  return 0;
}
