// Shared pieces of the `shiplog` command: how results become output and exit codes, and how each
// group of subcommands is registered.
//
// Contract (DESIGN.md): machine output is JSON on stdout (one object, or JSON lines for streams);
// errors go to stderr as "shiplog: <message>"; exit codes are 0 ok, 1 internal error, 2 bad input,
// 3 denied by policy, 4 verification failed.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "ledger/checkpoint.h"
#include "ledger/clock.h"
#include "ledger/ledger.h"
#include "ledger/status.h"
#include "policy/policy_gate.h"

namespace shiplog::cli {

struct ServerAnswer;  // tools/shiplog/server_client.h

enum ExitCode : int {
  kExitOk = 0,
  kExitInternal = 1,
  kExitBadInput = 2,
  kExitDenied = 3,
  kExitVerifyFailed = 4,
};

int ExitCodeFor(const Status& status);

// Prints "shiplog: <message>" to stderr and returns the status's exit code.
int Fail(const Status& status);

// One JSON object on one line of stdout.
void PrintJson(const nlohmann::json& json);

// What every subcommand is handed: the one real clock, wired here and nowhere else, and the
// policy engine that judges appends.
struct Context {
  SystemClock clock;
  policy::PolicyGate gate;
};

// A subcommand's work, run after the command line parsed; returns the exit code.
using Action = std::function<int()>;

// Reads a file, or stdin for "-", refusing more than `max_bytes`.
Result<std::string> ReadInput(const std::string& path, size_t max_bytes);
// ReadInput() parsed as JSON; a syntax error names the file and the byte.
Result<nlohmann::json> ReadJsonInput(const std::string& path, size_t max_bytes);
// A checkpoint file given as `option`: its signed note, or the JSON `shiplog checkpoint` prints;
// errors name the option and the file (kBadSignature when it is not signed by `ledger_key`).
Result<Checkpoint> ReadCheckpointFile(const std::string& path, std::string_view ledger_key,
                                      const std::string& option);

// Writes `text` to `path` whole or not at all: into path.tmp, synced, then renamed over `path`
// (so a reader never sees half a file, and an old file stays until the new one is complete). A
// file or link already at path.tmp is never followed: kInvalidArgument naming it
// (ledger/atomic_file.h).
Status WriteWhole(const std::string& path, const std::string& text);

// Adds --data DIR (required) to `command`, bound to `dir`.
void AddDataOption(CLI::App* command, std::string& dir);

// Each registers its subcommands; the chosen one's work is stored into `action`.
void AddLedgerCommands(CLI::App& app, Context& context, Action& action);  // init verify clock
void AddKeyCommands(CLI::App& app, Context& context, Action& action);     // keygen enroll revoke
void AddEventCommands(CLI::App& app, Context& context, Action& action);   // sign append query
void AddPolicyCommands(CLI::App& app, Context& context, Action& action);  // policy lint|show
// checkpoint, proof inclusion|consistency, verify-proof
void AddProofCommands(CLI::App& app, Context& context, Action& action);
void AddBundleCommands(CLI::App& app, Context& context, Action& action);  // export verify-bundle
void AddReplayCommands(CLI::App& app, Context& context, Action& action);    // replay
void AddTimelineCommands(CLI::App& app, Context& context, Action& action);  // timeline
void AddDoraCommand(CLI::App& app, Context& context, Action& action);       // dora
void AddServeCommands(CLI::App& app, Context& context, Action& action);     // serve submit
void AddExecCommand(CLI::App& app, Context& context, Action& action);       // exec
void AddPinCommands(CLI::App& app, Context& context, Action& action);       // pin analysisrun
void AddAttestCommand(CLI::App& app, Context& context, Action& action);     // attest
void AddBackupCommands(CLI::App& app, Context& context, Action& action);    // backup restore

}  // namespace shiplog::cli

namespace shiplog::cli {

// Opens the ledger in `dir` with the context's clock. With `enforce`, the context's policy gate
// folds the whole log and judges every append (commands that only read skip that work).
Result<std::unique_ptr<Ledger>> OpenLedger(const std::string& dir, Context& context,
                                           bool enforce);

// Signs `event` (without actor) as the holder of `key_file`, under its enrolled name, appends it
// to the ledger in `dir` and prints the receipt; returns the exit code.
int AppendSignedBy(const std::string& dir, const std::string& key_file, Context& context,
                   nlohmann::json event);
// The same, to a ledger already open (with the context's gate).
int AppendSignedBy(Ledger& ledger, const std::string& key_file, nlohmann::json event);

// Appends and prints the receipt; a denied intent prints the decision and exits 3.
int AppendAndPrint(Ledger& ledger, const SignedEvent& signed_event);
// Prints an append's answer as AppendAndPrint does, and returns its exit code.
int PrintAppended(const Result<Receipt>& receipt);

// Prints a server's answer to a submission as `shiplog submit` does: a receipt (exit 0), a
// denial's decision (exit 3), or the server's error on stderr (exit 2 for a 4xx, 1 for a 5xx).
int PrintServerAnswer(const ServerAnswer& answer);

}  // namespace shiplog::cli

namespace shiplog::cli {

// Reads and parses a policy file; the default pack for an empty `path`.
Result<policy::ParseResult> ReadPolicy(const std::string& path);

// Every error on stderr ("FILE:LINE:COL: message", the form editors jump to) and as JSON on
// stdout; returns the bad-input exit code.
int ReportPolicyErrors(const std::vector<policy::PolicyError>& found);

}  // namespace shiplog::cli
