#include "tests/server/server_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "adapters/http_signature.h"
#include "ledger/crypto.h"
#include "ledger/key_file.h"
#include "ledger/ledger.h"
#include "tests/cli/test_ledger.h"

namespace shiplog::testing {
uint16_t PickFreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// The ledger, the agents' keys and their enrolments are made in this process (tests/cli/
// test_ledger.h): nearly every server test starts with them, and `init`, `keygen` and `enroll`
// are the CLI tests' to test.
ServerProcess::ServerProcess(const std::map<std::string, std::vector<std::string>>& agents,
                             bool real_clock, const std::string& store)
    : log_(dir_ / "server.log") {
  TestLedgerOptions options;
  options.manual_clock = !real_clock;
  options.store = store;
  InitTestLedger(data(), options);
  std::vector<TestAgent> enrolled;
  for (const auto& [name, roles] : agents) {
    enrolled.push_back({name, roles, key(name)});
    agents_.push_back(name);
  }
  EnrollTestAgents(data(), enrolled);
}

std::unique_ptr<ServerProcess> ServerProcess::OverSameLedger(const ServerProcess& first,
                                                             const std::string& store) {
  auto first_store = Ledger::StoreLocation(first.data());
  if (!first_store.ok() || !IsPostgresUrl(*first_store)) {
    throw std::runtime_error("a second server needs its first's ledger in PostgreSQL");
  }
  std::unique_ptr<ServerProcess> second(new ServerProcess(Attached{}));
  second->log_ = second->dir_ / "server.log";
  auto ledger_key = ReadKeyFile(first.data() + "/ledger.key");
  if (!ledger_key.ok()) throw std::runtime_error(ledger_key.status().ToString());
  const Status attached =
      Ledger::Attach(second->data(), store.empty() ? *first_store : store, *ledger_key);
  if (!attached.ok()) throw std::runtime_error("attaching a second server: " + attached.ToString());
  auto copy = [](const std::string& from, const std::string& to) {
    std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
  };
  copy(first.admin_key(), second->admin_key());
  for (const std::string& agent : first.agents_) {
    copy(first.key(agent), second->key(agent));
    copy(first.key(agent) + ".pub", second->key(agent) + ".pub");
  }
  second->agents_ = first.agents_;
  return second;
}

ServerProcess::~ServerProcess() {
  if (running()) Kill();
}

void ServerProcess::Start(const std::vector<std::string>& extra) {
  tls_ = false;
  Launch({"--insecure-listen"}, extra);
}

void ServerProcess::StartTls(const TlsSetup& tls, const std::vector<std::string>& extra) {
  tls_ = true;
  tls_setup_ = tls;
  std::vector<std::string> options = {"--listen", "--tls-cert", tls.cert, "--tls-key", tls.key};
  if (!tls.client_ca.empty()) options.insert(options.end(), {"--tls-client-ca", tls.client_ca});
  Launch(options, extra);
}

adapters::ServerUrl ServerProcess::Url() const {
  return adapters::ServerUrl{"127.0.0.1", std::to_string(port_), "", tls_};
}

adapters::HttpCall ServerProcess::NewCall() const {
  adapters::HttpCall call;
  if (tls_) {
    call.ca_file = tls_setup_.ca;
    call.client_cert_file = tls_setup_.client_cert;
    call.client_key_file = tls_setup_.client_key;
  }
  return call;
}

// `listen` is the listening option (its address follows it) and any options that go with it.
void ServerProcess::Launch(const std::vector<std::string>& listen,
                           const std::vector<std::string>& extra) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = PickFreePort();
    std::vector<std::string> argv = {ShiplogBinary(), "serve",
                                     "--data",        data(),
                                     listen[0],       "127.0.0.1:" + std::to_string(port_)};
    argv.insert(argv.end(), listen.begin() + 1, listen.end());
    argv.insert(argv.end(), extra.begin(), extra.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> args;
      for (std::string& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {  // exited: most likely the port was taken
        pid_ = -1;
        break;
      }
      adapters::HttpCall call = NewCall();
      call.target = "/readyz";
      call.timeout = std::chrono::milliseconds(1000);
      auto reply = adapters::Call(Url(), call);
      if (reply.ok() && reply->status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (running()) Kill();
  }
  throw std::runtime_error("shiplog serve did not become ready; its log:\n" + Log());
}

int ServerProcess::Stop(int signal) {
  if (!running()) return -1;
  ::kill(pid_, signal);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void ServerProcess::Kill() { Stop(SIGKILL); }

void ServerProcess::Signal(int signal) const {
  if (running()) ::kill(pid_, signal);
}

std::string ServerProcess::Log() const {
  try {
    return ReadFile(log_);
  } catch (const std::exception&) {
    return "";
  }
}

adapters::HttpReply ServerProcess::Get(const std::string& target) const {
  return SignedGet(admin_key(), target);
}

adapters::HttpReply ServerProcess::GetAs(const std::string& agent,
                                         const std::string& target) const {
  return SignedGet(key(agent), target);
}

namespace {

std::vector<std::pair<std::string, std::string>> SignatureHeaders(const std::string& key_file,
                                                                  const std::string& target) {
  auto key = ReadKeyFile(key_file);
  if (!key.ok()) throw std::runtime_error(key_file + ": " + key.status().ToString());
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const std::string date = adapters::HttpDate(now);
  auto headers = adapters::SignRequest({"GET", target, date}, *key, now, RandomId());
  headers.emplace_back("Date", date);
  return headers;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> ServerProcess::ReadSignature(
    const std::string& target, const std::string& key_file) const {
  return SignatureHeaders(key_file.empty() ? admin_key() : key_file, target);
}

// A request the server did not answer: the server's log says why. A sanitizer's report is given
// from its start (what raced or was misused, and where), which with Boost's long names is well
// past the last few kilobytes; anything else by the log's end (a crash).
[[noreturn]] void ServerProcess::NoAnswer(const std::string& request, const Status& status) const {
  constexpr size_t kMost = 32768;
  const std::string log = Log();
  const size_t report = log.find("Sanitizer");
  size_t from = log.size() > kMost ? log.size() - kMost : 0;
  std::string which = from > 0 ? " (its end)" : "";
  if (report != std::string::npos) {
    from = log.rfind('\n', report);
    from = from == std::string::npos ? 0 : from + 1;
    which = " (from the sanitizer's report)";
  }
  throw std::runtime_error(request + ": " + status.ToString() + "\nthe server's log" + which +
                           ":\n" + log.substr(from, kMost));
}

adapters::HttpReply ServerProcess::SignedGet(const std::string& key_file,
                                             const std::string& target) const {
  adapters::HttpCall call = NewCall();
  call.target = target;
  call.headers = SignatureHeaders(key_file, target);
  auto reply = adapters::Call(Url(), call);
  if (!reply.ok()) NoAnswer("GET " + target, reply.status());
  return std::move(reply).value();
}

adapters::HttpReply ServerProcess::GetUnsigned(const std::string& target) const {
  adapters::HttpCall call = NewCall();
  call.target = target;
  auto reply = adapters::Call(Url(), call);
  if (!reply.ok()) NoAnswer("GET " + target, reply.status());
  return std::move(reply).value();
}

adapters::HttpReply ServerProcess::Post(const std::string& target, const std::string& body,
                                        const std::string& content_type) const {
  adapters::HttpCall call = NewCall();
  call.method = "POST";
  call.target = target;
  call.body = body;
  call.content_type = content_type;
  auto reply = adapters::Call(Url(), call);
  if (!reply.ok()) NoAnswer("POST " + target, reply.status());
  return std::move(reply).value();
}

nlohmann::json ServerProcess::Sign(const std::string& agent, nlohmann::json event) const {
  event["actor"] = agent;
  return SignTestEvent(key(agent), std::move(event));
}

ProcessResult ServerProcess::Shiplog(std::vector<std::string> args,
                                     const std::string& input) const {
  args.insert(args.begin(), ShiplogBinary());
  return RunProcess(args, input);
}

}  // namespace shiplog::testing
