// shiplog checkpoint [cosign|witness] | proof inclusion | proof consistency | verify-proof
#include <iostream>
#include <optional>

#include "adapters/witness_client.h"
#include "ledger/cosignature.h"
#include "ledger/key_file.h"
#include "ledger/proof.h"
#include "ledger/terminal_text.h"
#include "tools/shiplog/cli.h"
#include "tools/shiplog/read_client.h"
#include "tools/shiplog/server_client.h"

namespace shiplog::cli {
namespace {

constexpr size_t kMaxProofFileBytes = 1 << 20;

// A proof that did not check out: exit 4 with the reason, and the verdict as JSON.
int Refuted(const Status& status) {
  PrintJson({{"ok", false}, {"problem", status.message()}});
  std::cerr << "shiplog: verification failed: " << TerminalText(status.message()) << "\n";
  return kExitVerifyFailed;
}

// kBadSignature and kCorrupt from a document being checked mean "does not verify" (exit 4);
// anything else means the document could not be read (exit 2).
bool IsRefutation(const Status& status) {
  return status.code() == StatusCode::kBadSignature || status.code() == StatusCode::kCorrupt;
}

// The checkpoint as JSON (CosignedCheckpoint::ToJson), from the ledger or from the server (a
// public route: --key is needed only where the server's reads: section does not publish it).
Result<nlohmann::json> CheckpointJson(const ReadSource& source, std::optional<uint64_t> size,
                                      Context& context) {
  if (source.dir.empty()) {
    return ReadServerJson(source,
                          "/v1/checkpoint" + (size ? "?size=" + std::to_string(*size) : ""));
  }
  SHIPLOG_ASSIGN_OR_RETURN(auto ledger, OpenLedger(source.dir, context, /*enforce=*/false));
  SHIPLOG_ASSIGN_OR_RETURN(Checkpoint checkpoint, size ? ledger->CheckpointAt(*size)
                                                       : Result<Checkpoint>(
                                                             ledger->LatestCheckpoint()));
  SHIPLOG_ASSIGN_OR_RETURN(auto cosigned, WithCosignatures(ledger->store(), std::move(checkpoint)));
  return cosigned.ToJson();
}

int RunCheckpoint(const ReadSource& source, std::optional<uint64_t> size, bool note_only,
                  Context& context) {
  Status where = CheckReadSource(source, /*key_required=*/false);
  if (!where.ok()) return Fail(where);
  auto checkpoint = CheckpointJson(source, size, context);
  if (!checkpoint.ok()) return Fail(checkpoint.status());
  if (!note_only) {
    PrintJson(*checkpoint);
    return kExitOk;
  }
  const nlohmann::json& note = (*checkpoint)["checkpoint"];
  if (!note.is_string()) return Fail(Status::Internal("the checkpoint holds no signed note"));
  std::cout << note.get<std::string>();
  return kExitOk;
}

struct CosignArgs {
  std::string dir;
  std::vector<std::string> witness_keys;
  std::string note_file;
  ServerTarget witness;
};

int PrintStored(const std::vector<Cosignature>& added) {
  nlohmann::json stored = nlohmann::json::array();
  for (const Cosignature& c : added) {
    stored.push_back({{"witness", c.witness}, {"timestamp", c.timestamp}});
  }
  PrintJson({{"stored", stored}});
  return kExitOk;
}

// Asks a tlog-witness to cosign the latest checkpoint and stores its answer.
int RunWitness(const CosignArgs& args, Context& context) {
  auto witnesses = ParseWitnessKeys(args.witness_keys);
  if (!witnesses.ok()) return Fail(witnesses.status());
  auto url = ResolveServer(args.witness, "--witness");
  if (!url.ok()) return Fail(url.status());
  auto ledger = OpenLedger(args.dir, context, /*enforce=*/false);
  if (!ledger.ok()) return Fail(ledger.status());
  auto added = adapters::RequestCosignatures(**ledger, url->url, *witnesses, url->base);
  if (!added.ok()) return Fail(added.status());
  return PrintStored(*added);
}

// Stores the cosignatures a witness returned (tlog-witness add-checkpoint), offline.
int RunCosign(const CosignArgs& args, Context& context) {
  auto witnesses = ParseWitnessKeys(args.witness_keys);
  if (!witnesses.ok()) return Fail(witnesses.status());
  auto note = ReadInput(args.note_file, kMaxProofFileBytes);
  if (!note.ok()) return Fail(note.status());
  auto ledger = OpenLedger(args.dir, context, /*enforce=*/false);
  if (!ledger.ok()) return Fail(ledger.status());
  auto added = AddCosignatures(**ledger, *note, *witnesses);
  if (!added.ok()) return Fail(added.status().Prefixed(args.note_file));
  return PrintStored(*added);
}

void AddCheckpointCommands(CLI::App& app, Context& context, Action& action) {
  struct CheckpointArgs {
    ReadSource source;
    std::optional<uint64_t> size;
    bool note = false;
  };
  auto cp_args = std::make_shared<CheckpointArgs>();
  auto* checkpoint = app.add_subcommand(
      "checkpoint",
      "Print the latest signed checkpoint (C2SP tlog-checkpoint) with its witness cosignatures, "
      "or the one at --size");
  // Not required here: `checkpoint cosign` and `checkpoint witness` take their own --data.
  AddReadSourceOptions(checkpoint, cp_args->source, /*key_required=*/false);
  checkpoint->add_option("--size", cp_args->size, "The tree size of a past checkpoint");
  checkpoint->add_flag("--note", cp_args->note,
                       "Print only the signed note, as transparency-log tools read it");

  auto co_args = std::make_shared<CosignArgs>();
  auto* cosign = checkpoint->add_subcommand(
      "cosign",
      "Store witness cosignatures (c2sp.org/tlog-cosignature) of a checkpoint the ledger signed");
  AddDataOption(cosign, co_args->dir);
  cosign
      ->add_option("--witness-key", co_args->witness_keys,
                   "A trusted witness's note verifier key <name>+<hex id>+<base64(0x04||key)> "
                   "(repeatable)")
      ->required();
  cosign
      ->add_option("note", co_args->note_file,
                   "The checkpoint note with the witness's cosignature lines (- for stdin)")
      ->required();
  cosign->callback([&action, &context, co_args] {
    action = [&context, co_args] { return RunCosign(*co_args, context); };
  });

  auto* witness = checkpoint->add_subcommand(
      "witness",
      "Ask a witness (c2sp.org/tlog-witness add-checkpoint) to cosign the latest checkpoint, and "
      "store its cosignatures");
  AddDataOption(witness, co_args->dir);
  AddServerOptions(witness, &co_args->witness, "--witness", "The witness's submission URL prefix",
                   /*required=*/true);
  witness
      ->add_option("--witness-key", co_args->witness_keys,
                   "The witness's note verifier key (type 0x04; repeatable)")
      ->required();
  witness->callback([&action, &context, co_args] {
    action = [&context, co_args] { return RunWitness(*co_args, context); };
  });

  // CLI11 runs this after the subcommand's callback: leave that one's action in place.
  checkpoint->callback([&action, &context, cp_args, cosign, witness] {
    if (cosign->parsed() || witness->parsed()) return;
    action = [&context, cp_args] {
      return RunCheckpoint(cp_args->source, cp_args->size, cp_args->note, context);
    };
  });
}

struct ProofArgs {
  std::string dir;
  uint64_t seq = 0;
  std::optional<uint64_t> size;
  uint64_t from = 0;
  uint64_t to = 0;
};

int RunInclusion(const ProofArgs& args, Context& context) {
  auto ledger = OpenLedger(args.dir, context, /*enforce=*/false);
  if (!ledger.ok()) return Fail(ledger.status());
  auto proof = (*ledger)->ProveInclusion(args.seq, args.size);
  if (!proof.ok()) return Fail(proof.status());
  PrintJson(proof->ToJson());
  return kExitOk;
}

int RunConsistency(const ProofArgs& args, Context& context) {
  auto ledger = OpenLedger(args.dir, context, /*enforce=*/false);
  if (!ledger.ok()) return Fail(ledger.status());
  auto proof = (*ledger)->ProveConsistency(args.from, args.to);
  if (!proof.ok()) return Fail(proof.status());
  PrintJson(proof->ToJson());
  return kExitOk;
}

struct VerifyProofArgs {
  std::string file;
  std::string ledger_key;
  std::string checkpoint_file;
};

// The checkpoints a document is checked against must include the one the caller trusts, when
// given: same size, same root.
Status MatchesTrusted(const std::vector<const Checkpoint*>& in_document,
                      const std::optional<Checkpoint>& trusted) {
  if (!trusted) return Status::Ok();
  for (const Checkpoint* c : in_document) {
    if (c->head.size != trusted->head.size) continue;
    if (c->head.root != trusted->head.root) {
      return Status::Corrupt("the checkpoint at size " + std::to_string(c->head.size) +
                             " differs from the trusted one of the same size: the log forked");
    }
    return Status::Ok();
  }
  return Status::InvalidArgument(
      "the document holds no checkpoint at the trusted checkpoint's size " +
      std::to_string(trusted->head.size) +
      "; ask for a proof at that size (proof inclusion --size, proof consistency --from)");
}

// Checks one document, returning what it proved as JSON.
Result<nlohmann::json> CheckDocument(const nlohmann::json& doc, const std::string& key,
                                     const std::optional<Checkpoint>& trusted) {
  // A denied append prints its decision with the receipt of the policy.denied record.
  if (doc.is_object() && doc.contains("denial_receipt")) {
    return CheckDocument(doc["denial_receipt"], key, trusted);
  }
  if (doc.is_object() && doc.contains("entry")) {
    SHIPLOG_ASSIGN_OR_RETURN(Receipt receipt, Receipt::FromJson(doc));
    SHIPLOG_ASSIGN_OR_RETURN(Checkpoint checkpoint, receipt.Verify(key));
    SHIPLOG_RETURN_IF_ERROR(MatchesTrusted({&checkpoint}, trusted));
    return nlohmann::json{{"type", "receipt"},
                          {"seq", receipt.seq},
                          {"event_id", receipt.event_id},
                          {"actor", receipt.actor},
                          {"size", checkpoint.head.size},
                          {"manual_clock", receipt.manual_clock}};
  }
  std::string type = doc.is_object() ? doc.value("type", "") : "";
  if (type == "inclusion") {
    SHIPLOG_ASSIGN_OR_RETURN(InclusionProof proof, InclusionProof::FromJson(doc, key));
    SHIPLOG_RETURN_IF_ERROR(proof.Verify());
    SHIPLOG_RETURN_IF_ERROR(MatchesTrusted({&proof.checkpoint}, trusted));
    return nlohmann::json{{"type", type}, {"seq", proof.seq}, {"size", proof.checkpoint.head.size}};
  }
  if (type == "consistency") {
    SHIPLOG_ASSIGN_OR_RETURN(ConsistencyProof proof, ConsistencyProof::FromJson(doc, key));
    SHIPLOG_RETURN_IF_ERROR(proof.Verify());
    SHIPLOG_RETURN_IF_ERROR(
        MatchesTrusted({&proof.old_checkpoint, &proof.new_checkpoint}, trusted));
    return nlohmann::json{{"type", type},
                          {"from", proof.old_checkpoint.head.size},
                          {"to", proof.new_checkpoint.head.size}};
  }
  return Status::InvalidArgument(
      "not a receipt or a proof: expected a receipt (with \"receipt\") or a proof with \"type\" "
      "\"inclusion\" or \"consistency\"");
}

int RunVerifyProof(const VerifyProofArgs& args) {
  auto key = ReadPublicKey(args.ledger_key);
  if (!key.ok()) return Fail(key.status().Prefixed("--ledger-key"));
  auto doc = ReadJsonInput(args.file, kMaxProofFileBytes);
  if (!doc.ok()) return Fail(doc.status());
  std::optional<Checkpoint> trusted;
  if (!args.checkpoint_file.empty()) {
    auto checkpoint = ReadCheckpointFile(args.checkpoint_file, *key, "--checkpoint");
    if (!checkpoint.ok()) {
      if (IsRefutation(checkpoint.status())) return Refuted(checkpoint.status());
      return Fail(checkpoint.status());
    }
    trusted = std::move(checkpoint).value();
  }
  auto proved = CheckDocument(*doc, *key, trusted);
  if (!proved.ok()) {
    if (IsRefutation(proved.status())) return Refuted(proved.status());
    return Fail(proved.status());
  }
  (*proved)["ok"] = true;
  PrintJson(*proved);
  return kExitOk;
}

}  // namespace

void AddProofCommands(CLI::App& app, Context& context, Action& action) {
  AddCheckpointCommands(app, context, action);

  auto args = std::make_shared<ProofArgs>();
  auto* proof =
      app.add_subcommand("proof", "Prove a record is in the log, or that the log only grew");
  proof->require_subcommand(1);
  auto* inclusion = proof->add_subcommand(
      "inclusion", "The RFC 6962 audit path of record --seq to the checkpoint at --size (latest)");
  AddDataOption(inclusion, args->dir);
  inclusion->add_option("--seq", args->seq, "The record's sequence number")->required();
  inclusion->add_option("--size", args->size, "The checkpoint's tree size (default: the latest)");
  inclusion->callback([&action, &context, args] {
    action = [&context, args] { return RunInclusion(*args, context); };
  });
  auto* consistency = proof->add_subcommand(
      "consistency",
      "The RFC 6962 proof that the checkpoint at --from is a prefix of the one at --to");
  AddDataOption(consistency, args->dir);
  consistency->add_option("--from", args->from, "The older checkpoint's tree size")->required();
  consistency->add_option("--to", args->to, "The newer checkpoint's tree size")->required();
  consistency->callback([&action, &context, args] {
    action = [&context, args] { return RunConsistency(*args, context); };
  });

  auto vp_args = std::make_shared<VerifyProofArgs>();
  auto* verify_proof = app.add_subcommand(
      "verify-proof",
      "Check a receipt, an inclusion proof or a consistency proof offline, with only the "
      "ledger's public key; exit 4 when it does not verify");
  verify_proof->add_option("file", vp_args->file, "The receipt or proof JSON (- for stdin)")
      ->required();
  verify_proof
      ->add_option("--ledger-key", vp_args->ledger_key,
                   "The ledger's public key: DIR/ledger.key.pub or 64 hex characters")
      ->required();
  verify_proof->add_option(
      "--checkpoint", vp_args->checkpoint_file,
      "A checkpoint you already trust (note or `shiplog checkpoint` JSON): the document must "
      "agree with it");
  verify_proof->callback(
      [&action, vp_args] { action = [vp_args] { return RunVerifyProof(*vp_args); }; });
}

}  // namespace shiplog::cli
