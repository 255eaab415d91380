#include "adapters/server.h"

#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#include "adapters/event_feed.h"
#include "adapters/request_reader.h"
#include "adapters/routes.h"

namespace shiplog::adapters {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using SteadyClock = std::chrono::steady_clock;

namespace {

// "HTTP/1.1 503" with a JSON error and Connection: close, for a connection refused before it is
// served. The length is counted, not written by hand: a wrong one leaves the client waiting.
std::string BusyAnswer(const std::string& message) {
  const std::string body = "{\"error\":{\"code\":\"unavailable\",\"message\":\"" + message + "\"}}";
  return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
         "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// The stream a session reads and writes: the accepted socket itself, or TLS over it.
template <typename Stream>
Stream OpenStream(tcp::socket socket, ssl::context* context) {
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    return Stream(std::move(socket), *context);
  } else {
    return Stream(std::move(socket));
  }
}

// Why a handshake failed, for the log: the certificate check's verdict when that is what failed
// (a client certificate from another CA), otherwise OpenSSL's reason (no certificate, an old
// protocol, plain HTTP sent to the TLS port) or the timeout.
std::string HandshakeFailure(TlsStream& stream, const beast::error_code& ec) {
  const long verdict = SSL_get_verify_result(stream.native_handle());
  if (verdict != X509_V_OK) {
    return std::string("client certificate refused: ") + X509_verify_cert_error_string(verdict);
  }
  return ec.message();
}

bool IsTlsError(const beast::error_code& ec) {
  return ec == ssl::error::stream_truncated || ec.category() == net::error::get_ssl_category();
}

// "HOST:PORT" (HOST an IP address, IPv6 in brackets) as an endpoint; `option` names it in errors.
Result<tcp::endpoint> ParseEndpoint(const std::string& option, const std::string& text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) {
    return Status::InvalidArgument(option + " wants HOST:PORT, not '" + text + "'");
  }
  std::string host = text.substr(0, colon);
  const std::string port_text = text.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 ||
      port_text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port_text) > 65535) {
    return Status::InvalidArgument(option + ": '" + port_text + "' is not a port number");
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  beast::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument(option + ": '" + host + "' is not an IP address");
  return tcp::endpoint(address, static_cast<uint16_t>(std::stoul(port_text)));
}

}  // namespace

ReaderPool::ReaderPool(size_t threads, size_t max_queued)
    : pool_(std::max<size_t>(threads, 1)), max_queued_(std::max<size_t>(max_queued, 1)) {}

ReaderPool::~ReaderPool() { Stop(); }

bool ReaderPool::TryRun(std::function<void()> read) {
  if (queued_.fetch_add(1) >= max_queued_) {
    queued_.fetch_sub(1);
    return false;
  }
  Continue([this, read = std::move(read)] {
    struct Release {
      std::atomic<size_t>& queued;
      ~Release() { queued.fetch_sub(1); }
    } release{queued_};  // also when `read` throws
    read();
  });
  return true;
}

void ReaderPool::Continue(std::function<void()> more) {
  net::post(pool_, [more = std::move(more)] {
    // The tasks guard themselves and answer 500; this only keeps a reader thread alive.
    try {
      more();
    } catch (const std::exception& e) {
      spdlog::error("a read threw past its guard: {}", e.what());
    } catch (...) {
      spdlog::error("a read threw past its guard");
    }
  });
}

void ReaderPool::Stop() { pool_.join(); }

class Server::Impl {
 public:
  Impl(Ledger& ledger, policy::PolicyGate* gate, ServerOptions options, Metrics& metrics)
      : options_(std::move(options)),
        feed_(ledger.size(), options_.feed_heartbeat),
        pipeline_(ledger,
                  {options_.verify_threads, options_.max_batch,
                   [this](uint64_t size) { feed_.Committed(size); }},
                  &metrics),
        readers_(options_.read_threads, options_.max_queued_reads),
        state_{ledger, gate, pipeline_, metrics, readers_, options_, &feed_},
        tls_acceptor_(net::make_strand(ioc_)),
        plain_acceptor_(net::make_strand(ioc_)) {}

  Status Listen();
  uint16_t port() const { return tls_port_; }
  uint16_t insecure_port() const { return plain_port_; }
  Status ReloadTls();
  std::string TlsCertificate() const;
  void Run();
  void Stop();
  void SetReady() { state_.ready = true; }

 private:
  class Connection;
  template <typename Stream>
  class Session;
  template <typename Stream>
  friend class Session;
  Status Bind(tcp::acceptor& acceptor, const std::string& option, const std::string& where,
              uint16_t& port);
  void Accept(tcp::acceptor& acceptor, bool tls);
  void Admit(tcp::socket socket, bool tls);
  void Serve(tcp::socket socket, const net::ip::address& address, bool tls);
  void Refuse(tcp::socket socket, const std::string& message);
  std::shared_ptr<Connection> LongestIdle();
  std::vector<std::shared_ptr<Connection>> LiveSessions();  // locks sessions_mu_ itself
  void Register(Connection* session, std::weak_ptr<Connection> weak);
  void Unregister(Connection* session, const net::ip::address& address);

  ServerOptions options_;
  EventFeed feed_;  // before the pipeline, which tells it of every commit
  AppendPipeline pipeline_;
  ReaderPool readers_;
  ServerState state_;
  std::unique_ptr<TlsContextHolder> tls_;  // null without TLS
  net::io_context ioc_;
  tcp::acceptor tls_acceptor_;
  tcp::acceptor plain_acceptor_;
  uint16_t tls_port_ = 0;
  uint16_t plain_port_ = 0;
  std::thread stopper_;
  std::mutex sessions_mu_;
  std::map<Connection*, std::weak_ptr<Connection>> sessions_;  // GUARDED_BY(sessions_mu_)
  std::map<net::ip::address, size_t> per_address_;             // GUARDED_BY(sessions_mu_)
};

// What the acceptor needs of a connection, whatever its stream.
class Server::Impl::Connection {
 public:
  virtual ~Connection() = default;
  // Since when the connection has waited for a request with none begun; 0 when it is not idle.
  // Read by the acceptor to pick the longest-idle connection to close when the server is full.
  virtual int64_t idle_since() const = 0;
  // On stop: an idle connection is closed now, a busy one after its answer.
  virtual void CloseIfIdle() = 0;
  // At the connection limit: closes the connection if it still waits for a request, then calls
  // `then` (on the connection's executor) with whether it did. A newcomer takes the place only
  // then: a request can begin between the acceptor's pick and the close, and a connection is
  // evicted once however many newcomers picked it.
  virtual void EvictIfIdle(std::function<void(bool closed)> then) = 0;
};

// One client connection: reads requests one after another (keep-alive), routes each and writes
// its answer; at most one request in flight. Over TLS (TlsStream) it first completes the
// handshake, within the request timeout, and says goodbye with close_notify.
template <typename Stream>
class Server::Impl::Session : public Connection,
                              public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  // `address` is the client's, already counted by Admit(); `context` is null for plain HTTP and
  // is held for the connection's life, whatever a reload makes current.
  Session(tcp::socket socket, net::ip::address address, Impl& server,
          std::shared_ptr<ssl::context> context)
      : context_(std::move(context)),
        stream_(OpenStream<Stream>(std::move(socket), context_.get())),
        request_timer_(stream_.get_executor()),
        address_(std::move(address)),
        server_(server) {
    server_.state_.metrics.ConnectionOpened();
  }
  ~Session() override {
    server_.state_.metrics.ConnectionClosed();
    server_.Unregister(this, address_);
  }

  int64_t idle_since() const override { return idle_since_.load(); }

  void Start() {
    server_.Register(this, this->weak_from_this());
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->Handshake();
      } else {
        self->ReadRequest();
      }
    });
  }

  // A request partly arrived counts as busy: closing under it would leave its client with no
  // answer at all; it is read to its end (within the request timeout) and answered, then the
  // connection closes.
  void CloseIfIdle() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      const bool request_begun = self->parser_ && self->parser_->got_some();
      // An idle connection's only pending operation is the wait for a request: closing the
      // socket ends it (there is nothing unread to drain).
      if (!self->busy_ && !request_begun) self->CloseNow();
    });
  }

  // None of a request may have arrived (bytes in the socket's buffer count as a request begun).
  void EvictIfIdle(std::function<void(bool closed)> then) override {
    net::post(stream_.get_executor(), [self = this->shared_from_this(), then = std::move(then)] {
      beast::error_code ec;
      const size_t unread = self->Lowest().socket().available(ec);
      if (self->evicted_ || !self->waiting_idle_ || ec || unread > 0 ||
          self->buffer_.size() > 0) {
        return then(false);
      }
      spdlog::info("closing an idle connection to make room (at the connection limit)");
      self->evicted_ = true;
      self->CloseNow();
      then(true);
    });
  }

 private:
  // The TCP stream under TLS (the stream itself for plain HTTP): deadlines, cancel, close.
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  // A handshake that fails or stalls past the request timeout closes the connection, and its
  // slot with it; the log says why once, not what each byte was.
  void Handshake() {
    Lowest().expires_after(server_.options_.request_timeout);
    stream_.async_handshake(
        ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
          if (!ec) {
            self->handshake_done_ = true;
            return self->ReadRequest();
          }
          spdlog::warn("TLS handshake with {} failed: {}", self->address_.to_string(),
                       HandshakeFailure(self->stream_, ec));
          self->CloseNow();
        });
  }

  // A connection waits for its next request's first bytes up to idle_timeout; from there the
  // whole request must arrive within request_timeout.
  void ReadRequest() {
    if (server_.state_.stopping) return Close();
    parser_.emplace();
    LimitRequest(*parser_, server_.options_);
    if (buffer_.size() > 0) return ReadRest();  // pipelined: the next request is here already
    Lowest().expires_after(server_.options_.idle_timeout);
    waiting_idle_ = true;
    idle_since_ = SteadyClock::now().time_since_epoch().count();
    stream_.async_read_some(
        buffer_.prepare(4096), [self = this->shared_from_this()](beast::error_code ec, size_t n) {
          self->waiting_idle_ = false;
          self->idle_since_ = 0;
          if (ec) return self->Close();  // idle too long, evicted, or the client went away
          self->buffer_.commit(n);
          self->ReadRest();
        });
  }

  // The request's deadline is a timer of its own, not the stream's expiry: tcp_stream closes the
  // socket when its expiry passes, and the 408 written afterwards would never arrive. The timer
  // only cancels the read, so the socket is still there to carry the 408.
  void ReadRest() {
    Lowest().expires_never();
    request_timed_out_ = false;
    request_timer_.expires_after(server_.options_.request_timeout);
    request_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec) return;  // cancelled: the request arrived (or failed) in time
      self->request_timed_out_ = true;
      self->Lowest().socket().cancel();
    });
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    request_timer_.cancel();
    if (ec && request_timed_out_) {
      // A request begun but not finished in time gets told; an idle keep-alive just closes.
      if (parser_->got_some()) {
        return Fail(ErrorResponse(408, "request_timeout", "the request took too long to arrive"));
      }
      return Close();
    }
    if (ec == http::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset ||
        IsTlsError(ec)) {
      return Close();
    }
    if (ec) return Fail(UnreadableRequest(ec, server_.options_));

    http::request<http::string_body> req = parser_->release();
    busy_ = true;
    started_ = SteadyClock::now();
    keep_alive_ = req.keep_alive();
    method_ = std::string(req.method_string());
    target_ = std::string(req.target());
    auto request = ToRequest(req);
    if (!request.ok()) return Write(ErrorResponse(request.status()));
    request->remote_address = address_.to_string();
    RouteGuarded(*request);
  }

  // Routes the request with a respond that answers once (later calls are ignored), and answers
  // 500 if routing throws: the last resort that keeps one request from aborting the server.
  void RouteGuarded(const Request& request) {
    // The answer may come from a pool thread; keep the I/O running until it is written.
    auto work = std::make_shared<net::executor_work_guard<net::io_context::executor_type>>(
        server_.ioc_.get_executor());
    auto answered = std::make_shared<std::atomic<bool>>(false);
    // Dispatched, not posted: an answer made on this connection's strand (a refusal, or an
    // append the pipeline took on this thread) is written at once, where a post would wake the
    // other I/O thread to write it. One from a pool thread is posted, as before.
    Respond respond = [self = this->shared_from_this(), work, answered](Response response) {
      if (answered->exchange(true)) return;
      net::dispatch(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->Write(std::move(response));
      });
      work->reset();
    };
    AnswerGuarded(respond, ("route " + method_ + " " + target_).c_str(),
                  [&] { Route(server_.state_, request, respond); });
  }

  // Answers a request that could not be read and closes the connection.
  void Fail(Response response) {
    busy_ = true;
    started_ = SteadyClock::now();
    keep_alive_ = false;
    if (method_.empty()) method_ = "-";
    Write(std::move(response));
  }

  void Write(Response response) {
    if (server_.state_.stopping) keep_alive_ = false;
    Log(response);
    server_.state_.metrics.Request(response.status);
    Lowest().expires_after(server_.options_.request_timeout);
    if (response.stream || response.next) return WriteChunked(std::move(response));
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), 11);
    res->set(http::field::server, "shiplog");
    res->set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) res->set(name, value);
    res->keep_alive(keep_alive_);
    res->body() = std::move(response.body);
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res](beast::error_code ec, size_t) {
                        self->OnWritten(ec);
                      });
  }

  void WriteChunked(Response response) {
    auto res = std::make_shared<http::response<http::empty_body>>(
        static_cast<http::status>(response.status), 11);
    res->set(http::field::server, "shiplog");
    res->set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) res->set(name, value);
    res->keep_alive(keep_alive_);
    res->chunked(true);
    auto serializer = std::make_shared<http::response_serializer<http::empty_body>>(*res);
    producer_ = std::move(response.stream);
    waiting_producer_ = std::move(response.next);
    http::async_write_header(
        stream_, *serializer,
        [self = this->shared_from_this(), res, serializer](beast::error_code ec, size_t) {
          if (ec) return self->OnWritten(ec);
          self->WriteNextChunk();
        });
  }

  // The producer reads the ledger: it runs on the reader pool, and the chunk it fills is written
  // back on this connection's strand. A write that waits for a slow client holds no thread.
  void WriteNextChunk() {
    auto work = std::make_shared<net::executor_work_guard<net::io_context::executor_type>>(
        server_.ioc_.get_executor());
    if (waiting_producer_) {
      // A producer that waits (a live feed) calls back when it has the chunk; no thread waits.
      return waiting_producer_([self = this->shared_from_this(), work](std::string chunk,
                                                                       bool more) {
        auto text = std::make_shared<std::string>(std::move(chunk));
        net::post(self->stream_.get_executor(),
                  [self, text, more] { self->WriteChunk(text, more); });
        work->reset();
      });
    }
    server_.readers_.Continue([self = this->shared_from_this(), work] {
      auto chunk = std::make_shared<std::string>();
      const bool more = self->Produce(*chunk);
      net::post(self->stream_.get_executor(),
                [self, chunk, more] { self->WriteChunk(chunk, more); });
      work->reset();
    });
  }

  // Fills `chunk` with some output (small chunks cost a syscall each); false when the answer is
  // done. A producer that throws ends the answer with one {"error": ...} line: the headers are
  // out, so the status can no longer say it.
  bool Produce(std::string& chunk) {
    bool more = true;
    try {
      while (more && chunk.size() < 64 * 1024) {
        std::string piece;
        more = producer_(piece);
        chunk.append(piece);
      }
    } catch (const std::exception& e) {
      spdlog::error("the stream of {} {} threw: {}; ended it with an error line", method_, target_,
                    e.what());
      chunk += DumpJson(
          {{"error",
            {{"code", "internal"}, {"message", "the answer stopped on an internal error"}}}});
      more = false;
    }
    return more;
  }

  void WriteChunk(const std::shared_ptr<std::string>& chunk, bool more) {
    auto self = this->shared_from_this();
    Lowest().expires_after(server_.options_.request_timeout);
    if (chunk->empty() && !more) {
      net::async_write(stream_, http::make_chunk_last(),
                       [self](beast::error_code ec, size_t) { self->OnWritten(ec); });
      return;
    }
    net::async_write(stream_, http::make_chunk(net::buffer(*chunk)),
                     [self, chunk, more](beast::error_code ec, size_t) {
                       if (ec) return self->OnWritten(ec);
                       if (more) return self->WriteNextChunk();
                       net::async_write(
                           self->stream_, http::make_chunk_last(),
                           [self](beast::error_code ec, size_t) { self->OnWritten(ec); });
                     });
  }

  void OnWritten(beast::error_code ec) {
    busy_ = false;
    producer_ = nullptr;
    waiting_producer_ = nullptr;
    method_.clear();
    if (ec || !keep_alive_) return Close();
    ReadRequest();
  }

  void Log(const Response& response) const {
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - started_)
            .count();
    spdlog::info("{} {} {} {}us{}{}", method_, target_.empty() ? "-" : target_, response.status,
                 micros, response.log_note.empty() ? "" : " ", response.log_note);
  }

  // Over TLS: close_notify first (waiting a second at most for the client's), so the client
  // knows the answer was not cut short; then as for plain HTTP.
  void Close() {
    if constexpr (kTls) {
      if (handshake_done_ && !tls_closing_) {
        tls_closing_ = true;
        Lowest().expires_after(std::chrono::seconds(1));
        stream_.async_shutdown(
            [self = this->shared_from_this()](beast::error_code) { self->CloseTcp(); });
        return;
      }
    }
    CloseTcp();
  }

  // Sends FIN, then reads and discards what the client still sends (an unread body, say) until
  // it closes too, for a second at most: closing with unread bytes would reset the connection and
  // could destroy the answer (a 413) before the client reads it.
  void CloseTcp() {
    beast::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (closing_) return;
    closing_ = true;
    Drain();
  }

  void CloseNow() {
    // No longer a connection to make room by: until its read's handler runs, it would still look
    // the longest idle, and a newcomer picked to replace it would be refused (EvictIfIdle).
    idle_since_ = 0;
    beast::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Lowest().socket().close(ignored);
  }

  void Drain() {
    Lowest().expires_after(std::chrono::seconds(1));
    Lowest().async_read_some(drain_.prepare(16 * 1024),
                             [self = this->shared_from_this()](beast::error_code ec, size_t) {
                               self->drain_.clear();
                               if (!ec) return self->Drain();
                               beast::error_code ignored;
                               self->Lowest().socket().close(ignored);
                             });
  }

  std::shared_ptr<ssl::context> context_;  // the TLS context this connection began with
  Stream stream_;
  bool handshake_done_ = false;
  bool tls_closing_ = false;
  net::steady_timer request_timer_;  // the deadline of the request being read
  bool request_timed_out_ = false;
  bool waiting_idle_ = false;  // the wait for a request's first bytes is pending
  bool evicted_ = false;       // closed to make room for a newcomer
  std::atomic<int64_t> idle_since_{0};
  const net::ip::address address_;
  Impl& server_;
  beast::flat_buffer buffer_;
  beast::flat_buffer drain_;
  bool closing_ = false;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::function<bool(std::string&)> producer_;
  std::function<void(std::function<void(std::string, bool)>)> waiting_producer_;  // Response::next
  bool busy_ = false;
  bool keep_alive_ = true;
  std::string method_;
  std::string target_;
  SteadyClock::time_point started_;
};

Status Server::Impl::Bind(tcp::acceptor& acceptor, const std::string& option,
                          const std::string& where, uint16_t& port) {
  SHIPLOG_ASSIGN_OR_RETURN(const tcp::endpoint endpoint, ParseEndpoint(option, where));
  beast::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Status::Internal("cannot listen on " + where + ": " + ec.message());
  port = acceptor.local_endpoint().port();
  return Status::Ok();
}

Status Server::Impl::Listen() {
  if (options_.listen.empty() && options_.insecure_listen.empty()) {
    return Status::InvalidArgument("give --listen HOST:PORT (TLS) or --insecure-listen HOST:PORT");
  }
  if (!options_.listen.empty()) {
    if (!options_.tls.enabled()) {
      return Status::InvalidArgument(
          "--listen serves TLS: give --tls-cert FILE and --tls-key FILE, or serve plain HTTP "
          "with --insecure-listen HOST:PORT");
    }
    tls_ = std::make_unique<TlsContextHolder>(options_.tls);
    SHIPLOG_RETURN_IF_ERROR(tls_->Reload());
    SHIPLOG_RETURN_IF_ERROR(Bind(tls_acceptor_, "--listen", options_.listen, tls_port_));
  } else if (options_.tls.enabled() || !options_.tls.client_ca_file.empty()) {
    return Status::InvalidArgument(
        "--tls-cert, --tls-key and --tls-client-ca are for --listen HOST:PORT; "
        "--insecure-listen serves plain HTTP");
  }
  if (!options_.insecure_listen.empty()) {
    SHIPLOG_RETURN_IF_ERROR(
        Bind(plain_acceptor_, "--insecure-listen", options_.insecure_listen, plain_port_));
  }
  return Status::Ok();
}

Status Server::Impl::ReloadTls() {
  if (!tls_) return Status::FailedPrecondition("the server is not serving TLS");
  return tls_->Reload();
}

std::string Server::Impl::TlsCertificate() const {
  const auto context = tls_ ? tls_->current() : nullptr;
  return context ? DescribeCertificate(*context) : "";
}

void Server::Impl::Accept(tcp::acceptor& acceptor, bool tls) {
  acceptor.async_accept(net::make_strand(ioc_),
                        [this, &acceptor, tls](beast::error_code ec, tcp::socket socket) {
                          if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
                          if (!ec) Admit(std::move(socket), tls);
                          Accept(acceptor, tls);
                        });
}

// A new connection is served unless its address holds its cap, or the server is full and no
// connection is idle to make room.
void Server::Impl::Admit(tcp::socket socket, bool tls) {
  beast::error_code ec;
  const tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) return;  // gone already
  {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    size_t& from_peer = per_address_[peer.address()];
    if (from_peer >= options_.max_connections_per_address) {
      if (from_peer == 0) per_address_.erase(peer.address());
      return Refuse(std::move(socket), "too many connections from your address; retry later");
    }
    ++from_peer;
  }
  const auto open = static_cast<size_t>(state_.metrics.open_connections());
  if (open < options_.max_connections) return Serve(std::move(socket), peer.address(), tls);
  const std::shared_ptr<Connection> idle = LongestIdle();
  if (!idle) {
    Unregister(nullptr, peer.address());
    return Refuse(std::move(socket), "too many connections; retry later");
  }
  auto newcomer = std::make_shared<tcp::socket>(std::move(socket));
  idle->EvictIfIdle([this, newcomer, address = peer.address(), tls](bool closed) {
    if (closed) return Serve(std::move(*newcomer), address, tls);
    Unregister(nullptr, address);
    Refuse(std::move(*newcomer), "too many connections; retry later");
  });
}

void Server::Impl::Serve(tcp::socket socket, const net::ip::address& address, bool tls) {
  if (tls) {
    std::make_shared<Session<TlsStream>>(std::move(socket), address, *this, tls_->current())
        ->Start();
  } else {
    std::make_shared<Session<PlainStream>>(std::move(socket), address, *this, nullptr)->Start();
  }
}

// Over a limit: say so and close, rather than leave the client hanging.
void Server::Impl::Refuse(tcp::socket socket, const std::string& message) {
  auto s = std::make_shared<tcp::socket>(std::move(socket));
  auto answer = std::make_shared<std::string>(BusyAnswer(message));
  net::async_write(*s, net::buffer(*answer), [s, answer](beast::error_code, size_t) {
    beast::error_code ignored;
    s->shutdown(tcp::socket::shutdown_both, ignored);
  });
}

// The connection idle the longest; null when none is idle (every connection has a request begun
// or in flight).
std::shared_ptr<Server::Impl::Connection> Server::Impl::LongestIdle() {
  const std::vector<std::shared_ptr<Connection>> live = LiveSessions();
  std::shared_ptr<Connection> oldest;
  int64_t oldest_since = 0;
  for (const auto& session : live) {
    const int64_t since = session->idle_since();
    if (since == 0 || (oldest && since >= oldest_since)) continue;
    oldest = session;
    oldest_since = since;
  }
  return oldest;
}

// Taken out under the lock and used after it: dropping the last reference to a connection runs
// its destructor, which unregisters it and so takes the lock (a self-deadlock under it).
std::vector<std::shared_ptr<Server::Impl::Connection>> Server::Impl::LiveSessions() {
  std::vector<std::shared_ptr<Connection>> live;
  std::lock_guard<std::mutex> lock(sessions_mu_);
  live.reserve(sessions_.size());
  for (auto& [raw, weak] : sessions_) {
    if (auto session = weak.lock()) live.push_back(std::move(session));
  }
  return live;
}

void Server::Impl::Register(Connection* session, std::weak_ptr<Connection> weak) {
  std::lock_guard<std::mutex> lock(sessions_mu_);
  sessions_[session] = std::move(weak);
}

// Forgets `session` (null: a connection refused before it became one) and uncounts its address.
void Server::Impl::Unregister(Connection* session, const net::ip::address& address) {
  std::lock_guard<std::mutex> lock(sessions_mu_);
  if (session) sessions_.erase(session);
  auto it = per_address_.find(address);
  if (it != per_address_.end() && --it->second == 0) per_address_.erase(it);
}

void Server::Impl::Run() {
  if (tls_acceptor_.is_open()) {
    net::dispatch(tls_acceptor_.get_executor(), [this] { Accept(tls_acceptor_, true); });
  }
  if (plain_acceptor_.is_open()) {
    net::dispatch(plain_acceptor_.get_executor(), [this] { Accept(plain_acceptor_, false); });
  }
  std::vector<std::thread> threads;
  for (size_t i = 1; i < options_.io_threads; ++i) threads.emplace_back([this] { ioc_.run(); });
  ioc_.run();
  for (auto& t : threads) t.join();
  if (stopper_.joinable()) stopper_.join();
  readers_.Stop();
  pipeline_.Stop();
}

void Server::Impl::Stop() {
  if (state_.stopping.exchange(true)) return;
  spdlog::info("stopping: no new connections; answering what is in flight");
  // Draining the pipeline blocks until the last batch is durable: not on an I/O thread. Started
  // before the acceptor closes, so Run() sees it once the I/O has run out.
  stopper_ = std::thread([this] { pipeline_.Stop(); });
  for (tcp::acceptor* acceptor : {&tls_acceptor_, &plain_acceptor_}) {
    net::post(acceptor->get_executor(), [acceptor] {
      beast::error_code ignored;
      acceptor->close(ignored);
    });
  }
  net::post(ioc_, [this] {
    for (const auto& session : LiveSessions()) session->CloseIfIdle();
  });
  feed_.Close();  // ends the live feeds' answers, so their connections close
}

Server::Server(Ledger& ledger, policy::PolicyGate* gate, ServerOptions options)
    : impl_(std::make_unique<Impl>(ledger, gate, std::move(options), metrics_)) {}
Server::~Server() = default;
Status Server::Listen() { return impl_->Listen(); }
uint16_t Server::port() const { return impl_->port(); }
uint16_t Server::insecure_port() const { return impl_->insecure_port(); }
Status Server::ReloadTls() { return impl_->ReloadTls(); }
std::string Server::TlsCertificate() const { return impl_->TlsCertificate(); }
void Server::Run() { impl_->Run(); }
void Server::Stop() { impl_->Stop(); }
void Server::SetReady() { impl_->SetReady(); }

}  // namespace shiplog::adapters
