// shiplog export | verify-bundle
#include <sys/stat.h>

#include <iostream>
#include <optional>

#include "adapters/http.h"
#include "ledger/bundle.h"
#include "ledger/key_file.h"
#include "ledger/terminal_text.h"
#include "tools/shiplog/cli.h"
#include "tools/shiplog/read_client.h"

namespace shiplog::cli {
namespace {

// A bundle carries whole policy files in its records; this bounds what verify-bundle reads.
constexpr size_t kMaxBundleBytes = size_t{256} << 20;

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

struct ExportArgs {
  ReadSource source;
  std::string deployment;
  std::string out;
  std::string since;
  bool force = false;
};

// What `export` prints: where the bundle went and what it holds. The checkpoint is read with the
// key the bundle names: this is a summary, not the audit (verify-bundle takes the key from the
// auditor).
Result<nlohmann::json> ExportSummary(const std::string& out, const nlohmann::json& bundle) {
  uint64_t deployment = 0, key = 0, policy = 0;
  for (const auto& record : bundle["records"]) {
    for (const auto& reason : record["included_as"]) {
      deployment += reason == "deployment";
      key += reason == "key";
      policy += reason == "policy";
    }
  }
  SHIPLOG_ASSIGN_OR_RETURN(std::string ledger_key,
                           HexDecode(bundle.value("ledger_key", std::string())));
  SHIPLOG_ASSIGN_OR_RETURN(
      Checkpoint checkpoint,
      Checkpoint::Open(bundle.value("checkpoint", std::string()), ledger_key));
  nlohmann::json summary = {{"out", out},
                            {"deployment", bundle["deployment"]},
                            {"records", bundle["records"].size()},
                            {"deployment_records", deployment},
                            {"key_records", key},
                            {"policy_records", policy},
                            {"checkpoint_size", checkpoint.head.size},
                            {"ledger_key", bundle["ledger_key"]}};
  if (bundle.contains("consistency")) summary["since_size"] = bundle["consistency"]["from"];
  return summary;
}

// The bundle made here (--data) or by the server (--server: it checks --since against its key).
Result<nlohmann::json> MakeBundle(const ExportArgs& args, Context& context) {
  if (args.source.dir.empty()) {
    std::string target = "/v1/deployments/" + adapters::PercentEncode(args.deployment) + "/bundle";
    if (!args.since.empty()) {
      constexpr size_t kMaxCheckpointFileBytes = 64 * 1024;
      auto kept = ReadInput(args.since, kMaxCheckpointFileBytes);
      if (!kept.ok()) return kept.status().Prefixed("--since");
      target += "?since=" + adapters::PercentEncode(*kept);
    }
    return ReadServerJson(args.source, target);
  }
  SHIPLOG_ASSIGN_OR_RETURN(auto ledger, OpenLedger(args.source.dir, context, /*enforce=*/false));
  std::optional<Checkpoint> since;
  if (!args.since.empty()) {
    SHIPLOG_ASSIGN_OR_RETURN(since, ReadCheckpointFile(args.since, ledger->public_key(), "--since"));
  }
  return ExportBundle(*ledger, args.deployment, since);
}

int RunExport(const ExportArgs& args, Context& context) {
  Status source = CheckReadSource(args.source);
  if (!source.ok()) return Fail(source);
  if (!args.force && FileExists(args.out)) {
    return Fail(Status::InvalidArgument(args.out + " already exists (give --force to replace it)"));
  }
  auto bundle = MakeBundle(args, context);
  if (!bundle.ok()) return Fail(bundle.status());
  auto summary = ExportSummary(args.out, *bundle);
  if (!summary.ok()) return Fail(summary.status().Prefixed("the bundle"));
  const std::string text =
      bundle->dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  Status written = WriteWhole(args.out, text);
  if (!written.ok()) return Fail(written);
  PrintJson(*summary);
  return kExitOk;
}

struct VerifyBundleArgs {
  std::string file;
  std::string ledger_key;
  std::string since;
};

// The report on stdout; a failure is also named on stderr and exits 4.
int PrintReport(const BundleReport& report) {
  PrintJson(report.ToJson());
  if (report.manual_clock) {
    std::cerr
        << "shiplog: note: this bundle comes from a ledger on a manual clock (a drill or test "
           "ledger); its times are not real\n";
  }
  if (report.ok) return kExitOk;
  std::cerr << "shiplog: verification failed: " << TerminalText(report.problem) << "\n";
  return kExitVerifyFailed;
}

// A kept checkpoint that does not verify under the ledger key fails the audit (exit 4); one that
// cannot be read is bad input (exit 2).
int KeptCheckpointFailed(const Status& status) {
  if (status.code() != StatusCode::kBadSignature) return Fail(status);
  BundleReport report;
  report.ok = false;
  report.bad_checkpoint = "since";
  report.problem = status.message();
  return PrintReport(report);
}

int RunVerifyBundle(const VerifyBundleArgs& args) {
  auto key = ReadPublicKey(args.ledger_key);
  if (!key.ok()) return Fail(key.status().Prefixed("--ledger-key"));
  auto bundle = ReadJsonInput(args.file, kMaxBundleBytes);
  if (!bundle.ok()) return Fail(bundle.status());
  std::optional<Checkpoint> since;
  if (!args.since.empty()) {
    auto kept = ReadCheckpointFile(args.since, *key, "--since");
    if (!kept.ok()) return KeptCheckpointFailed(kept.status());
    since = std::move(kept).value();
  }
  auto report = VerifyBundle(*bundle, *key, since);
  if (!report.ok()) return Fail(report.status().Prefixed(args.file));
  return PrintReport(*report);
}

}  // namespace

void AddBundleCommands(CLI::App& app, Context& context, Action& action) {
  auto export_args = std::make_shared<ExportArgs>();
  auto* exp = app.add_subcommand(
      "export", "Write a deployment's audit bundle for an offline audit; prints a summary");
  exp->footer(
      "The bundle is one JSON file (format shiplog-bundle-v1) holding the deployment's records, "
      "every key and policy record before its last one (with signers' names and roles and the "
      "policy in force), the latest checkpoint and each record's inclusion proof to it. An "
      "auditor checks it with `shiplog verify-bundle FILE --ledger-key PUB`, with no access to "
      "the ledger.");
  AddReadSourceOptions(exp, export_args->source);
  exp->add_option("--deployment", export_args->deployment, "The deployment to export")->required();
  exp->add_option("--out", export_args->out,
                  "The bundle file to write (written whole through FILE.tmp, or not at all)")
      ->required();
  exp->add_option("--since", export_args->since,
                  "The checkpoint the auditor kept from the last audit (its note, or the JSON "
                  "`shiplog checkpoint` prints): adds the proof that the log only grew since");
  exp->add_flag("--force", export_args->force, "Replace the --out file when it exists");
  exp->callback([&action, &context, export_args] {
    action = [&context, export_args] { return RunExport(*export_args, context); };
  });

  auto verify_args = std::make_shared<VerifyBundleArgs>();
  auto* verify = app.add_subcommand(
      "verify-bundle",
      "Check an audit bundle offline with only the ledger's public key; prints a report");
  verify->footer(
      "Checks the checkpoint's signature; every record's inclusion proof, signature and signing "
      "authority as of its place in the log; that time never goes backwards; that record 0 is "
      "the ledger's genesis; and that every readable field says what the signed bytes say. "
      "Exit codes: 0 it verifies; 4 a check failed (named on stderr, and in the report's "
      "\"problem\"); 2 the file, key or checkpoint cannot be read.");
  verify->add_option("file", verify_args->file, "The bundle file (- for stdin)")->required();
  verify
      ->add_option("--ledger-key", verify_args->ledger_key,
                   "The ledger's public key: a .pub file (DIR/ledger.key.pub) or 64 hex characters")
      ->required();
  verify->add_option("--since", verify_args->since,
                     "The checkpoint kept from the last audit: also prove the log only grew "
                     "since then (the bundle must be exported with --since that checkpoint)");
  verify->callback(
      [&action, verify_args] { action = [verify_args] { return RunVerifyBundle(*verify_args); }; });
}

}  // namespace shiplog::cli
