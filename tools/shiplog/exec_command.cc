// shiplog exec: an agent wraps its action in the ledger's decision. It submits the step.started
// intent, runs the command only when the policy allows it, and reports how the command ended as
// step.reported (READY on exit 0, FAILED otherwise), against a server or a local ledger.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>

#include "ledger/key_file.h"
#include "ledger/terminal_text.h"
#include "tools/shiplog/child_process.h"
#include "tools/shiplog/cli.h"
#include "tools/shiplog/server_client.h"

namespace shiplog::cli {
namespace {

using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr char kDefaultReportRetry[] = "10m";
constexpr milliseconds kFirstBackoff{250};
constexpr milliseconds kMaxBackoff{5000};
constexpr milliseconds kStartTimeout{30000};
constexpr milliseconds kReportAttemptTimeout{10000};

struct ExecArgs {
  ServerTarget server;
  std::string dir;
  std::string key;
  std::string deployment;
  std::string step;
  std::string image;
  std::string report_retry = kDefaultReportRetry;
  std::vector<std::string> command;
};

// What the ledger made of one submitted event.
struct Submitted {
  bool denied = false;
  uint64_t seq = 0;        // the event's, or for a denied intent its policy.denied record's
  bool duplicate = false;  // a retry of an event already stored
  json decision;           // a denied intent's decision
};

// Where exec's events go. A kInternal error (an unreachable server, a ledger in use by another
// process, a server not ready) may pass: the report is retried on it. Any other is final.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // The name `key` is enrolled under: the actor of the events it signs.
  virtual Result<std::string> ActorOf(const SigningKey& key) = 0;
  // `timeout` bounds one attempt where the sink can wait (on a server).
  virtual Result<Submitted> Submit(const SignedEvent& event, milliseconds timeout) = 0;
  // Lets go of what other writers need while the command runs (the ledger's lock).
  virtual void Release() {}
};

// A ledger directory, opened as `append` opens it (the policy judges each append).
class LedgerSink : public EventSink {
 public:
  LedgerSink(std::string dir, Context& context) : dir_(std::move(dir)), context_(context) {}

  Result<std::string> ActorOf(const SigningKey& key) override {
    SHIPLOG_ASSIGN_OR_RETURN(Ledger * ledger, Opened());
    return ledger->EnrolledName(key);
  }

  Result<Submitted> Submit(const SignedEvent& event, milliseconds) override {
    SHIPLOG_ASSIGN_OR_RETURN(Ledger * ledger, Opened());
    SHIPLOG_ASSIGN_OR_RETURN(Receipt receipt, ledger->Append(event));
    Submitted out{receipt.denied, receipt.seq, receipt.duplicate, json()};
    if (receipt.denied) out.decision = ParseStoredJson(receipt.decision);
    return out;
  }

  void Release() override { ledger_.reset(); }

 private:
  Result<Ledger*> Opened() {
    if (!ledger_) {
      SHIPLOG_ASSIGN_OR_RETURN(ledger_, OpenLedger(dir_, context_, /*enforce=*/true));
    }
    return ledger_.get();
  }

  std::string dir_;
  Context& context_;
  std::unique_ptr<Ledger> ledger_;
};

// A sequence number in an answer from outside; 0 when it holds none.
uint64_t SeqIn(const json& object) {
  if (!object.is_object() || !object.contains("seq")) return 0;
  const json& seq = object["seq"];
  return seq.is_number_unsigned() ? seq.get<uint64_t>() : 0;
}

// `shiplog serve`, reached as `shiplog submit` reaches it.
class ServerSink : public EventSink {
 public:
  explicit ServerSink(ServerEndpoint url) : url_(std::move(url)) {}

  Result<std::string> ActorOf(const SigningKey& key) override {
    return EnrolledNameAt(url_, key);
  }

  Result<Submitted> Submit(const SignedEvent& event, milliseconds timeout) override {
    SHIPLOG_ASSIGN_OR_RETURN(ServerAnswer answer, PostSignedEvent(url_, event.ToJson(), timeout));
    if (answer.status == 200) {
      const bool duplicate = answer.body.is_object() && answer.body.contains("duplicate") &&
                             answer.body["duplicate"] == true;
      return Submitted{false, SeqIn(answer.body), duplicate, json()};
    }
    if (auto message = answer.ErrorMessage()) {
      std::string what = *message + " (HTTP " + std::to_string(answer.status) + ")";
      // 5xx: not ready, shutting down, overloaded, a broken disk; 429: this key's rate limit
      // (README "Rate limits"): worth another try.
      const bool again = answer.status >= 500 || answer.status == 429;
      return again ? Status::Internal(what) : Status::InvalidArgument(what);
    }
    if (answer.status == 403 && answer.body.is_object() && answer.body.contains("reasons")) {
      return Submitted{true, SeqIn(answer.body.value("denial_receipt", json())), false,
                       answer.body};
    }
    constexpr size_t kQuoted = 200;  // of an answer that may be anything, and long
    return Status::Internal("unexpected answer (HTTP " + std::to_string(answer.status) +
                            "): " + answer.text.substr(0, kQuoted));
  }

 private:
  ServerEndpoint url_;
};

Result<std::unique_ptr<EventSink>> SinkFor(const ExecArgs& args, Context& context) {
  if (args.server.url.empty() == args.dir.empty()) {
    return Status::InvalidArgument(
        "say where to record the step: --server URL (shiplog serve) or --data DIR (a local "
        "ledger), one of them");
  }
  if (!args.dir.empty()) return std::unique_ptr<EventSink>(new LedgerSink(args.dir, context));
  SHIPLOG_ASSIGN_OR_RETURN(ServerEndpoint url, ResolveServer(args.server));
  return std::unique_ptr<EventSink>(new ServerSink(std::move(url)));
}

// The step's event, signed as `actor`, with a fresh id.
Result<SignedEvent> StepEvent(const ExecArgs& args, const SigningKey& key, const std::string& actor,
                              json fields) {
  fields["deployment"] = args.deployment;
  fields["actor"] = actor;
  fields["step"] = args.step;
  if (!args.image.empty()) fields["image"] = args.image;
  return SignedEvent::SignJson(std::move(fields), key);
}

// A string member of a decision (which may come from a server: outside text); "" when absent.
std::string StringIn(const json& object, const char* name) {
  if (!object.is_object() || !object.contains(name) || !object[name].is_string()) return "";
  return object[name].get<std::string>();
}

void PrintDenial(const std::string& step, const Submitted& denial) {
  std::cerr << "shiplog exec: step.started " << TerminalText(step)
            << " denied by policy; the command was not run:\n";
  const json reasons =
      denial.decision.is_object() ? denial.decision.value("reasons", json()) : json();
  for (const json& reason : reasons.is_array() ? reasons : json::array()) {
    std::cerr << "  " << TerminalText(StringIn(reason, "rule") + " " + StringIn(reason, "name"))
              << ": " << TerminalText(StringIn(reason, "message")) << "\n";
  }
  std::cerr << "shiplog exec: the attempt is recorded as seq " << denial.seq << "\n";
}

std::string Seconds(milliseconds wait) {
  return std::to_string(wait.count() / 1000) + "." + std::to_string(wait.count() % 1000 / 100) +
         "s";
}

// Submits the report until it lands, a final refusal, the window's end or a stop signal, saying
// so loudly on stderr on each failed attempt. The same signed bytes every time, so an attempt
// that was stored but whose answer was lost comes back as a duplicate, never as a second report.
bool DeliverReport(EventSink& sink, const SignedEvent& report, const std::string& what,
                   milliseconds window, SignalForwarder& signals) {
  const auto deadline = SteadyClock::now() + window;
  milliseconds backoff = kFirstBackoff;
  for (int attempt = 1;; ++attempt) {
    auto submitted = sink.Submit(report, kReportAttemptTimeout);
    sink.Release();
    if (submitted.ok()) {
      std::cerr << "shiplog exec: " << what << " recorded (seq " << submitted->seq
                << (submitted->duplicate ? ", already stored by an earlier attempt" : "") << ")\n";
      return true;
    }
    const std::string problem = TerminalText(submitted.status().message());
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now());
    if (submitted.status().code() != StatusCode::kInternal || left.count() <= 0) {
      std::cerr << "shiplog exec: ERROR: " << what << " was NOT recorded after " << attempt
                << " attempt(s): " << problem
                << "\nshiplog exec: ERROR: the ledger still shows the step as started; report "
                   "it by hand\n";
      return false;
    }
    const milliseconds wait = std::min(backoff, left);
    std::cerr << "shiplog exec: WARNING: " << what << " not delivered (attempt " << attempt
              << "): " << problem << "; retrying in " << Seconds(wait) << " (giving up in "
              << Seconds(left) << ")\n";
    if (int stop = signals.WaitForStopSignal(wait)) {
      std::cerr << "shiplog exec: ERROR: " << SignalName(stop) << " while retrying; " << what
                << " was NOT recorded\n";
      return false;
    }
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

// Who signs exec's events and where they go, settled before anything is submitted.
struct Agent {
  SigningKey key;
  std::string actor;  // the key's enrolled name
  std::unique_ptr<EventSink> sink;
};

Result<Agent> AgentFor(const ExecArgs& args, Context& context) {
  SHIPLOG_ASSIGN_OR_RETURN(std::unique_ptr<EventSink> sink, SinkFor(args, context));
  SHIPLOG_ASSIGN_OR_RETURN(SigningKey key, ReadKeyFile(args.key));
  SHIPLOG_ASSIGN_OR_RETURN(std::string actor, sink->ActorOf(key));
  return Agent{std::move(key), std::move(actor), std::move(sink)};
}

// Submits step.started. nullopt: allowed, run the command; otherwise the exit code (3 denied).
std::optional<int> RefusedStart(const ExecArgs& args, Agent& agent) {
  auto started = StepEvent(args, agent.key, agent.actor, {{"kind", "step.started"}});
  if (!started.ok()) return Fail(started.status());
  auto allowed = agent.sink->Submit(*started, kStartTimeout);
  if (!allowed.ok()) return Fail(allowed.status());
  if (allowed->denied) {
    PrintDenial(args.step, *allowed);
    return kExitDenied;
  }
  std::cerr << "shiplog exec: step.started " << TerminalText(args.step) << " allowed (seq "
            << allowed->seq << "); running " << TerminalText(args.command[0]) << "\n";
  agent.sink->Release();
  return std::nullopt;
}

// Reports how the command ended; returns exec's exit code: the command's, or 1 when a command
// that succeeded could not be reported.
int ReportOutcome(const ExecArgs& args, Agent& agent, const ChildOutcome& outcome,
                  milliseconds window, SignalForwarder& signals) {
  const std::string status = outcome.succeeded() ? "READY" : "FAILED";
  std::cerr << "shiplog exec: " << TerminalText(args.command[0]) << ": " << outcome.Description()
            << "\n";
  auto report = StepEvent(
      args, agent.key, agent.actor,
      {{"kind", "step.reported"}, {"status", status}, {"details", outcome.Description()}});
  const int code = outcome.ShellExitCode();
  if (!report.ok()) {  // not expected: its step.started, with the same fields, was accepted
    Fail(report.status());
    return code != 0 ? code : kExitInternal;
  }
  const bool delivered =
      DeliverReport(*agent.sink, *report, "step.reported " + status, window, signals);
  return delivered || code != 0 ? code : kExitInternal;
}

int RunExec(const ExecArgs& args, Context& context) {
  SignalForwarder signals;  // first: before the ledger starts RocksDB's threads
  auto window = ParseDuration(args.report_retry);
  if (!window.ok()) return Fail(window.status().Prefixed("--report-retry"));
  auto agent = AgentFor(args, context);
  if (!agent.ok()) return Fail(agent.status());
  if (std::optional<int> refused = RefusedStart(args, *agent)) return *refused;
  const ChildOutcome outcome = signals.Run(args.command);
  return ReportOutcome(args, *agent, outcome,
                       std::chrono::duration_cast<milliseconds>(std::chrono::microseconds(*window)),
                       signals);
}

}  // namespace

void AddExecCommand(CLI::App& app, Context& context, Action& action) {
  auto args = std::make_shared<ExecArgs>();
  auto* exec = app.add_subcommand(
      "exec",
      "Run COMMAND as a deployment step the policy allows: submit step.started (signed with\n"
      "--key), and when it is denied print the reasons and exit 3 without running anything;\n"
      "otherwise run COMMAND (no shell; stdio passed through; SIGTERM, SIGINT, SIGHUP, SIGQUIT,\n"
      "SIGUSR1/2 forwarded), report step.reported READY on exit 0 or FAILED with the exit code or\n"
      "signal, and exit with COMMAND's code (128+N for signal N, 127 when it cannot be started).\n"
      "Receipts go to stderr; stdout is COMMAND's. A report that cannot be delivered is retried\n"
      "with backoff for --report-retry, then exec exits 1 (or COMMAND's non-zero code).");
  AddServerOptions(exec, &args->server, "--server",
                   "The server's URL, e.g. https://shiplog.internal:7478 (or --data)");
  exec->add_option("--data", args->dir, "A local ledger's directory (or --server)");
  exec->add_option("--key", args->key, "The agent's key file; the actor is its enrolled name")
      ->required();
  exec->add_option("--deployment", args->deployment, "The deployment")->required();
  exec->add_option("--step", args->step, "The step COMMAND performs (e.g. production)")->required();
  exec->add_option("--image", args->image, "The image (repo@sha256:...) the step applies");
  exec->add_option("--report-retry", args->report_retry,
                   "How long to keep retrying the report when it cannot be delivered (15s, 10m)")
      ->capture_default_str();
  exec->add_option("command", args->command, "-- COMMAND ARGS...: what to run")->required();
  exec->callback(
      [&action, &context, args] { action = [&context, args] { return RunExec(*args, context); }; });
}

}  // namespace shiplog::cli
