// shiplog attest: the deploy-authorization attestation of one record (replay/attestation.h), a
// DSSE envelope an admission controller or `cosign verify-attestation` checks with the ledger's
// PEM key (`shiplog key show --pem`).
#include <iostream>

#include "replay/attestation.h"
#include "tools/shiplog/cli.h"

namespace shiplog::cli {
namespace {

struct AttestArgs {
  std::string dir;
  uint64_t seq = 0;
  std::string out;
};

int RunAttest(const AttestArgs& args, Context& context) {
  auto ledger = Ledger::OpenReadOnly(args.dir, &context.clock);
  if (!ledger.ok()) return Fail(ledger.status());
  auto key = replay::ReadLedgerKey(args.dir);
  if (!key.ok()) return Fail(key.status());
  auto envelope = replay::IssueAttestation(**ledger, args.seq, *key);
  if (!envelope.ok()) return Fail(envelope.status());
  if (args.out.empty()) {
    PrintJson(envelope->ToJson());
    return kExitOk;
  }
  Status written = WriteWhole(args.out, envelope->ToJson().dump() + "\n");
  return written.ok() ? kExitOk : Fail(written);
}

}  // namespace

void AddAttestCommand(CLI::App& app, Context& context, Action& action) {
  auto args = std::make_shared<AttestArgs>();
  auto* attest = app.add_subcommand(
      "attest",
      "The deploy-authorization attestation of an allowed step start: an in-toto statement in a "
      "DSSE envelope signed by the ledger key");
  AddDataOption(attest, args->dir);
  attest->add_option("--seq", args->seq, "The record: a step.started the policy allowed")
      ->required();
  attest->add_option("--out", args->out, "Write the envelope to FILE instead of stdout");
  attest->callback([&action, &context, args] {
    action = [&context, args] { return RunAttest(*args, context); };
  });
}

}  // namespace shiplog::cli
