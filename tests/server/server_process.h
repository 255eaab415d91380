// The real `shiplog serve` in a child process, for the server's integration tests: a fresh
// ledger in a scratch directory with enrolled agents, the server started on a loopback port the
// test picks, and plain HTTP calls to it (or HTTPS: StartTls). The child is killed if the test
// forgets to stop it.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "adapters/http_client.h"
#include "tests/cli/process.h"

namespace shiplog::testing {

// What StartTls serves with, and what this side's calls use to reach it.
struct TlsSetup {
  std::string cert;         // --tls-cert
  std::string key;          // --tls-key
  std::string client_ca;    // --tls-client-ca; "" for none
  std::string ca;           // the CA this side trusts
  std::string client_cert;  // this side's client certificate (with client_key), for mTLS
  std::string client_key;
};

class ServerProcess {
 public:
  // Creates the ledger (manual clock unless `real_clock`) and a key per agent, enrolled with its
  // roles; the server is not started yet. The records go to the PostgreSQL database at `store`
  // when given, else to the suite's store (tests/postgres/test_store.h).
  explicit ServerProcess(const std::map<std::string, std::vector<std::string>>& agents = {},
                         bool real_clock = false, const std::string& store = "");
  // Another server over the ledger of `first`, whose records are in a PostgreSQL database: a home
  // of its own attached to that database (`shiplog init --store URL --ledger-key`) by `store`
  // (first's URL when empty: a list of hosts, say), with copies of first's admin and agent keys.
  // Not started yet.
  static std::unique_ptr<ServerProcess> OverSameLedger(const ServerProcess& first,
                                                       const std::string& store = "");
  ~ServerProcess();  // Kill() when still running
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts `shiplog serve` on a free 127.0.0.1 port with `extra` options and waits until
  // /readyz answers 200 (a port taken in between: it picks another).
  void Start(const std::vector<std::string>& extra = {});
  // The same over TLS (--listen with `tls`'s files); url(), Get() and Post() go over https.
  void StartTls(const TlsSetup& tls, const std::vector<std::string>& extra = {});
  // Sends `signal` and waits for the exit; returns the exit code (-1: killed by a signal).
  int Stop(int signal = 15 /* SIGTERM */);
  void Kill();  // SIGKILL, no waiting for anything but the process to be gone
  void Signal(int signal) const;  // sends it, waits for nothing (SIGHUP: reload the certificate)
  bool running() const { return pid_ > 0; }

  std::string data() const { return dir_ / "data"; }
  std::string key(const std::string& agent) const { return dir_ / (agent + ".key"); }
  std::string url() const {
    return (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_);
  }
  uint16_t port() const { return port_; }
  const std::string& log_path() const { return log_; }
  std::string Log() const;  // what the server wrote to stderr/stdout so far

  // One request on a fresh connection. Reads are signed (RFC 9421) as every client must sign
  // them: Get by the ledger's admin key (which reads everything), GetAs by `agent`'s key;
  // GetUnsigned sends none, for the public routes and the refusals.
  adapters::HttpReply Get(const std::string& target) const;
  adapters::HttpReply GetAs(const std::string& agent, const std::string& target) const;
  adapters::HttpReply GetUnsigned(const std::string& target) const;
  // The headers (Date, Signature-Input, Signature) of a GET of `target` signed by the admin's
  // key now with a fresh nonce, for a test that writes its request on a raw socket.
  // `key_file`: another signer's key file than the admin's.
  std::vector<std::pair<std::string, std::string>> ReadSignature(
      const std::string& target, const std::string& key_file = "") const;
  // The key file of the ledger's admin (what Get signs with).
  std::string admin_key() const { return data() + "/admin.key"; }
  adapters::HttpReply Post(const std::string& target, const std::string& body,
                           const std::string& content_type = "application/json") const;

  // `event` (JSON, no id needed) signed by `agent` as `shiplog sign` signs: the envelope to submit.
  nlohmann::json Sign(const std::string& agent, nlohmann::json event) const;
  // Runs the shiplog binary with `args` (a CLI call against the same data directory).
  ProcessResult Shiplog(std::vector<std::string> args, const std::string& input = "") const;

 private:
  // A call to this server: over TLS with the setup's client files when StartTls started it.
  adapters::HttpCall NewCall() const;
  adapters::ServerUrl Url() const;
  adapters::HttpReply SignedGet(const std::string& key_file, const std::string& target) const;
  [[noreturn]] void NoAnswer(const std::string& request, const Status& status) const;
  void Launch(const std::vector<std::string>& listen, const std::vector<std::string>& extra);

  struct Attached {};
  ServerProcess(Attached) {}
  std::vector<std::string> agents_;  // whose keys key() names

  bool tls_ = false;
  TlsSetup tls_setup_;
  ScratchDir dir_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string log_;
};

// A port no one listens on now: bound to 127.0.0.1:0 and released.
uint16_t PickFreePort();

}  // namespace shiplog::testing
