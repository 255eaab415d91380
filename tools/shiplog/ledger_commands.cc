// shiplog init | verify [--against] | migrate | clock
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <optional>

#include "ledger/backup.h"
#include "ledger/key_file.h"
#include "ledger/migrate.h"
#include "ledger/witness.h"
#include "replay/progress.h"
#include "ledger/terminal_text.h"
#include "tools/shiplog/cli.h"

namespace shiplog::cli {
namespace {

struct InitArgs {
  std::string dir;
  std::string policy_file;
  std::string admin_key;
  std::string admin_name = "admin";
  bool manual_clock = false;
  std::string clock_start;
  std::string origin;
  std::string store;       // a PostgreSQL URL: the records go there
  std::string ledger_key;  // with --store: join the ledger already there with its key
};

// The admin's public key: from an existing key or public-key file, or a new key pair written to
// `path` when nothing is there yet.
Result<std::string> AdminPublicKey(const std::string& path, bool* created) {
  struct stat st;
  *created = ::stat(path.c_str(), &st) != 0;
  if (!*created) return ReadPublicKey(path);
  SigningKey key = SigningKey::Generate();
  SHIPLOG_RETURN_IF_ERROR(WriteNewKeyFile(path, key));
  return key.PublicKey();
}

// `init --store URL --ledger-key FILE`: another server's home for the ledger in that database.
int RunAttach(const InitArgs& args, Context& context) {
  if (args.store.empty()) {
    return Fail(Status::InvalidArgument(
        "--ledger-key joins the ledger in a PostgreSQL database: give it with --store URL"));
  }
  auto key = ReadKeyFile(args.ledger_key);
  if (!key.ok()) return Fail(key.status().Prefixed("--ledger-key"));
  if (Status attached = Ledger::Attach(args.dir, args.store, *key); !attached.ok()) {
    return Fail(attached);
  }
  auto ledger = Ledger::OpenReadOnly(args.dir, &context.clock);
  if (!ledger.ok()) return Fail(ledger.status());
  PrintJson({{"data", args.dir},
             {"store", RedactedUrl(args.store)},
             {"attached", true},
             {"ledger_key", HexEncode((*ledger)->public_key())},
             {"origin", (*ledger)->origin()},
             {"records", (*ledger)->size()}});
  return kExitOk;
}

int RunInit(const InitArgs& args, Context& context) {
  if (!args.ledger_key.empty()) return RunAttach(args, context);
  // The policy first: a typo in it must leave nothing behind, not even the directory.
  auto policy = ReadPolicy(args.policy_file);
  if (!policy.ok()) return Fail(policy.status());
  if (!policy->policy) return ReportPolicyErrors(policy->errors);
  // And the database, before any file is made.
  if (!args.store.empty()) {
    if (Status usable = Ledger::CheckNewStore(args.store); !usable.ok()) return Fail(usable);
  }
  if (::mkdir(args.dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Fail(Status::InvalidArgument("cannot create " + args.dir + ": " + std::strerror(errno)));
  }
  if (Ledger::StoreLocation(args.dir).ok()) {
    return Fail(Status::InvalidArgument(args.dir + " already holds a ledger"));
  }
  InitOptions options;
  options.store = args.store;
  options.policy = policy->policy->source;
  options.admin_name = args.admin_name;
  options.manual_clock = args.manual_clock;
  options.origin = args.origin;
  if (!args.clock_start.empty()) {
    if (!args.manual_clock) {
      return Fail(Status::InvalidArgument("--clock-start needs --manual-clock"));
    }
    auto start = ParseTime(args.clock_start);
    if (!start.ok()) return Fail(start.status().Prefixed("--clock-start"));
    options.manual_clock_start = *start;
  }
  std::string admin_key = args.admin_key.empty() ? args.dir + "/admin.key" : args.admin_key;
  bool created = false;
  auto admin_public = AdminPublicKey(admin_key, &created);
  if (!admin_public.ok()) return Fail(admin_public.status().Prefixed("admin key"));
  options.admin_public_key = *admin_public;
  Status status = Ledger::Init(args.dir, options, &context.clock);
  if (!status.ok()) return Fail(status);
  auto ledger = Ledger::Open(args.dir, &context.clock);
  if (!ledger.ok()) return Fail(ledger.status());
  PrintJson({{"data", args.dir},
             {"store", args.store.empty() ? nlohmann::json(args.dir + "/db")
                                          : nlohmann::json(RedactedUrl(args.store))},
             {"ledger_key", HexEncode((*ledger)->public_key())},
             {"origin", (*ledger)->origin()},
             {"admin", args.admin_name},
             {"admin_public_key", HexEncode(*admin_public)},
             {"admin_key_file", created ? nlohmann::json(admin_key) : nlohmann::json(nullptr)},
             {"manual_clock", args.manual_clock},
             {"policy_sha256", HexEncode(AsBytes(Sha256(options.policy)))},
             {"ledger_time", FormatTime((*ledger)->Now())}});
  return kExitOk;
}

struct VerifyArgs {
  std::string dir;
  std::string against;
};

// The checkpoint a client holds, given to `verify --against`: its signed note, the JSON of
// `shiplog checkpoint`, a receipt (its "checkpoint"), or a ledger directory's checkpoint witness
// (ledger/witness.h: the DIR/checkpoint of a ledger a restore replaced). kBadSignature when it is
// not signed by `ledger_key`.
Result<Checkpoint> ReadAgainst(const std::string& path, std::string_view ledger_key) {
  constexpr std::string_view kWitnessMagic = "shiplog-witness 1\n";
  auto text = ReadInput(path, 64 * 1024);
  if (!text.ok()) return text.status().Prefixed("--against");
  if (text->compare(0, kWitnessMagic.size(), kWitnessMagic) != 0) {
    return ReadCheckpointFile(path, ledger_key, "--against");
  }
  auto witness = CheckpointWitness::Open(path, ledger_key, /*read_only=*/true);
  if (!witness.ok() && witness.status().code() == StatusCode::kCorrupt) {
    return Status::BadSignature("--against " + path + ": no checkpoint in this witness file is "
                                "signed by this ledger's key");
  }
  if (!witness.ok()) return witness.status().Prefixed("--against");
  if (!(*witness)->latest()) {
    return Status::InvalidArgument("--against " + path + ": the witness file holds no checkpoint");
  }
  return *(*witness)->latest();
}

// Whether the ledger holds the log `checkpoint` describes (CheckHolds in ledger/backup.h, the check Open
// makes of the checkpoint witness): the "against" part of verify's JSON. On a failure, says on
// stderr which acknowledged records are missing, or that the log forked.
nlohmann::json CheckAgainst(const Ledger& ledger, const Checkpoint& checkpoint,
                            const std::string& path) {
  nlohmann::json out = {{"checkpoint", path},
                        {"size", checkpoint.head.size},
                        {"root_hash", checkpoint.ToJson()["root_hash"]},
                        {"ledger_size", ledger.size()}};
  Status holds = CheckHolds(ledger, checkpoint, "the checkpoint in " + path);
  out["ok"] = holds.ok();
  if (holds.ok()) return out;
  out["problem"] = holds.message();
  if (checkpoint.head.size > ledger.size()) {
    out["missing"] = {{"from", ledger.size()}, {"to", checkpoint.head.size - 1}};
    std::cerr << "shiplog: records " << ledger.size() << ".." << checkpoint.head.size - 1
              << " acknowledged after this copy are missing: " << TerminalText(path)
              << " shows " << checkpoint.head.size << " records signed by this ledger's key, "
              << "and this ledger holds " << ledger.size() << "\n";
  } else {
    std::cerr << "shiplog: the log forked: " << TerminalText(holds.message()) << "\n";
  }
  return out;
}

int RunVerify(const VerifyArgs& args, Context& context) {
  // Read-only: verifying changes no file (a write-ahead log is not replayed into the database).
  auto ledger = Ledger::OpenReadOnly(args.dir, &context.clock);
  if (!ledger.ok() && ledger.status().code() == StatusCode::kCorrupt) {
    // Damage in the records read to open (genesis, last record, key records) is a failed
    // verification too.
    PrintJson({{"ok", false}, {"problem", ledger.status().message()}});
    return Fail(ledger.status());
  }
  if (!ledger.ok()) return Fail(ledger.status());
  std::optional<Checkpoint> against;
  if (!args.against.empty()) {
    // Before the long part: a note this ledger did not sign says nothing about it.
    auto read = ReadAgainst(args.against, (*ledger)->public_key());
    if (!read.ok()) return Fail(read.status());
    against = std::move(read).value();
  }
  replay::ProgressLine progress("verify", (*ledger)->size());
  auto report = (*ledger)->Verify(progress.Callback());
  progress.Finish();
  if (!report.ok()) return Fail(report.status());
  nlohmann::json out = report->ToJson();
  if (against && report->ok) out["against"] = CheckAgainst(**ledger, *against, args.against);
  PrintJson(out);
  if (report->manual_clock) {
    std::cerr << "shiplog: note: this ledger runs on a manual clock (a drill or test ledger); "
                 "its times are not real\n";
  }
  if (!report->ok) {
    std::cerr << "shiplog: verification failed at record " << *report->first_bad_seq;
    if (report->bad_checkpoint) std::cerr << " (checkpoint " << *report->bad_checkpoint << ")";
    std::cerr << ": " << TerminalText(report->problem) << "\n";
    return kExitVerifyFailed;
  }
  if (against && !out["against"]["ok"].get<bool>()) return kExitVerifyFailed;
  return kExitOk;
}

struct ClockArgs {
  std::string dir;
  std::string value;
};

int RunClock(const ClockArgs& args, Context& context, const std::string& mode) {
  auto ledger = Ledger::Open(args.dir, &context.clock);
  if (!ledger.ok()) return Fail(ledger.status());
  Status status;
  if (mode == "advance") {
    auto by = ParseDuration(args.value);
    if (!by.ok()) return Fail(by.status());
    status = (*ledger)->AdvanceClock(*by);
  } else if (mode == "set") {
    auto to = ParseTime(args.value);
    if (!to.ok()) return Fail(to.status());
    status = (*ledger)->SetClock(*to);
  }
  if (!status.ok()) return Fail(status);
  PrintJson({{"ledger_time", FormatTime((*ledger)->Now())},
             {"manual_clock", (*ledger)->manual_clock()}});
  return kExitOk;
}

struct MigrateArgs {
  std::string from;
  std::string to;
  std::string dir;  // the new home, for a database target
};

int RunMigrate(const MigrateArgs& args) {
  MigrationTarget target;
  if (IsPostgresUrl(args.to)) {
    if (args.dir.empty()) {
      return Fail(Status::InvalidArgument(
          "--to names a database: give the new ledger's directory (its key and witness) with "
          "--data DIR"));
    }
    target = {args.dir, args.to};
  } else {
    if (!args.dir.empty() && args.dir != args.to) {
      return Fail(Status::InvalidArgument(
          "--to names a directory, the new ledger's home: --data is for a database target"));
    }
    target = {args.to, ""};
  }
  replay::ProgressLine progress("migrate", 0);
  auto report = MigrateLedger(args.from, target, progress.Callback());
  progress.Finish();
  if (!report.ok()) return Fail(report.status());
  PrintJson({{"from", args.from},
             {"data", target.dir},
             {"store", target.store_url.empty() ? nlohmann::json(target.dir + "/db")
                                                : nlohmann::json(RedactedUrl(target.store_url))},
             {"records", report->records},
             {"checkpoints", report->checkpoints},
             {"checkpoint", report->latest.ToJson()}});
  return kExitOk;
}

}  // namespace

void AddLedgerCommands(CLI::App& app, Context& context, Action& action) {
  auto init_args = std::make_shared<InitArgs>();
  auto* init = app.add_subcommand(
      "init", "Create a ledger: its signing key (DIR/ledger.key, 0600), store and genesis record");
  AddDataOption(init, init_args->dir);
  init->add_option("--admin-key", init_args->admin_key,
                   "The first admin's key: an existing key or .pub file, or where to write a new "
                   "key pair (default DIR/admin.key)");
  init->add_option("--admin-name", init_args->admin_name, "The first admin's name")
      ->capture_default_str();
  init->add_flag("--manual-clock", init_args->manual_clock,
                 "A drill or test ledger: time moves only by `shiplog clock`");
  init->add_option("--clock-start", init_args->clock_start,
                   "With --manual-clock: the first time (RFC 3339)");
  init->add_option("--origin", init_args->origin, "A name for this log");
  init->add_option("--policy", init_args->policy_file,
                   "The policy in force from the start (default: the default pack)");
  init->add_option("--store", init_args->store,
                   "Keep the records in this PostgreSQL database (postgresql://...; several "
                   "hosts for failover) instead of DIR/db; DIR/store names it");
  init->add_option("--ledger-key", init_args->ledger_key,
                   "With --store: make DIR another server's home of the ledger already in that "
                   "database, whose ledger key this is (its first home's ledger.key)");
  init->callback([&action, &context, init_args] {
    action = [&context, init_args] { return RunInit(*init_args, context); };
  });

  auto verify_args = std::make_shared<VerifyArgs>();
  auto* verify = app.add_subcommand(
      "verify", "Re-check every record (signatures, keys, sequence, hashes), the Merkle tree and every "
      "signed checkpoint; exit 4 naming the first bad record or checkpoint");
  AddDataOption(verify, verify_args->dir);
  verify->add_option("--against", verify_args->against,
                     "A checkpoint a client holds (note, `checkpoint` JSON, receipt, or a ledger "
                     "directory's checkpoint file): exit 4 unless this ledger holds that log");
  verify->callback([&action, &context, verify_args] {
    action = [&context, verify_args] { return RunVerify(*verify_args, context); };
  });

  auto migrate_args = std::make_shared<MigrateArgs>();
  auto* migrate = app.add_subcommand(
      "migrate", "Copy a ledger into a new, empty store (RocksDB to PostgreSQL or back), record by "
      "record, checking each record's signature and every checkpoint on the way");
  migrate->add_option("--from", migrate_args->from, "The ledger's directory")->required();
  migrate->add_option("--to", migrate_args->to,
                      "A PostgreSQL URL (its database must hold no ledger), or a new directory "
                      "for a RocksDB ledger")
      ->required();
  migrate->add_option("--data", migrate_args->dir,
                      "With a database --to: the new ledger's directory (its key, witness and "
                      "DIR/store)");
  migrate->callback([&action, migrate_args] {
    action = [migrate_args] { return RunMigrate(*migrate_args); };
  });

  auto* clock = app.add_subcommand(
      "clock", "Move the time of a ledger made with --manual-clock, or show ledger time");
  clock->require_subcommand(1);
  auto clock_args = std::make_shared<ClockArgs>();
  struct Mode {
    const char* name;
    const char* help;
    const char* value_help;
  };
  for (Mode mode : {Mode{"advance", "Move the manual clock forward", "A duration: 15m, 1h30m, 90s"},
                    Mode{"set", "Set the manual clock (never before the last record)",
                         "An RFC 3339 time"},
                    Mode{"show", "Print ledger time now", nullptr}}) {
    auto* sub = clock->add_subcommand(mode.name, mode.help);
    AddDataOption(sub, clock_args->dir);
    if (mode.value_help) sub->add_option("value", clock_args->value, mode.value_help)->required();
    std::string name = mode.name;
    sub->callback([&action, &context, clock_args, name] {
      action = [&context, clock_args, name] { return RunClock(*clock_args, context, name); };
    });
  }
}

}  // namespace shiplog::cli
