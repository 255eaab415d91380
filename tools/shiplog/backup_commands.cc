// shiplog backup | restore
#include <iostream>

#include "ledger/backup.h"
#include "ledger/terminal_text.h"
#include "tools/shiplog/cli.h"

namespace shiplog::cli {
namespace {

struct BackupArgs {
  std::string data;
  std::string out;
};

struct RestoreArgs {
  std::string from;
  std::string data;
};

int RunBackup(const BackupArgs& args, Context& context) {
  auto summary = TakeBackup(args.data, args.out, &context.clock);
  if (!summary.ok()) return Fail(summary.status().Prefixed("backup of " + args.data));
  PrintJson(summary->ToJson());
  std::cerr << "shiplog: backup " << TerminalText(summary->dir) << ": " << summary->size
            << " records, root " << summary->ToJson()["root_hash"].get<std::string>() << ", "
            << summary->bytes << " bytes, verified\n";
  return kExitOk;
}

int RunRestore(const RestoreArgs& args, Context& context) {
  auto summary = RestoreBackup(args.from, args.data, &context.clock);
  if (!summary.ok()) return Fail(summary.status().Prefixed("restore of " + args.from));
  PrintJson(summary->ToJson());
  if (summary->indexes_rebuilt) {
    std::cerr << "shiplog: warning: the backup's indexes were of an older format; rebuilt them\n";
  }
  // A backup is older than the ledger it was taken from: what was acknowledged after it is gone,
  // and only the checkpoints clients hold can show how much.
  std::cerr << "shiplog: restored " << summary->size << " records into "
            << TerminalText(summary->dir)
            << "; check it against the latest checkpoint your clients hold: shiplog verify --data "
            << TerminalText(summary->dir) << " --against CHECKPOINT\n";
  return kExitOk;
}

}  // namespace

void AddBackupCommands(CLI::App& app, Context& context, Action& action) {
  auto backup_args = std::make_shared<BackupArgs>();
  auto* backup = app.add_subcommand(
      "backup",
      "Copy a ledger, while `shiplog serve` runs on it or not, into a new directory, and verify "
      "the copy in full; prints its size and root");
  AddDataOption(backup, backup_args->data);
  backup
      ->add_option("--out", backup_args->out,
                   "The backup's directory: new, or empty (the ledger key is copied into it, 0600)")
      ->required();
  backup->callback([&action, &context, backup_args] {
    action = [&context, backup_args] { return RunBackup(*backup_args, context); };
  });

  auto restore_args = std::make_shared<RestoreArgs>();
  auto* restore = app.add_subcommand(
      "restore", "Restore a backup into a new ledger directory, and verify it in full");
  restore->add_option("--from", restore_args->from, "The backup's directory")->required();
  restore
      ->add_option("--data", restore_args->data, "The restored ledger's directory: new, or empty")
      ->required();
  restore->callback([&action, &context, restore_args] {
    action = [&context, restore_args] { return RunRestore(*restore_args, context); };
  });
}

}  // namespace shiplog::cli
