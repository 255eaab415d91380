// Ledger::Verify: the full re-check of a ledger, with the work that needs no order spread over
// threads.
//
// Records are read in chunks (VerifyOptions::chunk_records), so memory does not grow with the
// ledger. Each chunk goes through two stages:
//   1. in parallel, on every thread: decode each record (canonical form, leaf hash, the event),
//      check its signature, and open the checkpoint stored at the size it ends (its signature,
//      by re-signing its text with the ledger key: Checkpoint::OpenOwn);
//   2. in order, on the calling thread, while stage 1 runs on the next chunk: sequence numbers,
//      the signer's authority under the key registry as it stood, time, clock kind, the tree
//      rebuilt leaf by leaf against the stored nodes and each checkpoint's root, and the index
//      entries.
// Stage 2 walks records in sequence order and stops at the first failure, and stage 1 only
// records what it found, so the report names the first bad record whichever thread saw it.
//
// Index entries and tree nodes: looking up each one a record should have costs about twelve
// point reads a record, more than its signature. The first pass instead compares a multiset hash
// of the entries and nodes the records give with one of those stored (sequential scans). The
// hash is keyed with a key drawn for this run, after the stored bytes were fixed, so no stored
// content can be made to match without being equal. When anything fails in that pass, a second
// pass looks every entry and node up as records are checked, as Verify always did, and names the
// first bad record or index entry. (A stray tree node no record completes fails the first pass
// and passes the second: that pass, the old check, is what the report says.)
//
// Where the time goes (perf, the 1,000,001-record history ledger, one checkpoint per record):
// records' Ed25519 verifies 55%, re-signing checkpoints 23%, the rest decoding, the ordered checks
// and scans. So records/s stays near half the all-core verify rate on such a ledger; a ledger
// written in batches (one checkpoint per commit) pays the re-signing far less often.
#include <sodium.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <thread>

#include "ledger/index.h"
#include "ledger/ledger.h"
#include "ledger/ledger_internal.h"
#include "ledger/record_checks.h"

namespace shiplog {
namespace {

using internal::CheckpointKey;

// One stored record as read, and what stage 1 found out about it.
struct ChunkRecord {
  uint64_t seq = 0;
  std::string value;                            // the stored bytes; dropped once decoded
  std::optional<std::string> checkpoint_note;   // the checkpoint stored at size seq + 1
  Result<StoredRecord> decoded = Status::Internal("not decoded");
  Status signature;
  std::optional<Result<Checkpoint>> checkpoint;  // checkpoint_note, opened
};

// Reads up to `limit` records from `from` into `chunk`, with the checkpoints stored at the sizes
// they end. An empty chunk means no record is left.
Status ReadChunk(Store& store, uint64_t from, size_t limit, std::vector<ChunkRecord>& chunk) {
  chunk.clear();
  SHIPLOG_RETURN_IF_ERROR(store.ScanRecords(from, [&](uint64_t seq, std::string_view value) {
    chunk.emplace_back();
    chunk.back().seq = seq;
    chunk.back().value = value;
    return chunk.size() < limit;
  }));
  if (chunk.empty()) return Status::Ok();
  const uint64_t last_size = chunk.back().seq + 1;
  size_t at = 0;
  return store.ScanIndex(
      "c/", CheckpointKey(chunk.front().seq + 1), [&](std::string_view key, std::string_view note) {
        if (key.size() != 10) return true;  // not a checkpoint of any size
        const uint64_t size = DecodeSeq(key.substr(2));
        if (size > last_size) return false;
        while (at < chunk.size() && chunk[at].seq + 1 < size) ++at;
        if (at < chunk.size() && chunk[at].seq + 1 == size) chunk[at].checkpoint_note = note;
        return true;
      });
}

// Stage 1 for one record.
void DecodeAndCheckSignatures(ChunkRecord& r, const SigningKey& ledger_key,
                              std::string_view origin) {
  r.decoded = internal::DecodeRecord(r.seq, r.value);
  if (r.decoded.ok()) r.signature = r.decoded->signed_event.VerifySignature();
  if (r.checkpoint_note) {
    r.checkpoint =
        internal::OpenStoredCheckpoint(r.seq + 1, *r.checkpoint_note, ledger_key, origin);
  }
  r.value = std::string();
}

// Runs `work` on every item on `threads` threads, the caller's among them, after the caller has
// run `meanwhile`. Items not yet started are skipped once `cancel` is set.
template <typename T, typename Work, typename Meanwhile>
void ForEachInParallel(std::vector<T>& items, unsigned threads, const Work& work,
                       const Meanwhile& meanwhile, const std::atomic<bool>& cancel) {
  std::atomic<size_t> next{0};
  auto drain = [&] {
    for (size_t i = next++; i < items.size() && !cancel.load(std::memory_order_relaxed);
         i = next++) {
      work(items[i]);
    }
  };
  std::vector<std::thread> helpers;
  for (unsigned t = 1; t < threads && t < items.size(); ++t) helpers.emplace_back(drain);
  meanwhile();
  drain();
  for (auto& helper : helpers) helper.join();
}

// An order-free digest of a multiset of index entries: the lane-wise sum of a keyed 128-bit
// SipHash of each (key, value), and their count. Two digests made with the same fresh random key
// are equal only when the multisets are (but for a chance of about 2^-120).
class EntryMultisetHash {
 public:
  using Key = std::array<unsigned char, crypto_shorthash_siphashx24_KEYBYTES>;

  explicit EntryMultisetHash(const Key& key) : key_(key) {}

  // A digest of no entries under the same key.
  EntryMultisetHash Empty() const { return EntryMultisetHash(key_); }

  void Add(std::string_view key, std::string_view value) {
    const uint32_t key_size = static_cast<uint32_t>(key.size());
    buffer_.assign(reinterpret_cast<const char*>(&key_size), sizeof key_size);
    buffer_.append(key).append(value);
    std::array<uint64_t, 2> hash;
    crypto_shorthash_siphashx24(reinterpret_cast<unsigned char*>(hash.data()),
                                reinterpret_cast<const unsigned char*>(buffer_.data()),
                                buffer_.size(), key_.data());
    sum_[0] += hash[0];
    sum_[1] += hash[1];
    ++count_;
  }

  bool operator==(const EntryMultisetHash& other) const {
    return sum_ == other.sum_ && count_ == other.count_;
  }

 private:
  Key key_;
  std::array<uint64_t, 2> sum_{};
  uint64_t count_ = 0;
  std::string buffer_;
};

EntryMultisetHash::Key RandomKey() {
  InitCrypto();
  EntryMultisetHash::Key key;
  randombytes_buf(key.data(), key.size());
  return key;
}

// The index keyspaces whose every entry the records determine: the event ids, the query fields
// and the Merkle tree's nodes.
std::vector<std::string> RecordIndexSpaces() {
  std::vector<std::string> spaces = {EventIdKey("", "").substr(0, 2), "t/"};
  for (IndexField field : QueryIndexFields()) {
    spaces.push_back(IndexPrefix(field, "").substr(0, 2));
  }
  return spaces;
}

// How a pass checks the index entries each record should have.
enum class IndexCheck {
  kMultisetHash,  // one digest of them all (and of the tree nodes) against one of those stored
  kLookup,        // a point read per entry, naming the first record whose entry is wrong
};

// One pass over the whole ledger; see the top of the file.
class VerifyPass {
 public:
  struct LedgerView {
    Store& store;
    const SigningKey& key;
    std::string public_key;
    std::string origin;
    bool manual_clock;
  };

  VerifyPass(LedgerView ledger, IndexCheck index_check, const VerifyOptions& options,
             const std::function<void(uint64_t)>& progress)
      : ledger_(std::move(ledger)),
        index_check_(index_check),
        threads_(options.threads != 0 ? options.threads
                                      : std::max(1u, std::thread::hardware_concurrency())),
        chunk_records_(std::max<size_t>(1, options.chunk_records)),
        progress_(progress),
        expected_entries_(RandomKey()) {
    report_.manual_clock = ledger_.manual_clock;
  }

  // The report; with kMultisetHash, an OK report also needs IndexMatches().
  Result<VerifyReport> Run();

  // kMultisetHash: whether the stored index entries are exactly those the records give.
  Result<bool> IndexMatches() const;

  // kLookup: how many query index entries (all but event ids) the records give.
  uint64_t query_entries() const { return query_entries_; }

 private:
  bool CheckChunk(std::vector<ChunkRecord>& chunk);
  bool CheckRecord(ChunkRecord& c);
  bool CheckTree(const StoredRecord& r, const ChunkRecord& c);
  bool CheckIndexEntries(const StoredRecord& r);
  Status CheckTail();
  bool Bad(uint64_t seq, std::string problem) {
    report_.ok = false;
    report_.first_bad_seq = seq;
    report_.problem = std::move(problem);
    return false;
  }
  bool ReadFailed(Status status) {
    read_error_ = std::move(status);
    return false;
  }

  LedgerView ledger_;
  IndexCheck index_check_;
  unsigned threads_;
  size_t chunk_records_;
  const std::function<void(uint64_t)>& progress_;

  VerifyReport report_;
  KeyRegistry registry_;       // as it stood before the next record
  uint64_t expected_ = 0;      // the next record's sequence number
  Micros last_time_ = 0;
  TreeFrontier tree_;          // rebuilt from the records
  uint64_t checkpoint_size_ = 0;  // the last checkpoint that matched the records
  Status read_error_;
  IndexFold index_fold_;
  uint64_t query_entries_ = 0;
  EntryMultisetHash expected_entries_;
};

Result<VerifyReport> VerifyPass::Run() {
  // Three chunks at a time: `current` checked in order on this thread, `next` decoded on every
  // thread meanwhile, and `after` read by this thread once it has checked `current`, so that no
  // core waits for the store between chunks.
  std::vector<ChunkRecord> current, next, after;
  // A read that fails is reported once the records read before it have been checked (the chunk
  // keeps them): a bad record among them is named first, as a single scan would. Each chunk's
  // read status goes with it; nothing is read past a failed read.
  auto read_following = [this](const Status& read, const std::vector<ChunkRecord>& chunk,
                               std::vector<ChunkRecord>& into) {
    into.clear();
    if (!read.ok() || chunk.empty()) return Status::Ok();
    return ReadChunk(ledger_.store, chunk.back().seq + 1, chunk_records_, into);
  };
  Status read = ReadChunk(ledger_.store, 0, chunk_records_, current);
  std::atomic<bool> cancel{false};
  auto decode = [this](ChunkRecord& r) {
    DecodeAndCheckSignatures(r, ledger_.key, ledger_.origin);
  };
  ForEachInParallel(current, threads_, decode, [] {}, cancel);
  Status read_next = read_following(read, current, next);
  while (!current.empty()) {
    bool going = true;
    Status read_after;
    ForEachInParallel(
        next, threads_, decode,
        [&] {
          going = CheckChunk(current);
          if (!going) {
            cancel = true;
          } else {
            read_after = read_following(read_next, next, after);
          }
        },
        cancel);
    if (!going || !read.ok()) break;
    std::swap(current, next);
    std::swap(next, after);
    read = std::move(read_next);
    read_next = std::move(read_after);
  }
  report_.records = expected_;
  if (report_.ok && !read.ok()) return read;
  if (report_.ok && !read_error_.ok()) return read_error_;
  if (report_.ok) SHIPLOG_RETURN_IF_ERROR(CheckTail());
  return report_;
}

bool VerifyPass::CheckChunk(std::vector<ChunkRecord>& chunk) {
  for (ChunkRecord& c : chunk) {
    if (!CheckRecord(c)) return false;
  }
  return true;
}

bool VerifyPass::CheckRecord(ChunkRecord& c) {
  const uint64_t seq = c.seq;
  if (seq != expected_) return Bad(expected_, "record " + std::to_string(expected_) + " is missing");
  if (!c.decoded.ok()) return Bad(seq, c.decoded.status().message());
  const StoredRecord& r = *c.decoded;
  const std::string at = "record " + std::to_string(seq) + ": ";
  if (!c.signature.ok()) return Bad(seq, at + c.signature.message());
  Status authority = CheckRecordAuthority(r, registry_, ledger_.public_key);
  if (!authority.ok()) return Bad(seq, at + authority.message());
  if (r.ledger_time < last_time_) return Bad(seq, at + "ledger time went backwards");
  if (r.manual_clock != ledger_.manual_clock) {
    return Bad(seq, at + "its clock kind differs from the genesis");
  }
  if (index_check_ == IndexCheck::kLookup) {
    auto id_seq = ledger_.store.GetIndex(EventIdKey(r.event.actor(), r.event.id()));
    if (!id_seq.ok() || !*id_seq || **id_seq != EncodeSeq(seq)) {
      return Bad(seq, at + "the event-id index does not point at it");
    }
  }
  registry_.Apply(r.event, seq);
  last_time_ = r.ledger_time;
  ++expected_;
  if (progress_ && expected_ % 4096 == 0) progress_(expected_);
  return CheckTree(r, c) && CheckIndexEntries(r);
}

bool VerifyPass::CheckTree(const StoredRecord& r, const ChunkRecord& c) {
  std::vector<TreeNodePut> completed;
  tree_.Append(*HashFromBytes(r.leaf_hash, "leaf hash"), &completed);
  for (const auto& [key, hash] : completed) {
    if (index_check_ == IndexCheck::kMultisetHash) {
      expected_entries_.Add(key, hash);
      continue;
    }
    auto stored = ledger_.store.GetIndex(key);
    if (!stored.ok()) return ReadFailed(stored.status());
    if (!*stored || **stored != hash) {
      const unsigned level = static_cast<unsigned char>(key[2]);
      const uint64_t begin = DecodeSeq(std::string_view(key).substr(3)) << level;
      return Bad(r.seq, "record " + std::to_string(r.seq) + ": the stored tree node for records " +
                            std::to_string(begin) + " to " +
                            std::to_string(begin + (uint64_t{1} << level) - 1) +
                            (*stored ? " does not match them" : " is missing"));
    }
  }
  // Each commit (a batch of records) signs one checkpoint at the size it ends at; a record in
  // the middle of a batch has none of its own. The last one must cover every record (CheckTail).
  if (!c.checkpoint) return true;
  const uint64_t size = r.seq + 1;
  report_.bad_checkpoint = size;
  if (!c.checkpoint->ok()) return Bad(r.seq, c.checkpoint->status().message());
  const TreeHead& head = (*c.checkpoint)->head;
  if (head.root != tree_.Root()) {
    return Bad(checkpoint_size_,
               "the checkpoint at size " + std::to_string(size) + " signed a tree that records " +
                   std::to_string(checkpoint_size_) + " to " + std::to_string(r.seq) +
                   " no longer match: they were changed after it was signed");
  }
  if (head.time != r.ledger_time || head.manual_clock != ledger_.manual_clock) {
    return Bad(r.seq, "the checkpoint at size " + std::to_string(size) +
                          " does not carry the time and clock kind of record " +
                          std::to_string(r.seq));
  }
  report_.bad_checkpoint.reset();
  checkpoint_size_ = size;
  ++report_.checkpoints;
  return true;
}

bool VerifyPass::CheckIndexEntries(const StoredRecord& r) {
  // Every index entry the record has, as the records before it say, must be stored.
  for (const auto& [key, value] : index_fold_.Next(r)) {
    if (key.compare(0, 2, "i/") != 0) ++query_entries_;
    if (index_check_ == IndexCheck::kMultisetHash) {
      expected_entries_.Add(key, value);
      continue;
    }
    auto stored = ledger_.store.GetIndex(key);
    if (!stored.ok()) return ReadFailed(stored.status());
    if (!*stored || **stored != value) {
      return Bad(r.seq, "record " + std::to_string(r.seq) + ": " + DescribeIndexKey(key) +
                            (*stored ? " holds another value" : " is missing"));
    }
  }
  return true;
}

Status VerifyPass::CheckTail() {
  Store& store = ledger_.store;
  // A checkpoint beyond the records signed records that are gone.
  SHIPLOG_RETURN_IF_ERROR(store.ScanIndex(
      "c/", CheckpointKey(expected_ + 1), [&](std::string_view key, std::string_view) {
        uint64_t size = DecodeSeq(key.substr(2));
        report_.bad_checkpoint = size;
        return Bad(expected_, "the checkpoint at size " + std::to_string(size) +
                                  " signed records from " + std::to_string(expected_) +
                                  " on, which are missing");
      }));
  if (!report_.ok) return Status::Ok();
  if (expected_ > 0 && checkpoint_size_ != expected_) {
    Bad(checkpoint_size_, "records " + std::to_string(checkpoint_size_) + " to " +
                              std::to_string(expected_ - 1) + " are in no signed checkpoint");
    return Status::Ok();
  }
  SHIPLOG_ASSIGN_OR_RETURN(auto count, store.GetMeta(internal::kRecordCountKey));
  if (!count || count->size() != 8 || DecodeSeq(*count) != expected_) {
    uint64_t want = count && count->size() == 8 ? DecodeSeq(*count) : 0;
    Bad(expected_, "the ledger recorded " + std::to_string(want) + " records but holds " +
                       std::to_string(expected_) + ": records are missing from the end");
  }
  return Status::Ok();
}

Result<bool> VerifyPass::IndexMatches() const {
  EntryMultisetHash stored = expected_entries_.Empty();
  for (const std::string& space : RecordIndexSpaces()) {
    SHIPLOG_RETURN_IF_ERROR(
        ledger_.store.ScanIndex(space, "", [&](std::string_view key, std::string_view value) {
          stored.Add(key, value);
          return true;
        }));
  }
  return stored == expected_entries_;
}

}  // namespace

Result<VerifyReport> Ledger::Verify(const std::function<void(uint64_t)>& progress) const {
  return Verify(VerifyOptions{}, progress);
}

Result<VerifyReport> Ledger::Verify(const VerifyOptions& options,
                                    const std::function<void(uint64_t)>& progress) const {
  const VerifyPass::LedgerView self{*store_, ledger_key_, public_key(), origin_, manual_clock_};
  {
    VerifyPass pass(self, IndexCheck::kMultisetHash, options, progress);
    SHIPLOG_ASSIGN_OR_RETURN(VerifyReport report, pass.Run());
    if (report.ok) {
      SHIPLOG_ASSIGN_OR_RETURN(bool index_matches, pass.IndexMatches());
      if (index_matches) return report;
    }
  }
  // Something is wrong: check again entry by entry to name the first bad record exactly.
  VerifyPass pass(self, IndexCheck::kLookup, options, progress);
  SHIPLOG_ASSIGN_OR_RETURN(VerifyReport report, pass.Run());
  if (report.ok) SHIPLOG_RETURN_IF_ERROR(FindStrayIndexEntry(pass.query_entries(), report));
  return report;
}

Status Ledger::FindStrayIndexEntry(uint64_t expected_entries, VerifyReport& report) const {
  // Every expected entry is stored, so more stored entries than expected means a stray one.
  auto for_each_entry = [&](const Store::IndexVisitor& visit) -> Status {
    for (IndexField field : QueryIndexFields()) {
      const std::string space = IndexPrefix(field, "").substr(0, 2);
      bool more = true;
      SHIPLOG_RETURN_IF_ERROR(store_->ScanIndex(space, "", [&](std::string_view k, std::string_view v) {
        return more = visit(k, v);
      }));
      if (!more) break;
    }
    return Status::Ok();
  };
  uint64_t stored = 0;
  SHIPLOG_RETURN_IF_ERROR(for_each_entry([&](std::string_view, std::string_view) {
    ++stored;
    return true;
  }));
  if (stored == expected_entries) return Status::Ok();
  // Name the first stray entry in key order: hash every expected key, look each stored one up.
  std::vector<size_t> expected;
  IndexFold fold;
  SHIPLOG_RETURN_IF_ERROR(Scan(0, [&](const StoredRecord& r) {
    for (const auto& entry : fold.Next(r)) expected.push_back(std::hash<std::string_view>()(entry.first));
    return true;
  }));
  std::sort(expected.begin(), expected.end());
  report.ok = false;
  report.problem = "the index holds " + std::to_string(stored) + " query entries but the records give " +
                   std::to_string(expected_entries);
  return for_each_entry([&](std::string_view key, std::string_view) {
    if (std::binary_search(expected.begin(), expected.end(), std::hash<std::string_view>()(key))) {
      return true;
    }
    const uint64_t size = report.records;
    if (key.size() < 11) {
      report.problem = DescribeIndexKey(key) + " is malformed";
      return false;
    }
    const uint64_t seq = IndexKeySeq(key);
    report.first_bad_seq = seq;
    report.problem = DescribeIndexKey(key) + (seq < size ? " is one that record does not have"
                                                          : " points at a record that does not exist");
    return false;
  });
}

}  // namespace shiplog
