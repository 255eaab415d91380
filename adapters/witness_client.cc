#include "adapters/witness_client.h"

#include "ledger/crypto.h"

namespace shiplog::adapters {
namespace {

constexpr char kSizeType[] = "text/x.tlog.size";

Result<HttpReply> Post(const ServerUrl& witness, const HttpCall& base, std::string body) {
  HttpCall call = base;
  call.method = "POST";
  call.target = "/add-checkpoint";
  call.body = std::move(body);
  call.content_type = "text/plain";
  call.max_reply_bytes = 64 * 1024;
  return Call(witness, call);
}

// The size in a 409's text/x.tlog.size body: a decimal number and a newline.
Result<uint64_t> WitnessSize(const HttpReply& reply) {
  const std::string& body = reply.body;
  if (reply.content_type != kSizeType || body.size() < 2 || body.size() > 21 ||
      body.back() != '\n' || body.find_first_not_of("0123456789") != body.size() - 1) {
    return Status::InvalidArgument("the witness answered 409 without its tree size (" +
                                   std::string(kSizeType) + ")");
  }
  return std::stoull(body);
}

// The answer's lines by trusted keys: the spec has the client ignore the others.
Result<std::string> TrustedLines(const std::string& body, const std::vector<WitnessKey>& trusted) {
  std::string kept;
  size_t start = 0;
  while (start < body.size()) {
    const size_t end = body.find('\n', start);
    if (end == std::string::npos) {
      return Status::InvalidArgument("the witness's answer does not end with a newline");
    }
    SHIPLOG_ASSIGN_OR_RETURN(
        NoteSignature line,
        ParseNoteSignatureLine(std::string_view(body).substr(start, end - start)));
    for (const WitnessKey& key : trusted) {
      if (key.name == line.name && key.key_id == line.key_id) kept += line.line;
    }
    start = end + 1;
  }
  if (kept.empty()) {
    return Status::InvalidArgument("the witness returned no cosignature by a trusted key");
  }
  return kept;
}

Status Refused(const HttpReply& reply) {
  return Status::InvalidArgument("the witness refused the checkpoint: " +
                                 std::to_string(reply.status) + " " + reply.body.substr(0, 200));
}

// The proof from the witness's size to the checkpoint's; empty when they are the same size.
Result<std::vector<merkle::Hash>> ProofFrom(const Ledger& ledger, uint64_t old_size,
                                            const Checkpoint& checkpoint) {
  if (old_size > checkpoint.head.size) {
    return Status::InvalidArgument("the witness holds a tree of " + std::to_string(old_size) +
                                   " records, larger than the ledger's " +
                                   std::to_string(checkpoint.head.size));
  }
  if (old_size == checkpoint.head.size) return std::vector<merkle::Hash>{};
  SHIPLOG_ASSIGN_OR_RETURN(ConsistencyProof proof,
                           ledger.ProveConsistency(old_size, checkpoint.head.size));
  return proof.path;
}

}  // namespace

std::string AddCheckpointBody(uint64_t old_size, const std::vector<merkle::Hash>& proof,
                              const std::string& note) {
  std::string body = "old " + std::to_string(old_size) + "\n";
  for (const merkle::Hash& hash : proof) body += Base64Encode(AsBytes(hash)) + "\n";
  return body + "\n" + note;
}

Result<std::vector<Cosignature>> RequestCosignatures(const Ledger& ledger, const ServerUrl& witness,
                                                     const std::vector<WitnessKey>& trusted,
                                                     const HttpCall& base) {
  const Checkpoint checkpoint = ledger.LatestCheckpoint();
  SHIPLOG_ASSIGN_OR_RETURN(HttpReply reply,
                           Post(witness, base, AddCheckpointBody(0, {}, checkpoint.note)));
  if (reply.status == 409) {
    SHIPLOG_ASSIGN_OR_RETURN(uint64_t old_size, WitnessSize(reply));
    SHIPLOG_ASSIGN_OR_RETURN(auto proof, ProofFrom(ledger, old_size, checkpoint));
    SHIPLOG_ASSIGN_OR_RETURN(reply,
                             Post(witness, base, AddCheckpointBody(old_size, proof, checkpoint.note)));
  }
  if (reply.status != 200) return Refused(reply);
  SHIPLOG_ASSIGN_OR_RETURN(std::string lines, TrustedLines(reply.body, trusted));
  return AddCosignatures(ledger, checkpoint.note + lines, trusted);
}

}  // namespace shiplog::adapters
