// shiplog attest: the deploy-authorization attestation of one record (replay/attestation.h), a
// DSSE envelope an admission controller or `cosign verify-attestation` checks with the ledger's
// PEM key (`shiplog key show --pem`).
#include <iostream>

#include "replay/attestation.h"
#include "tools/shiplog/cli.h"
#include "tools/shiplog/read_client.h"

namespace shiplog::cli {
namespace {

struct AttestArgs {
  ReadSource source;
  uint64_t seq = 0;
  std::string out;
};

// The envelope issued here with the ledger's key (--data) or by the server (--server).
Result<nlohmann::json> Envelope(const AttestArgs& args, Context& context) {
  if (args.source.dir.empty()) {
    return ReadServerJson(args.source, "/v1/records/" + std::to_string(args.seq) + "/attestation");
  }
  SHIPLOG_ASSIGN_OR_RETURN(auto ledger, Ledger::OpenReadOnly(args.source.dir, &context.clock));
  SHIPLOG_ASSIGN_OR_RETURN(SigningKey key, replay::ReadLedgerKey(args.source.dir));
  SHIPLOG_ASSIGN_OR_RETURN(auto envelope, replay::IssueAttestation(*ledger, args.seq, key));
  return envelope.ToJson();
}

int RunAttest(const AttestArgs& args, Context& context) {
  Status source = CheckReadSource(args.source);
  if (!source.ok()) return Fail(source);
  auto envelope = Envelope(args, context);
  if (!envelope.ok()) return Fail(envelope.status());
  if (args.out.empty()) {
    PrintJson(*envelope);
    return kExitOk;
  }
  Status written = WriteWhole(args.out, envelope->dump() + "\n");
  return written.ok() ? kExitOk : Fail(written);
}

}  // namespace

void AddAttestCommand(CLI::App& app, Context& context, Action& action) {
  auto args = std::make_shared<AttestArgs>();
  auto* attest = app.add_subcommand(
      "attest",
      "The deploy-authorization attestation of an allowed step start: an in-toto statement in a "
      "DSSE envelope signed by the ledger key");
  AddReadSourceOptions(attest, args->source);
  attest->add_option("--seq", args->seq, "The record: a step.started the policy allowed")
      ->required();
  attest->add_option("--out", args->out, "Write the envelope to FILE instead of stdout");
  attest->callback([&action, &context, args] {
    action = [&context, args] { return RunAttest(*args, context); };
  });
}

}  // namespace shiplog::cli
