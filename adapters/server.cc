#include "adapters/server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "adapters/routes.h"

namespace shiplog::adapters {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "text/plain; charset=utf-8" -> "text/plain".
std::string MediaType(std::string_view content_type) {
  std::string type = Lower(content_type.substr(0, content_type.find(';')));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  return type;
}

}  // namespace

class Server::Impl {
 public:
  Impl(Ledger& ledger, policy::PolicyGate* gate, ServerOptions options, Metrics& metrics)
      : options_(std::move(options)),
        pipeline_(ledger, {options_.verify_threads, options_.max_batch}, &metrics),
        state_{ledger, gate, pipeline_, metrics, options_},
        acceptor_(net::make_strand(ioc_)) {}

  Status Listen();
  uint16_t port() const { return port_; }
  void Run();
  void Stop();
  void SetReady() { state_.ready = true; }

 private:
  friend class Session;
  class Session;
  void Accept();
  void Register(Session* session, std::weak_ptr<Session> weak);
  void Unregister(Session* session);

  ServerOptions options_;
  AppendPipeline pipeline_;
  ServerState state_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread stopper_;
  std::mutex sessions_mu_;
  std::map<Session*, std::weak_ptr<Session>> sessions_;  // GUARDED_BY(sessions_mu_)
};

// One client connection: reads requests one after another (keep-alive), routes each and writes
// its answer; at most one request in flight.
class Server::Impl::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Impl& server) : stream_(std::move(socket)), server_(server) {
    server_.state_.metrics.ConnectionOpened();
  }
  ~Session() {
    server_.state_.metrics.ConnectionClosed();
    server_.Unregister(this);
  }

  void Start() {
    server_.Register(this, weak_from_this());
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadRequest(); });
  }

  // On stop: an idle connection is closed now, a busy one after its answer. A request partly
  // arrived counts as busy: closing under it would leave its client with no answer at all; it is
  // read to its end (within the request timeout) and answered, then the connection closes.
  void CloseIfIdle() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      const bool request_begun = self->parser_ && self->parser_->got_some();
      // An idle connection's only pending operation is the wait for a request: closing the
      // socket ends it (there is nothing unread to drain).
      if (!self->busy_ && !request_begun) self->CloseNow();
    });
  }

 private:
  // A connection waits for its next request's first bytes up to idle_timeout; from there the
  // whole request must arrive within request_timeout.
  void ReadRequest() {
    if (server_.state_.stopping) return Close();
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_.options_.max_header_bytes));
    parser_->body_limit(server_.options_.max_body_bytes);
    if (buffer_.size() > 0) return ReadRest();  // pipelined: the next request is here already
    stream_.expires_after(server_.options_.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec,
                                                                              size_t n) {
      if (ec) return self->Close();  // idle too long, or the client went away
      self->buffer_.commit(n);
      self->ReadRest();
    });
  }

  void ReadRest() {
    stream_.expires_after(server_.options_.request_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset) {
      return Close();
    }
    if (ec == beast::error::timeout) {
      // A request begun but not finished in time gets told; an idle keep-alive just closes.
      if (parser_->got_some()) return Fail(408, "request_timeout", "the request took too long to arrive");
      return Close();
    }
    if (ec == http::error::body_limit) {
      return Fail(413, "too_large", "the body is over the limit of " +
                                        std::to_string(server_.options_.max_body_bytes) + " bytes");
    }
    if (ec == http::error::header_limit) {
      return Fail(431, "headers_too_large", "the headers are over the limit of " +
                                                std::to_string(server_.options_.max_header_bytes) +
                                                " bytes");
    }
    if (ec) return Fail(400, "bad_request", "malformed HTTP request: " + ec.message());

    http::request<http::string_body> req = parser_->release();
    busy_ = true;
    started_ = SteadyClock::now();
    keep_alive_ = req.keep_alive();
    method_ = std::string(req.method_string());
    target_ = std::string(req.target());
    Request request;
    request.method = method_;
    request.content_type = MediaType(std::string(req[http::field::content_type]));
    request.accept = std::string(req[http::field::accept]);
    request.body = std::move(req.body());
    Status parsed = ParseTarget(target_, request);
    if (!parsed.ok()) return Write(ErrorResponse(parsed));
    // The answer may come from a pool thread; keep the I/O running until it is written.
    auto work = net::make_work_guard(server_.ioc_);
    Route(server_.state_, request,
          [self = shared_from_this(), work = std::move(work)](Response response) mutable {
            net::post(self->stream_.get_executor(),
                      [self, response = std::move(response)]() mutable { self->Write(std::move(response)); });
            work.reset();
          });
  }

  // Answers a request that could not be read and closes the connection.
  void Fail(int status, const std::string& code, const std::string& message) {
    busy_ = true;
    started_ = SteadyClock::now();
    keep_alive_ = false;
    if (method_.empty()) method_ = "-";
    Write(ErrorResponse(status, code, message));
  }

  void Write(Response response) {
    if (server_.state_.stopping) keep_alive_ = false;
    Log(response);
    server_.state_.metrics.Request(response.status);
    stream_.expires_after(server_.options_.request_timeout);
    if (response.stream) return WriteChunked(std::move(response));
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), 11);
    res->set(http::field::server, "shiplog");
    res->set(http::field::content_type, response.content_type);
    res->keep_alive(keep_alive_);
    res->body() = std::move(response.body);
    res->prepare_payload();
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, size_t) {
      self->OnWritten(ec);
    });
  }

  void WriteChunked(Response response) {
    auto res = std::make_shared<http::response<http::empty_body>>(
        static_cast<http::status>(response.status), 11);
    res->set(http::field::server, "shiplog");
    res->set(http::field::content_type, response.content_type);
    res->keep_alive(keep_alive_);
    res->chunked(true);
    auto serializer = std::make_shared<http::response_serializer<http::empty_body>>(*res);
    producer_ = std::move(response.stream);
    http::async_write_header(stream_, *serializer,
                             [self = shared_from_this(), res, serializer](beast::error_code ec, size_t) {
                               if (ec) return self->OnWritten(ec);
                               self->WriteNextChunk();
                             });
  }

  void WriteNextChunk() {
    auto chunk = std::make_shared<std::string>();
    bool more = true;
    // Gather some output per write: small chunks cost a syscall each.
    while (more && chunk->size() < 64 * 1024) {
      std::string piece;
      more = producer_(piece);
      chunk->append(piece);
    }
    auto self = shared_from_this();
    stream_.expires_after(server_.options_.request_timeout);
    if (chunk->empty() && !more) {
      net::async_write(stream_, http::make_chunk_last(),
                       [self](beast::error_code ec, size_t) { self->OnWritten(ec); });
      return;
    }
    net::async_write(stream_, http::make_chunk(net::buffer(*chunk)),
                     [self, chunk, more](beast::error_code ec, size_t) {
                       if (ec) return self->OnWritten(ec);
                       if (more) return self->WriteNextChunk();
                       net::async_write(self->stream_, http::make_chunk_last(),
                                        [self](beast::error_code ec, size_t) { self->OnWritten(ec); });
                     });
  }

  void OnWritten(beast::error_code ec) {
    busy_ = false;
    producer_ = nullptr;
    method_.clear();
    if (ec || !keep_alive_) return Close();
    ReadRequest();
  }

  void Log(const Response& response) const {
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - started_).count();
    spdlog::info("{} {} {} {}us{}{}", method_, target_.empty() ? "-" : target_, response.status,
                 micros, response.log_note.empty() ? "" : " ", response.log_note);
  }

  // Sends FIN, then reads and discards what the client still sends (an unread body, say) until
  // it closes too, for a second at most: closing with unread bytes would reset the connection and
  // could destroy the answer (a 413) before the client reads it.
  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (closing_) return;
    closing_ = true;
    Drain();
  }

  void CloseNow() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  void Drain() {
    stream_.expires_after(std::chrono::seconds(1));
    stream_.async_read_some(drain_.prepare(16 * 1024), [self = shared_from_this()](
                                                          beast::error_code ec, size_t) {
      self->drain_.clear();
      if (!ec) return self->Drain();
      beast::error_code ignored;
      self->stream_.socket().close(ignored);
    });
  }

  beast::tcp_stream stream_;
  Impl& server_;
  beast::flat_buffer buffer_;
  beast::flat_buffer drain_;
  bool closing_ = false;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::function<bool(std::string&)> producer_;
  bool busy_ = false;
  bool keep_alive_ = true;
  std::string method_;
  std::string target_;
  SteadyClock::time_point started_;
};

Status Server::Impl::Listen() {
  const size_t colon = options_.listen.rfind(':');
  if (colon == std::string::npos) {
    return Status::InvalidArgument("--listen wants HOST:PORT, not '" + options_.listen + "'");
  }
  std::string host = options_.listen.substr(0, colon);
  const std::string port_text = options_.listen.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos || std::stoul(port_text) > 65535) {
    return Status::InvalidArgument("--listen: '" + port_text + "' is not a port number");
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  beast::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("--listen: '" + host + "' is not an IP address");
  const tcp::endpoint endpoint(address, static_cast<uint16_t>(std::stoul(port_text)));
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Status::Internal("cannot listen on " + options_.listen + ": " + ec.message());
  port_ = acceptor_.local_endpoint().port();
  return Status::Ok();
}

void Server::Impl::Accept() {
  acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      if (static_cast<size_t>(state_.metrics.open_connections()) >= options_.max_connections) {
        // Over the limit: say so and close, rather than leave the client hanging.
        // The length is counted, not written by hand: a wrong one leaves the client waiting.
        static const std::string kBusyBody =
            "{\"error\":{\"code\":\"unavailable\",\"message\":\"too many connections; retry later\"}}";
        static const std::string kBusy =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            "Connection: close\r\nContent-Length: " + std::to_string(kBusyBody.size()) +
            "\r\n\r\n" + kBusyBody;
        auto s = std::make_shared<tcp::socket>(std::move(socket));
        net::async_write(*s, net::buffer(kBusy), [s](beast::error_code, size_t) {
          beast::error_code ignored;
          s->shutdown(tcp::socket::shutdown_both, ignored);
        });
      } else {
        std::make_shared<Session>(std::move(socket), *this)->Start();
      }
    }
    Accept();
  });
}

void Server::Impl::Register(Session* session, std::weak_ptr<Session> weak) {
  std::lock_guard<std::mutex> lock(sessions_mu_);
  sessions_[session] = std::move(weak);
}

void Server::Impl::Unregister(Session* session) {
  std::lock_guard<std::mutex> lock(sessions_mu_);
  sessions_.erase(session);
}

void Server::Impl::Run() {
  net::dispatch(acceptor_.get_executor(), [this] { Accept(); });
  std::vector<std::thread> threads;
  for (size_t i = 1; i < options_.io_threads; ++i) threads.emplace_back([this] { ioc_.run(); });
  ioc_.run();
  for (auto& t : threads) t.join();
  if (stopper_.joinable()) stopper_.join();
  pipeline_.Stop();
}

void Server::Impl::Stop() {
  if (state_.stopping.exchange(true)) return;
  spdlog::info("stopping: no new connections; answering what is in flight");
  // Draining the pipeline blocks until the last batch is durable: not on an I/O thread. Started
  // before the acceptor closes, so Run() sees it once the I/O has run out.
  stopper_ = std::thread([this] { pipeline_.Stop(); });
  net::post(acceptor_.get_executor(), [this] {
    beast::error_code ignored;
    acceptor_.close(ignored);
    std::lock_guard<std::mutex> lock(sessions_mu_);
    for (auto& [raw, weak] : sessions_) {
      if (auto session = weak.lock()) session->CloseIfIdle();
    }
  });
}

Server::Server(Ledger& ledger, policy::PolicyGate* gate, ServerOptions options)
    : impl_(std::make_unique<Impl>(ledger, gate, std::move(options), metrics_)) {}
Server::~Server() = default;
Status Server::Listen() { return impl_->Listen(); }
uint16_t Server::port() const { return impl_->port(); }
void Server::Run() { impl_->Run(); }
void Server::Stop() { impl_->Stop(); }
void Server::SetReady() { impl_->SetReady(); }

}  // namespace shiplog::adapters
