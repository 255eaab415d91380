#include "tests/postgres/postgres_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

#ifndef SHIPLOG_POSTGRES_BIN
#define SHIPLOG_POSTGRES_BIN "/usr/lib/postgresql/15/bin"
#endif

namespace shiplog::testing {
namespace {

using Clock = std::chrono::steady_clock;

const std::string kBin = SHIPLOG_POSTGRES_BIN;
// How long any one wait may take: a start, a tool, a query, a standby catching up. Far above what
// they need (about a second), so that reaching it means something is wrong.
constexpr std::chrono::seconds kDeadline(60);
// How often a wait looks again.
constexpr std::chrono::milliseconds kPoll(10);

// Who PostgreSQL's processes run as: the `postgres` system user when this process is root
// (PostgreSQL refuses to run as root), otherwise this process's own user.
struct Account {
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // its supplementary groups, looked up before fork
};

Account ServerAccount() {
  Account account;
  if (::geteuid() != 0) return account;
  const passwd* pw = ::getpwnam("postgres");
  if (pw == nullptr) {
    throw std::runtime_error(
        "running as root, and there is no `postgres` user to run PostgreSQL as (PostgreSQL "
        "refuses to run as root): install Debian's postgresql package");
  }
  account.switch_user = true;
  account.uid = pw->pw_uid;
  account.gid = pw->pw_gid;
  int count = 16;
  account.groups.resize(count);
  while (::getgrouplist(pw->pw_name, pw->pw_gid, account.groups.data(), &count) < 0) {
    account.groups.resize(count);
  }
  account.groups.resize(count);
  return account;
}

// Writes `message` to stderr (the log) and exits: a child's failure before exec. Async-signal-safe.
[[noreturn]] void ChildFails(const char* message) {
  const ssize_t ignored = ::write(2, message, std::strlen(message));
  (void)ignored;
  ::_exit(127);
}

// Starts argv[0] with `argv` in a process group of its own, as the server's user, in `cwd`,
// stdin from /dev/null and stdout and stderr appended to `log`. Everything the child needs is
// prepared here: after fork it makes async-signal-safe calls only.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& cwd, const std::string& log) {
  const Account account = ServerAccount();
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  // A clean environment: nothing of the test's (PGDATA, PGHOST, sanitizer options) leaks in.
  static char* const kEnv[] = {const_cast<char*>("LC_ALL=C"),
                               const_cast<char*>("PATH=/usr/bin:/bin"), nullptr};
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log_fd < 0 || null_fd < 0) {
    if (log_fd >= 0) ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    throw std::runtime_error("cannot open " + log + " or /dev/null for " + argv[0]);
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (::dup2(null_fd, 0) < 0 || ::dup2(log_fd, 1) < 0 || ::dup2(log_fd, 2) < 0) ::_exit(127);
    if (account.switch_user && (::setgroups(account.groups.size(), account.groups.data()) != 0 ||
                                ::setgid(account.gid) != 0 || ::setuid(account.uid) != 0)) {
      ChildFails("shiplog test harness: cannot become the postgres user\n");
    }
    // After the uid change, which clears the parent-death signal. If the parent is already gone,
    // no signal will come: give up rather than outlive it.
    if (::prctl(PR_SET_PDEATHSIG, SIGQUIT) != 0 || ::getppid() != parent) ::_exit(127);
    if (::chdir(cwd.c_str()) != 0) ChildFails("shiplog test harness: cannot chdir\n");
    ::execve(args[0], args.data(), kEnv);
    ChildFails("shiplog test harness: cannot exec a PostgreSQL program\n");
  }
  ::close(log_fd);
  ::close(null_fd);
  if (pid < 0) throw std::runtime_error("cannot fork for " + argv[0]);
  // Also from this side, so that a kill of the group right away reaches the child.
  ::setpgid(pid, pid);
  return pid;
}

// Waits for child `pid` to exit until `deadline`; false when it is still running then.
bool WaitExit(pid_t pid, Clock::time_point deadline, int* status) {
  while (true) {
    const pid_t done = ::waitpid(pid, status, WNOHANG);
    if (done == pid || (done < 0 && errno == ECHILD)) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kPoll);
  }
}

uint16_t PickFreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  const bool found = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
                     ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  if (fd >= 0) ::close(fd);
  if (!found) throw std::runtime_error("cannot find a free port on 127.0.0.1");
  return ntohs(addr.sin_port);
}

// The file's content, or "" when it cannot be read (not written yet).
std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

// Whether the postmaster `pid` accepts connections, as it says in postmaster.pid (where pg_ctl
// looks): its pid on line 1 and "ready" on line 8, written once its sockets listen. This, unlike
// a connection to the port, cannot be fooled by another server that took the port first.
bool PostmasterReady(const std::string& data, pid_t pid) {
  std::istringstream in(ReadFile(data + "/postmaster.pid"));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines.size() >= 8 && lines[0] == std::to_string(pid) && lines[7].rfind("ready", 0) == 0;
}

// Every live process whose working directory is `dir`. A PostgreSQL server's processes all work
// in its data directory, and each of the postmaster's children calls setsid(): they are in no
// process group of the postmaster's, and this is how they are found. Zombies have no working
// directory and are not listed.
std::vector<pid_t> ProcessesWorkingIn(const std::string& dir) {
  std::vector<pid_t> pids;
  std::error_code ec;
  const std::filesystem::path wanted = std::filesystem::canonical(dir, ec);
  if (ec) return pids;
  for (std::filesystem::directory_iterator it("/proc", ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() ||
        !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    std::error_code unreadable;
    const auto cwd = std::filesystem::read_symlink(it->path() / "cwd", unreadable);
    if (!unreadable && cwd == wanted) pids.push_back(std::stoi(name));
  }
  return pids;
}

// Letters, digits and '_': a name that goes into SQL, a setting and a connection string as is.
bool IsPlainName(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// The database name of a Url() ("postgresql://...:PORT/NAME"), or `database` itself.
std::string DatabaseName(const std::string& database) {
  if (database.rfind("postgresql://", 0) != 0) return database;
  std::string name = database.substr(database.rfind('/') + 1);
  return name.substr(0, name.find('?'));
}

using Connection = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

// Waits until `conn` can hand over its next result without blocking; false at the deadline.
bool AwaitResult(PGconn* conn, Clock::time_point deadline) {
  while (PQisBusy(conn)) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd fd{PQsocket(conn), POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) return true;
    if (!PQconsumeInput(conn)) return true;  // PQgetResult reports the broken connection
  }
  return true;
}

void Cancel(PGconn* conn) {
  std::unique_ptr<PGcancel, decltype(&PQfreeCancel)> cancel(PQgetCancel(conn), &PQfreeCancel);
  char ignored[256];
  if (cancel) PQcancel(cancel.get(), ignored, sizeof(ignored));
}

// While it lives, this process is a child subreaper (PR_SET_CHILD_SUBREAPER), as it was or not
// before.
class ChildSubreaper {
 public:
  ChildSubreaper() {
    ::prctl(PR_GET_CHILD_SUBREAPER, &was_);
    if (!was_) ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  }
  ~ChildSubreaper() {
    if (!was_) ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  }
  ChildSubreaper(const ChildSubreaper&) = delete;
  ChildSubreaper& operator=(const ChildSubreaper&) = delete;

 private:
  int was_ = 0;
};

// Reaps those of the killed `pids` that this process adopted when their parent, the postmaster,
// died (it has been reaped, so they have been handed over). The others (ECHILD) are not its to
// reap. A killed process is reaped as soon as it has finished exiting; the deadline is in case
// the kernel holds one up.
void ReapAdopted(const std::vector<pid_t>& pids, Clock::time_point deadline) {
  for (const pid_t pid : pids) {
    int status;
    while (::waitpid(pid, &status, WNOHANG) == 0 && Clock::now() < deadline) {
      std::this_thread::sleep_for(kPoll);
    }
  }
}

}  // namespace

PostgresServer::PostgresServer(Options options)
    : PostgresServer(EmptyDirectory{}, std::move(options)) {
  InitDb();
  Start({});
}

PostgresServer::PostgresServer(EmptyDirectory, Options options)
    : options_(std::move(options)), owner_(::getpid()) {
  if (!options_.synchronous_standby.empty() && !IsPlainName(options_.synchronous_standby)) {
    throw std::runtime_error("synchronous_standby must be letters, digits and '_': " +
                             options_.synchronous_standby);
  }
  const Account account = ServerAccount();
  std::string dir = (std::filesystem::temp_directory_path() / "shiplog-postgres-XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) throw std::runtime_error("cannot create " + dir);
  if (account.switch_user && ::chown(dir.c_str(), account.uid, account.gid) != 0) {
    std::filesystem::remove_all(dir);
    throw std::runtime_error("cannot give " + dir + " to the postgres user");
  }
  dir_ = dir;
  data_ = dir_ + "/data";
  log_ = dir_ + "/log";
}

PostgresServer::~PostgresServer() {
  if (::getpid() != owner_) return;  // a forked child of the test: the server is not its own
  if (postmaster_ > 0) {
    // SIGQUIT is PostgreSQL's immediate shutdown: the postmaster ends its children and exits.
    ::kill(postmaster_, SIGQUIT);
    int status;
    if (WaitExit(postmaster_, Clock::now() + kDeadline, &status)) postmaster_ = 0;
  }
  try {
    Kill();  // what SIGQUIT did not end, if anything
  } catch (const std::exception&) {
    // Processes that outlive SIGKILL for a minute: nothing more to do from here.
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

PostgresServer& PostgresServer::Shared() {
  static PostgresServer server;
  return server;
}

std::string PostgresServer::Url(const std::string& database) const {
  return "postgresql://shiplog@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string PostgresServer::CreateDatabase(const std::string& prefix) {
  const std::string name = prefix + "_" + std::to_string(++databases_);
  if (!IsPlainName(prefix) || name.size() > 63) {
    throw std::runtime_error("a database prefix is at most 50 letters, digits and '_': " + prefix);
  }
  Query("postgres", "CREATE DATABASE \"" + name + "\"");
  return Url(name);
}

std::string PostgresServer::Query(const std::string& database, const std::string& sql) const {
  const std::string name = DatabaseName(database);
  const std::string port = std::to_string(port_);
  const char* const keys[] = {"host", "port", "user", "dbname", "connect_timeout", nullptr};
  const char* const values[] = {"127.0.0.1", port.c_str(), "shiplog", name.c_str(), "10", nullptr};
  Connection conn(PQconnectdbParams(keys, values, 0), &PQfinish);
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error("cannot connect to " + Url(name) + ": " +
                             (conn ? PQerrorMessage(conn.get()) : "out of memory"));
  }
  if (!PQsendQuery(conn.get(), sql.c_str())) {
    throw std::runtime_error(Url(name) + ": cannot send: " + PQerrorMessage(conn.get()));
  }
  const auto deadline = Clock::now() + kDeadline;
  std::string value;
  std::string error;
  while (true) {
    if (!AwaitResult(conn.get(), deadline)) {
      Cancel(conn.get());
      throw std::runtime_error(Url(name) + ": no answer within 60 s (cancelled) to: " + sql);
    }
    const Result result(PQgetResult(conn.get()), &PQclear);
    if (!result) break;
    const ExecStatusType status = PQresultStatus(result.get());
    if (status == PGRES_TUPLES_OK) {
      const bool any = PQntuples(result.get()) > 0 && PQnfields(result.get()) > 0;
      value = any ? PQgetvalue(result.get(), 0, 0) : "";
    } else if (status == PGRES_COMMAND_OK || status == PGRES_EMPTY_QUERY) {
      value = "";
    } else if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) {
      throw std::runtime_error(Url(name) + ": COPY is not for Query(): " + sql);
    } else if (error.empty()) {
      error = PQresultErrorMessage(result.get());
    }
  }
  if (!error.empty()) throw std::runtime_error(Url(name) + ": " + error + "in: " + sql);
  return value;
}

std::unique_ptr<PostgresServer> PostgresServer::StartStandby(const std::string& name) {
  if (!IsPlainName(name)) {
    throw std::runtime_error("a standby's name is letters, digits and '_': " + name);
  }
  std::unique_ptr<PostgresServer> standby(new PostgresServer(EmptyDirectory{}, Options{}));
  const std::string conninfo =
      "host=127.0.0.1 port=" + std::to_string(port_) + " user=shiplog application_name=" + name;
  // --write-recovery-conf: standby.signal, and primary_conninfo in postgresql.auto.conf. The
  // standby's command line names primary_conninfo again, so that its application_name is
  // certain. --wal-method=stream: the WAL written during the copy comes with it.
  standby->RunTool({kBin + "/pg_basebackup", "--pgdata=" + standby->data_, "--dbname=" + conninfo,
                    "--write-recovery-conf", "--wal-method=stream", "--checkpoint=fast",
                    "--no-sync"});
  standby->Start({"primary_conninfo=" + conninfo});
  const std::string where = " FROM pg_stat_replication WHERE application_name = '" + name + "'";
  if (name == options_.synchronous_standby) {
    AwaitQuery("SELECT state || ' ' || sync_state" + where, "streaming sync",
               "standby " + name + " to stream as the synchronous standby");
  } else {
    AwaitQuery("SELECT state" + where, "streaming", "standby " + name + " to stream");
  }
  return standby;
}

void PostgresServer::Kill() {
  // A process whose parent dies goes to the nearest "child subreaper" above it, else to pid 1;
  // in a container pid 1 often reaps nothing, and the killed children of the postmaster would
  // stay as zombies. While it kills them, this process is a subreaper: they come to it, and it
  // reaps them.
  const ChildSubreaper adopting;
  // Stopped, the postmaster forks nothing more, and reaps nothing: until it is killed, no
  // process id of its children is given to another process.
  if (postmaster_ > 0) ::kill(postmaster_, SIGSTOP);
  const auto deadline = Clock::now() + kDeadline;
  std::vector<pid_t> killed;
  while (true) {
    const std::vector<pid_t> left = ProcessesWorkingIn(data_);
    for (const pid_t pid : left) ::kill(pid, SIGKILL);
    killed.insert(killed.end(), left.begin(), left.end());
    if (postmaster_ > 0) {
      ::kill(-postmaster_, SIGKILL);
      int status;
      if (::waitpid(postmaster_, &status, WNOHANG) == postmaster_) postmaster_ = 0;
    }
    if (left.empty() && postmaster_ == 0) break;
    if (Clock::now() >= deadline) {
      throw std::runtime_error(Failure("the server's processes outlived SIGKILL for 60 s"));
    }
    std::this_thread::sleep_for(kPoll);
  }
  ReapAdopted(killed, deadline);
}

void PostgresServer::Promote() {
  RunTool({kBin + "/pg_ctl", "promote", "--wait", "--timeout=60", "--pgdata=" + data_});
  AwaitQuery("SELECT pg_is_in_recovery()", "f", "the promoted server to accept writes");
}

std::string PostgresServer::Log() const { return ReadFile(log_); }

void PostgresServer::InitDb() {
  RunTool({kBin + "/initdb", "--pgdata=" + data_, "--username=shiplog", "--auth=trust",
           "--encoding=UTF8", "--no-locale", "--no-sync", "--no-instructions"});
  // Over initdb's, which also trusts the Unix socket and ::1. The file is the server user's
  // already; rewriting it keeps its owner.
  std::ofstream hba(data_ + "/pg_hba.conf", std::ios::trunc);
  hba << "# The shiplog test harness: anyone on 127.0.0.1, as anyone, and nothing else.\n"
         "host all all 127.0.0.1/32 trust\n"
         "host replication all 127.0.0.1/32 trust\n";
  if (!hba.flush()) throw std::runtime_error(Failure("cannot write " + data_ + "/pg_hba.conf"));
}

void PostgresServer::Start(const std::vector<std::string>& extra) {
  extra_ = extra;
  constexpr int kAttempts = 10;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    if (TryStart(PickFreePort(), extra)) return;
  }
  throw std::runtime_error(Failure("another process took each of 10 free ports before postgres"));
}

void PostgresServer::Restart() {
  if (postmaster_ != 0) return;
  if (!TryStart(port_, extra_)) {
    throw std::runtime_error(Failure("port " + std::to_string(port_) + " was taken meanwhile"));
  }
}

bool PostgresServer::TryStart(uint16_t port, const std::vector<std::string>& extra) {
  std::error_code no_log_yet;
  const auto log_size = std::filesystem::file_size(log_, no_log_yet);
  const size_t log_before = no_log_yet ? 0 : log_size;  // what earlier attempts wrote
  std::vector<std::string> settings = {
      "listen_addresses=127.0.0.1",
      "port=" + std::to_string(port),
      "unix_socket_directories=",  // TCP only: no socket file in a shared directory
      // The tests kill processes, not the machine: what the kernel holds survives a kill -9, so
      // flushing it to the disk buys nothing here but time.
      "fsync=off",
      "shared_buffers=16MB",
      "max_connections=200",
      "wal_level=replica",
      "max_wal_senders=10",
      "hot_standby=on",
  };
  if (!options_.synchronous_standby.empty()) {
    // Quoted: the name matches application_name exactly, case included.
    settings.push_back("synchronous_standby_names=\"" + options_.synchronous_standby + "\"");
    settings.push_back("synchronous_commit=on");
  }
  settings.insert(settings.end(), extra.begin(), extra.end());
  std::vector<std::string> argv = {kBin + "/postgres", "-D", data_};
  for (const std::string& setting : settings) argv.insert(argv.end(), {"-c", setting});
  postmaster_ = Spawn(argv, dir_, log_);
  port_ = port;
  const auto deadline = Clock::now() + kDeadline;
  while (!PostmasterReady(data_, postmaster_)) {
    int status;
    if (::waitpid(postmaster_, &status, WNOHANG) == postmaster_) {
      postmaster_ = 0;
      const std::string log = Log();
      if (log.find("Address already in use", log_before) != std::string::npos) {
        return false;
      }
      throw std::runtime_error(Failure("postgres exited before accepting connections"));
    }
    if (Clock::now() >= deadline) {
      const std::string failure = Failure("postgres did not accept connections within 60 s");
      Kill();
      throw std::runtime_error(failure);
    }
    std::this_thread::sleep_for(kPoll);
  }
  return true;
}

void PostgresServer::RunTool(const std::vector<std::string>& argv) const {
  const pid_t pid = Spawn(argv, dir_, log_);
  int status = 0;
  if (!WaitExit(pid, Clock::now() + kDeadline, &status)) {
    ::kill(-pid, SIGKILL);  // the tool's group: pg_basebackup streams WAL in a child
    ::waitpid(pid, &status, 0);
    throw std::runtime_error(Failure(argv[0] + " did not finish within 60 s"));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error(Failure(argv[0] + " failed"));
  }
}

void PostgresServer::AwaitQuery(const std::string& sql, const std::string& want,
                                const std::string& what) const {
  const auto deadline = Clock::now() + kDeadline;
  std::string last;
  while (true) {
    try {
      last = Query("postgres", sql);
      if (last == want) return;
    } catch (const std::runtime_error& e) {
      last = e.what();
    }
    if (Clock::now() >= deadline) {
      throw std::runtime_error(
          Failure("waited 60 s for " + what + "; `" + sql + "` last answered: " + last));
    }
    std::this_thread::sleep_for(kPoll);
  }
}

std::string PostgresServer::Failure(const std::string& what) const {
  constexpr size_t kTail = 16000;
  const std::string log = Log();
  const size_t from = log.size() > kTail ? log.size() - kTail : 0;
  return what + "\n--- " + log_ + (from > 0 ? " (its end)" : "") + " ---\n" + log.substr(from);
}

}  // namespace shiplog::testing
