// `shiplog-bench http`: the real server under load. A fresh ledger, `shiplog serve` started on a
// free loopback port as a child process, and N clients, each on its own keep-alive connection,
// posting pre-signed events (JSON, as `shiplog sign` prints them) one at a time and waiting for
// each receipt. Reports throughput, latency, fsyncs per event (from /metrics) and the server's
// peak resident memory.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <iostream>
#include <regex>
#include <thread>

#include "adapters/http_client.h"
#include "tools/bench/bench_ledger.h"
#include "tools/bench/workloads.h"

namespace shiplog::bench {
namespace {

adapters::HttpCall Get(const std::string& target, std::chrono::milliseconds timeout) {
  adapters::HttpCall call;
  call.target = target;
  call.timeout = timeout;
  return call;
}

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

uint16_t FreePort() {
  net::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

// `shiplog serve` on `dir` in a child process, killed if still running when this goes.
class ServerChild {
 public:
  ServerChild(const std::string& shiplog, const std::string& dir, const std::string& log) {
    port_ = FreePort();
    const std::string listen = "127.0.0.1:" + std::to_string(port_);
    pid_ = ::fork();
    if (pid_ == 0) {
      FILE* out = std::freopen(log.c_str(), "w", stderr);
      if (out) ::dup2(::fileno(stderr), STDOUT_FILENO);
      ::execl(shiplog.c_str(), shiplog.c_str(), "serve", "--data", dir.c_str(), "--insecure-listen",
              listen.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~ServerChild() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  // Waits until /readyz answers 200; false when the server exits or takes over a minute.
  bool WaitReady() {
    for (int i = 0; i < 600; ++i) {
      if (pid_ <= 0 || ::waitpid(pid_, nullptr, WNOHANG) == pid_) return false;
      auto reply = adapters::Call(url(), Get("/readyz", std::chrono::seconds(2)));
      if (reply.ok() && reply->status == 200) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  // SIGTERM and the exit code (-1 when it did not exit by itself).
  int Stop() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  adapters::ServerUrl url() const { return {"127.0.0.1", std::to_string(port_), ""}; }
  int pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

// One agent on one keep-alive connection, posting its events in turn.
bool RunClient(const adapters::ServerUrl& server, const std::vector<std::string>& bodies,
               size_t first, size_t step, std::vector<double>& latencies) {
  try {
    net::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.connect(resolver.resolve(server.host, server.port));
    stream.socket().set_option(tcp::no_delay(true));
    beast::flat_buffer buffer;
    for (size_t i = first; i < bodies.size(); i += step) {
      http::request<http::string_body> req(http::verb::post, "/v1/events", 11);
      req.set(http::field::host, server.host);
      req.set(http::field::content_type, "application/json");
      req.keep_alive(true);
      req.body() = bodies[i];
      req.prepare_payload();
      const auto sent = BenchClock::now();
      http::write(stream, req);
      http::response<http::string_body> res;
      http::read(stream, buffer, res);
      latencies.push_back(MicrosSince(sent));
      if (res.result_int() != 200) {
        std::cerr << "event " << i << ": HTTP " << res.result_int() << " " << res.body() << "\n";
        return false;
      }
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    return true;
  } catch (const std::exception& e) {
    std::cerr << "client " << first << ": " << e.what() << "\n";
    return false;
  }
}

// The value of an unlabelled metric in Prometheus text, or -1.
double MetricValue(const std::string& text, const std::string& name) {
  std::smatch match;
  if (std::regex_search(text, match, std::regex("\n" + name + " ([0-9.e+]+)"))) {
    return std::stod(match[1]);
  }
  return -1;
}

nlohmann::json RunOnce(const std::string& shiplog, unsigned clients, uint64_t records) {
  WorkloadDir workload_dir("");
  if (workload_dir.path().empty()) return nullptr;
  const std::string& dir = workload_dir.path();
  SigningKey agent = SigningKey::Generate();
  {
    SystemClock clock;
    if (!CreateBenchLedger(dir, agent, &clock)) return nullptr;
  }
  std::vector<std::string> bodies;
  {
    std::vector<SignedEvent> events = SignBenchEvents(0, records, agent);
    bodies.reserve(records);
    for (const SignedEvent& e : events) bodies.push_back(e.ToJson().dump());
  }
  const std::string log = std::filesystem::path(dir).parent_path() / "server.log";
  ServerChild server(shiplog, dir, log);
  if (!server.WaitReady()) {
    std::cerr << "the server did not become ready; its log is in " << log << "\n";
    return nullptr;
  }
  std::vector<std::vector<double>> latencies(clients);
  std::vector<char> ok(clients, 0);
  const auto start = BenchClock::now();
  std::vector<std::thread> threads;
  for (unsigned c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] { ok[c] = RunClient(server.url(), bodies, c, clients, latencies[c]); });
  }
  for (auto& t : threads) t.join();
  const double seconds = MicrosSince(start) / 1e6;
  for (char c : ok) {
    if (!c) return nullptr;
  }
  const uint64_t peak_rss = PeakResidentBytes(server.pid());
  auto metrics = adapters::Call(server.url(), Get("/metrics", std::chrono::seconds(10)));
  const double batches = metrics.ok() ? MetricValue(metrics->body, "shiplog_batch_size_count") : -1;
  if (int code = server.Stop(); code != 0) {
    std::cerr << "the server exited with " << code << " on SIGTERM; its log is in " << log << "\n";
    return nullptr;
  }
  nlohmann::json figures = ConcurrentAppendFigures(clients, records, seconds, latencies, batches);
  figures["server_peak_rss_bytes"] = peak_rss;
  return figures;
}

}  // namespace

int RunHttpWorkload(const std::string& shiplog, unsigned clients, uint64_t records, int runs) {
  InitCrypto();
  nlohmann::json out = MedianOfRuns(runs, [&] { return RunOnce(shiplog, clients, records); });
  if (out.is_null()) return 1;
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace shiplog::bench
