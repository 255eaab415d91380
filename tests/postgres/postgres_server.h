// A real PostgreSQL server for tests: Debian's `postgres` (SHIPLOG_POSTGRES_BIN, by default
// /usr/lib/postgresql/15/bin) on a fresh cluster in a temporary directory, reached over TCP on
// 127.0.0.1 only. A streaming standby and a kill -9 of the primary let a test lose a machine.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace shiplog::testing {

// A PostgreSQL server from Debian's postgresql package, started for a test and gone with this
// object (its processes and its directory). PostgreSQL refuses to run as root, so when the test
// runs as root every PostgreSQL process (initdb, postgres, pg_basebackup, pg_ctl) runs as the
// `postgres` system user; otherwise as the current user.
//
// The server's processes get PR_SET_PDEATHSIG (SIGQUIT): they stop by themselves if the test
// process dies. The kernel sends that signal when the *thread* that started them exits, so create
// a PostgresServer (and call Shared() and StartStandby() first) on a thread that lives as long as
// the object does, such as the test's main thread.
//
// port(), Url(), CreateDatabase(), Query() and Log() may be called from any thread; the rest from
// the thread that created the object. Not copyable or movable.
class PostgresServer {
 public:
  struct Options {
    // Name a standby will connect under; when set, this server waits for that standby on every
    // commit (synchronous_standby_names = '"NAME"', synchronous_commit = on), so nothing commits
    // until StartStandby(NAME) has run. Letters, digits and '_' only.
    std::string synchronous_standby;
  };

  // initdb into a fresh temporary directory (trust authentication on 127.0.0.1 only, superuser
  // "shiplog"), then starts `postgres` on 127.0.0.1 at a free port (another one when the port
  // is taken before the server binds it), with no Unix socket, and waits until it accepts
  // connections. Throws std::runtime_error with the server's log on failure.
  explicit PostgresServer(Options options = {});
  // Stops the server immediately (SIGQUIT to the postmaster, waited for; Kill() when it does not
  // stop within the deadline) and removes the directory.
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // One server for the whole test process, started on first use and stopped at exit. (Under
  // ctest each test is a process of its own, so each starts one.)
  static PostgresServer& Shared();

  uint16_t port() const { return port_; }
  // "postgresql://shiplog@127.0.0.1:PORT/DATABASE"
  std::string Url(const std::string& database) const;
  // Creates a new, empty database named `prefix` (letters, digits, '_') and a number unique in
  // this server, and returns its Url().
  std::string CreateDatabase(const std::string& prefix = "shiplog");
  // Runs `sql` (one or more statements) on `database` through libpq and returns the first column
  // of the first row of the last statement's result ("" when none). `database` is a name or a
  // Url(); of a Url only the database name is taken, so the Url of a database made on a primary
  // reaches the same database on its standby. Throws std::runtime_error on a failed connection,
  // an SQL error, or no answer within 60 s (the query is cancelled).
  std::string Query(const std::string& database, const std::string& sql) const;

  // A streaming-replication standby of this server: pg_basebackup -R -X stream from it into a new
  // directory, started on its own port with application_name `name` (letters, digits, '_') in
  // primary_conninfo. Returns once the standby is streaming: pg_stat_replication on this server
  // shows `name` in state 'streaming', and with sync_state 'sync' when `name` is
  // Options::synchronous_standby. The standby is a hot standby: it answers reads.
  std::unique_ptr<PostgresServer> StartStandby(const std::string& name);
  // kill -9 of every process of this server, as when its machine is lost: the postmaster is
  // stopped (SIGSTOP) so it starts nothing more, then it and every process working in its data
  // directory get SIGKILL (its children are in process groups of their own: each calls setsid).
  // Returns when they are all gone, reaped by this process rather than left as zombies. The
  // directory stays. A no-op when the server is not running.
  void Kill();
  // Starts a Kill()ed server again from its data directory, with the settings it first had, on
  // its old port (so the URLs naming it stay right): a standby comes back as a standby, having
  // missed what its primary committed meanwhile. Throws when that port was taken meanwhile. A
  // no-op when the server is running.
  void Restart();
  // Promotes a standby to primary (pg_ctl promote -w) and waits until it accepts writes
  // (pg_is_in_recovery() is false). Everything the standby received is replayed first.
  void Promote();
  // The server's log: what postgres, and initdb, pg_basebackup and pg_ctl for it, wrote to
  // stderr. For failure messages.
  std::string Log() const;

 private:
  // A server with nothing yet but its empty temporary directory (owned by the server's user).
  // The public constructor goes on with initdb and Start(), StartStandby() with pg_basebackup;
  // when they throw, the object is whole, so its destructor cleans up.
  struct EmptyDirectory {};
  PostgresServer(EmptyDirectory, Options options);

  // initdb, and a pg_hba.conf that trusts 127.0.0.1 and nothing else.
  void InitDb();
  // Starts `postgres` with the settings for tests and `extra` -c settings, on a free port, and
  // waits until it accepts connections.
  void Start(const std::vector<std::string>& extra);
  // One attempt of Start() at `port`; false when that port was taken.
  bool TryStart(uint16_t port, const std::vector<std::string>& extra);
  // Runs a PostgreSQL program (initdb, pg_basebackup, pg_ctl) as the server's user, its output
  // in the log, and waits for it; throws with the log when it fails or outlives the deadline.
  void RunTool(const std::vector<std::string>& argv) const;
  // Polls `sql` on the "postgres" database until it returns `want`; throws with the log after
  // the deadline.
  void AwaitQuery(const std::string& sql, const std::string& want, const std::string& what) const;
  std::string Failure(const std::string& what) const;  // `what`, then the log's tail

  const Options options_;
  const pid_t owner_;  // the process that made this object; a forked child leaves it alone
  std::string dir_;    // the temporary directory: data/ and log
  std::string data_;   // the data directory
  std::string log_;    // the log file
  std::vector<std::string> extra_;  // Start()'s settings, for Restart()
  uint16_t port_ = 0;
  pid_t postmaster_ = 0;                // 0 when not running
  std::atomic<unsigned> databases_{0};  // CreateDatabase's counter
};

}  // namespace shiplog::testing
