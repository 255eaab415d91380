#include "ledger/migrate.h"

#include "ledger/index.h"
#include "ledger/key_file.h"
#include "ledger/ledger.h"
#include "ledger/ledger_internal.h"
#include "ledger/tree.h"

namespace shiplog {
namespace {

// Records per commit to the target: about a megabyte of events, and index entries to match.
constexpr size_t kRecordsPerCommit = 1000;

// Copies records [0, size) of `source` into `target`, checking each on the way.
class Copier {
 public:
  Copier(const Ledger& source, const SigningKey& ledger_key, Store& target, uint64_t size,
         const std::function<void(uint64_t)>& progress)
      : source_(source), ledger_key_(ledger_key), target_(target), size_(size),
        progress_(progress) {}

  Result<MigrationReport> Run() {
    Status failed;
    SHIPLOG_RETURN_IF_ERROR(source_.store().ScanRecords(0, [&](uint64_t seq, std::string_view value) {
      if (seq >= size_) return false;
      failed = Add(seq, value);
      return failed.ok();
    }));
    SHIPLOG_RETURN_IF_ERROR(failed);
    if (tree_.size() != size_) {
      return Status::Corrupt("the source holds " + std::to_string(tree_.size()) +
                             " records, not the " + std::to_string(size_) + " it counts");
    }
    SHIPLOG_RETURN_IF_ERROR(CopyCosignatures());
    batch_.meta_puts.emplace_back(internal::kRecordCountKey, EncodeSeq(size_));
    batch_.meta_puts.emplace_back(kIndexVersionKey, std::to_string(kIndexVersion));
    SHIPLOG_ASSIGN_OR_RETURN(auto clock, source_.store().GetMeta(internal::kManualClockKey));
    if (clock) batch_.meta_puts.emplace_back(internal::kManualClockKey, *clock);
    SHIPLOG_RETURN_IF_ERROR(Flush());
    report_.records = size_;
    return report_;
  }

 private:
  Status Add(uint64_t seq, std::string_view value) {
    if (seq != tree_.size()) {
      return Status::Corrupt("record " + std::to_string(tree_.size()) +
                             " is missing from the source (the next is " + std::to_string(seq) +
                             ")");
    }
    SHIPLOG_ASSIGN_OR_RETURN(StoredRecord record, internal::DecodeRecord(seq, value));
    SHIPLOG_RETURN_IF_ERROR(
        record.signed_event.VerifySignature().Prefixed("record " + std::to_string(seq)));
    if (seq == 0 && record.signed_event.public_key != ledger_key_.PublicKey()) {
      return Status::Corrupt("the genesis is not signed by the source's ledger key");
    }
    SHIPLOG_ASSIGN_OR_RETURN(merkle::Hash leaf, HashFromBytes(record.leaf_hash, "leaf hash"));
    batch_.records.emplace_back(value);
    for (auto& entry : fold_.Next(record)) batch_.index_puts.push_back(std::move(entry));
    std::vector<TreeNodePut> completed;
    tree_.Append(leaf, &completed);
    batch_.index_puts.insert(batch_.index_puts.end(), completed.begin(), completed.end());
    SHIPLOG_RETURN_IF_ERROR(CopyCheckpoint());
    if (batch_.records.size() >= kRecordsPerCommit) SHIPLOG_RETURN_IF_ERROR(Flush());
    return Status::Ok();
  }

  // The source's checkpoint at the tree's size, when one was signed there: checked against the
  // tree rebuilt from the records copied, then copied.
  Status CopyCheckpoint() {
    const uint64_t size = tree_.size();
    SHIPLOG_ASSIGN_OR_RETURN(auto note, source_.store().GetIndex(internal::CheckpointKey(size)));
    if (!note) return Status::Ok();
    SHIPLOG_ASSIGN_OR_RETURN(Checkpoint checkpoint,
                             internal::OpenStoredCheckpoint(size, *note, ledger_key_,
                                                            source_.origin()));
    if (checkpoint.head.root != tree_.Root()) {
      return Status::Corrupt("the source's checkpoint at size " + std::to_string(size) +
                             " does not sign the tree of its first " + std::to_string(size) +
                             " records");
    }
    batch_.index_puts.emplace_back(internal::CheckpointKey(size), *note);
    ++report_.checkpoints;
    if (size == size_) report_.latest = std::move(checkpoint);
    return Status::Ok();
  }

  // Witness cosignatures ("w/" size8 ...) of the checkpoints copied.
  Status CopyCosignatures() {
    return source_.store().ScanIndex("w/", "", [&](std::string_view key, std::string_view value) {
      if (key.size() < 10 || DecodeSeq(key.substr(2, 8)) > size_) return true;
      batch_.index_puts.emplace_back(std::string(key), std::string(value));
      return true;
    });
  }

  Status Flush() {
    batch_.first_seq = committed_;
    SHIPLOG_RETURN_IF_ERROR(target_.Commit(batch_).Prefixed("writing the target"));
    committed_ += batch_.records.size();
    batch_ = StoreBatch();
    if (progress_) progress_(committed_);
    return Status::Ok();
  }

  const Ledger& source_;
  const SigningKey& ledger_key_;
  Store& target_;
  const uint64_t size_;
  const std::function<void(uint64_t)>& progress_;

  IndexFold fold_;
  TreeFrontier tree_;
  StoreBatch batch_;
  uint64_t committed_ = 0;
  MigrationReport report_;
};

}  // namespace

Result<MigrationReport> MigrateLedger(const std::string& from_dir, const MigrationTarget& to,
                                      const std::function<void(uint64_t)>& progress) {
  SystemClock clock;  // read-only: the clock is never asked
  SHIPLOG_ASSIGN_OR_RETURN(auto source, Ledger::OpenReadOnly(from_dir, &clock));
  SHIPLOG_ASSIGN_OR_RETURN(SigningKey key, ReadKeyFile(from_dir + "/ledger.key"));
  const uint64_t size = source->size();
  SHIPLOG_ASSIGN_OR_RETURN(auto target, internal::CreateHome(to.dir, to.store_url, key));
  Copier copier(*source, key, *target, size, progress);
  auto copied = copier.Run();
  if (copied.ok() && copied->latest.head.size != size) {
    copied = Status::Corrupt("the source has no signed checkpoint at its size, " +
                             std::to_string(size));
  }
  if (!copied.ok()) {
    return copied.status().Prefixed(
        "the migration stopped, and " + to.dir +
        (to.store_url.empty() ? "" : " and the database " + RedactedUrl(to.store_url)) +
        " hold a partial copy: remove " + (to.store_url.empty() ? "it" : "them (drop the tables)") +
        " before trying again");
  }
  MigrationReport report = std::move(*copied);
  SHIPLOG_RETURN_IF_ERROR(internal::StartWitness(to.dir, *target, report.latest, key.PublicKey()));
  target.reset();
  // The target opens as any ledger does: its tree against its latest checkpoint and the witness.
  SHIPLOG_RETURN_IF_ERROR(Ledger::OpenReadOnly(to.dir, &clock).status().Prefixed(
      "opening the migrated ledger"));
  return report;
}

}  // namespace shiplog
