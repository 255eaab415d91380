// Tests of ledger/tree.h: the frontier that grows the tree one leaf at a time and the reader that
// serves proofs from one stored hash per complete subtree.
//   - the frontier's root after n appends is RFC 6962's MTH of the n leaves, and every subtree it
//     reports completed is the MTH of exactly that range;
//   - SubtreeRoot over stored nodes equals the in-memory MTH for every range the proof algorithms
//     ask, so inclusion and consistency proofs served from the store equal those computed from
//     the leaves, at the stored size and at every past size;
//   - generated proofs verify, and flipping any byte of any proof hash, the leaf or a root fails;
//   - a proof reads O(log n) stored hashes (counted through a Store decorator over RocksDB);
//   - TreeFrontier::Load from the stored nodes is the frontier built in memory.
#include "ledger/tree.h"

#include <gtest/gtest.h>  // before rapidcheck/gtest.h, which uses it
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "test_util.h"

namespace shiplog_test {
namespace {
namespace SHIPLOG_THIS_FILE {

using shiplog::EncodeSeq;
using shiplog::Store;
using shiplog::StoreBatch;
using shiplog::TreeFrontier;
using shiplog::TreeNodeKey;
using shiplog::TreeNodePut;
using shiplog::TreeReader;
namespace merkle = shiplog::merkle;
using Hash = merkle::Hash;

// ---- stores ----

// A Store held in maps: enough for the tree (index reads) and fast enough for properties.
class MemStore final : public Store {
 public:
  Status Commit(const StoreBatch& batch) override {
    if (batch.first_seq != records_.size()) return Status::Conflict("first_seq");
    for (const auto& r : batch.records) records_.emplace(records_.size(), r);
    for (const auto& [k, v] : batch.index_puts) index_[k] = v;
    for (const auto& [k, v] : batch.meta_puts) meta_[k] = v;
    return Status::Ok();
  }
  Result<uint64_t> RecordCount() override { return uint64_t{records_.size()}; }
  Result<std::optional<std::string>> GetRecord(uint64_t seq) override {
    auto it = records_.find(seq);
    if (it == records_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Status ScanRecords(uint64_t from, const RecordVisitor& visit) override {
    for (auto it = records_.lower_bound(from); it != records_.end(); ++it) {
      if (!visit(it->first, it->second)) break;
    }
    return Status::Ok();
  }
  Result<std::optional<std::string>> GetIndex(std::string_view key) override {
    auto it = index_.find(std::string(key));
    if (it == index_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Status ScanIndex(std::string_view prefix, std::string_view start,
                   const IndexVisitor& visit) override {
    for (auto it = index_.lower_bound(std::string(start.empty() ? prefix : start));
         it != index_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
      if (!visit(it->first, it->second)) break;
    }
    return Status::Ok();
  }
  Result<std::optional<std::string>> GetMeta(std::string_view key) override {
    auto it = meta_.find(std::string(key));
    if (it == meta_.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  }
  Status PutMeta(std::string_view key, std::string_view value) override {
    meta_[std::string(key)] = std::string(value);
    return Status::Ok();
  }

  // For tampering tests.
  std::map<std::string, std::string>& index() { return index_; }

 private:
  std::map<uint64_t, std::string> records_;
  std::map<std::string, std::string> index_;
  std::map<std::string, std::string> meta_;
};

// Forwards to another Store and counts the reads the tree makes.
class CountingStore final : public Store {
 public:
  explicit CountingStore(Store& inner) : inner_(inner) {}

  Status Commit(const StoreBatch& batch) override { return inner_.Commit(batch); }
  Result<uint64_t> RecordCount() override {
    ++other_reads;
    return inner_.RecordCount();
  }
  Result<std::optional<std::string>> GetRecord(uint64_t seq) override {
    ++other_reads;
    return inner_.GetRecord(seq);
  }
  Status ScanRecords(uint64_t from, const RecordVisitor& visit) override {
    ++other_reads;
    return inner_.ScanRecords(from, visit);
  }
  Result<std::optional<std::string>> GetIndex(std::string_view key) override {
    ++get_index;
    return inner_.GetIndex(key);
  }
  Status ScanIndex(std::string_view prefix, std::string_view start,
                   const IndexVisitor& visit) override {
    ++other_reads;
    return inner_.ScanIndex(prefix, start, visit);
  }
  Result<std::optional<std::string>> GetMeta(std::string_view key) override {
    ++other_reads;
    return inner_.GetMeta(key);
  }
  Status PutMeta(std::string_view key, std::string_view value) override {
    return inner_.PutMeta(key, value);
  }

  void Reset() { get_index = other_reads = 0; }

  int get_index = 0;
  int other_reads = 0;

 private:
  Store& inner_;
};

// ---- trees ----

Hash LeafOf(uint64_t i) { return merkle::LeafHash("leaf input " + std::to_string(i)); }

std::vector<Hash> Leaves(uint64_t n) {
  std::vector<Hash> leaves;
  leaves.reserve(n);
  for (uint64_t i = 0; i < n; ++i) leaves.push_back(LeafOf(i));
  return leaves;
}

// Appends `leaves` to a fresh frontier; every completed subtree goes into `nodes` when given.
TreeFrontier Grow(const std::vector<Hash>& leaves, std::vector<TreeNodePut>* nodes = nullptr) {
  TreeFrontier frontier;
  std::vector<TreeNodePut> completed;
  for (const Hash& leaf : leaves) frontier.Append(leaf, nodes ? nodes : &completed);
  return frontier;
}

// A store holding the tree nodes of `leaves` (as the ledger stores them), in batches.
void StoreTree(Store& store, const std::vector<Hash>& leaves) {
  TreeFrontier frontier;
  StoreBatch batch;
  for (const Hash& leaf : leaves) {
    frontier.Append(leaf, &batch.index_puts);
    if (batch.index_puts.size() >= 20000) {
      Check(store.Commit(batch), "Commit");
      batch.index_puts.clear();
    }
  }
  Check(store.Commit(batch), "Commit");
}

std::string Hex(const Hash& h) { return shiplog::HexEncode(shiplog::AsBytes(h)); }

std::vector<std::string> Hex(const std::vector<Hash>& hashes) {
  std::vector<std::string> out;
  for (const Hash& h : hashes) out.push_back(Hex(h));
  return out;
}

Hash FlipByte(Hash h, size_t byte) {
  h[byte] ^= 0x01;
  return h;
}

bool IsPowerOfTwo(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

// A tree size of at most `max`, biased to powers of two and their neighbours, where the proof
// algorithms change shape.
uint64_t GenSize(uint64_t max) {
  const int kind = *rc::gen::inRange(0, 3);
  if (kind == 0) return *rc::gen::inRange<uint64_t>(1, max + 1);
  const int max_bits = static_cast<int>(std::log2(static_cast<double>(max)));
  const uint64_t power = uint64_t{1} << *rc::gen::inRange(0, max_bits + 1);
  if (kind == 1) return power;
  const uint64_t n = power + (*rc::gen::arbitrary<bool>() ? 1 : 0) - (power > 1 ? 1 : 0);
  return std::min<uint64_t>(std::max<uint64_t>(n, 1), max);
}

// ---- the frontier ----

TEST(TreeFrontier, EmptyTreeHasTheEmptyRoot) {
  TreeFrontier frontier;
  EXPECT_EQ(frontier.size(), 0u);
  EXPECT_EQ(Hex(frontier.Root()), Hex(merkle::EmptyRoot()));
  EXPECT_TRUE(frontier.Nodes().empty());
}

TEST(TreeFrontier, NodeKeysAreLevelThenBigEndianIndex) {
  EXPECT_EQ(TreeNodeKey(0, 0), std::string("t/\0", 3) + EncodeSeq(0));
  EXPECT_EQ(TreeNodeKey(3, 258), std::string("t/\x03", 3) + std::string("\0\0\0\0\0\0\x01\x02", 8));
  EXPECT_LT(TreeNodeKey(0, 255), TreeNodeKey(0, 256)) << "keys sort by index within a level";
}

// Appending leaf n completes the leaf itself and one more subtree per trailing one bit of n.
TEST(TreeFrontier, AppendReportsTheSubtreesItCompletes) {
  TreeFrontier frontier;
  std::vector<TreeNodePut> completed;
  for (uint64_t i = 0; i < 7; ++i) frontier.Append(LeafOf(i), &completed);
  completed.clear();
  frontier.Append(LeafOf(7), &completed);  // completes [7,8), [6,8), [4,8), [0,8)
  ASSERT_EQ(completed.size(), 4u);
  const auto leaves = Leaves(8);
  const auto mth = merkle::InMemory(leaves);
  EXPECT_EQ(completed[0].first, TreeNodeKey(0, 7));
  EXPECT_EQ(completed[1].first, TreeNodeKey(1, 3));
  EXPECT_EQ(completed[2].first, TreeNodeKey(2, 1));
  EXPECT_EQ(completed[3].first, TreeNodeKey(3, 0));
  EXPECT_EQ(completed[3].second, std::string(shiplog::AsBytes(mth(0, 8))));
  EXPECT_EQ(completed[2].second, std::string(shiplog::AsBytes(mth(4, 8))));
  EXPECT_EQ(Hex(frontier.Root()), Hex(merkle::RootOf(leaves)));
}

RC_GTEST_PROP(TreeProperties, FrontierRootIsTheRootOfTheLeaves, ()) {
  const uint64_t n = *rc::gen::inRange<uint64_t>(0, 3001);
  const std::vector<Hash> leaves = Leaves(n);
  // A few sizes along the way are checked too: the frontier is right at every size, not just
  // the last.
  std::vector<uint64_t> checks = {n};
  for (int i = 0; i < 3 && n > 0; ++i) checks.push_back(*rc::gen::inRange<uint64_t>(1, n + 1));
  std::sort(checks.begin(), checks.end());

  TreeFrontier frontier;
  std::vector<TreeNodePut> completed;
  size_t next_check = 0;
  while (next_check < checks.size() && checks[next_check] == 0) ++next_check;
  for (uint64_t i = 0; i < n; ++i) {
    frontier.Append(leaves[i], &completed);
    while (next_check < checks.size() && checks[next_check] == i + 1) {
      const std::vector<Hash> prefix(leaves.begin(), leaves.begin() + i + 1);
      RC_ASSERT(frontier.size() == i + 1);
      RC_ASSERT(Hex(frontier.Root()) == Hex(merkle::RootOf(prefix)));
      ++next_check;
    }
  }
  RC_ASSERT(frontier.size() == n);
  RC_ASSERT(Hex(frontier.Root()) == Hex(merkle::RootOf(leaves)));
  // Every complete subtree was reported once: one per (level, index) with
  // (index + 1) * 2^level <= n.
  uint64_t expected_nodes = 0;
  for (unsigned level = 0; (uint64_t{1} << level) <= n; ++level) expected_nodes += n >> level;
  RC_ASSERT(completed.size() == expected_nodes);
}

RC_GTEST_PROP(TreeProperties, CompletedSubtreesAreTheRootsOfTheirRanges, ()) {
  const uint64_t n = *rc::gen::inRange<uint64_t>(1, 600);
  const std::vector<Hash> leaves = Leaves(n);
  const auto mth = merkle::InMemory(leaves);
  std::vector<TreeNodePut> nodes;
  Grow(leaves, &nodes);
  for (const auto& [key, bytes] : nodes) {
    RC_ASSERT(key.size() == 11u);
    RC_ASSERT(key.substr(0, 2) == "t/");
    const unsigned level = static_cast<unsigned char>(key[2]);
    const uint64_t index = shiplog::DecodeSeq(std::string_view(key).substr(3));
    const uint64_t begin = index << level, end = (index + 1) << level;
    RC_ASSERT(end <= n);
    RC_ASSERT(bytes == std::string(shiplog::AsBytes(mth(begin, end))));
  }
}

// ---- the reader: stored nodes serve the same roots and proofs as the leaves ----

// Fails the property unless the reader had no error.
void AssertReaderOk(const TreeReader& reader) {
  if (!reader.status().ok()) RC_FAIL("TreeReader: " + reader.status().ToString());
}

// The ranges the proof algorithms ask for are nodes of an RFC 6962 tree: [begin, end) with begin
// a multiple of the smallest power of two >= end - begin. TreeReader serves exactly those from
// stored complete subtrees (an arbitrary range such as [1, 5) is not what it computes).
bool IsTreeNode(uint64_t begin, uint64_t end) {
  uint64_t width = 1;
  while (width < end - begin) width <<= 1;
  return begin % width == 0;
}

RC_GTEST_PROP(TreeProperties, StoredSubtreeRootsEqualTheInMemoryOnesForEveryRangeProofsAsk, ()) {
  const uint64_t n = GenSize(2500);
  const std::vector<Hash> leaves = Leaves(n);
  MemStore store;
  StoreTree(store, leaves);
  TreeReader reader(store);
  for (int i = 0; i < 6; ++i) {
    const uint64_t size = GenSize(n);
    const std::vector<Hash> prefix(leaves.begin(), leaves.begin() + size);
    const auto mth = merkle::InMemory(prefix);
    std::vector<std::pair<uint64_t, uint64_t>> asked;
    const merkle::SubtreeRoot recording = [&](uint64_t begin, uint64_t end) {
      asked.emplace_back(begin, end);
      return mth(begin, end);
    };
    merkle::InclusionProof(*rc::gen::inRange<uint64_t>(0, size), size, recording);
    merkle::ConsistencyProof(GenSize(size), size, recording);
    for (const auto& [begin, end] : asked) {
      RC_ASSERT(begin < end);
      RC_ASSERT(end <= size);
      RC_ASSERT(IsTreeNode(begin, end));
      RC_ASSERT(Hex(reader.SubtreeRoot(begin, end)) == Hex(mth(begin, end)));
    }
  }
  RC_ASSERT(Hex(reader.SubtreeRoot(0, n)) == Hex(merkle::RootOf(leaves)));
  AssertReaderOk(reader);
}

// The proofs of a tree of `size` leaves, asked of a store that holds `stored` >= size leaves:
// past trees are proved from the same nodes.
RC_GTEST_PROP(TreeProperties, InclusionProofsFromStoredNodesEqualTheInMemoryOnes, ()) {
  const uint64_t stored = GenSize(2500);
  const std::vector<Hash> leaves = Leaves(stored);
  MemStore store;
  StoreTree(store, leaves);
  for (int i = 0; i < 8; ++i) {
    const uint64_t size = *rc::gen::arbitrary<bool>() ? stored : GenSize(stored);
    const uint64_t index = *rc::gen::inRange<uint64_t>(0, size);
    const std::vector<Hash> prefix(leaves.begin(), leaves.begin() + size);
    TreeReader reader(store);
    const auto from_store = merkle::InclusionProof(index, size, reader.AsSubtreeRoot());
    AssertReaderOk(reader);
    const auto in_memory = merkle::InclusionProof(index, size, merkle::InMemory(prefix));
    RC_ASSERT(Hex(from_store) == Hex(in_memory));
    RC_ASSERT(merkle::VerifyInclusion(index, size, leaves[index], from_store,
                                      merkle::RootOf(prefix)));
  }
}

// One reader serving many proofs, as a batch's receipts are made: the right edge's roots it
// folded once are served again, at every size.
RC_GTEST_PROP(TreeProperties, OneReaderServesEveryLeafsProofAtSeveralSizes, ()) {
  const uint64_t stored = GenSize(600);
  const std::vector<Hash> leaves = Leaves(stored);
  MemStore store;
  StoreTree(store, leaves);
  TreeReader reader(store);
  for (int i = 0; i < 3; ++i) {
    const uint64_t size = GenSize(stored);
    const std::vector<Hash> prefix(leaves.begin(), leaves.begin() + size);
    const Hash root = merkle::RootOf(prefix);
    for (uint64_t index = 0; index < size; ++index) {
      const auto proof = merkle::InclusionProof(index, size, reader.AsSubtreeRoot());
      RC_ASSERT(Hex(proof) == Hex(merkle::InclusionProof(index, size, merkle::InMemory(prefix))));
      RC_ASSERT(merkle::VerifyInclusion(index, size, leaves[index], proof, root));
    }
  }
  AssertReaderOk(reader);
}

RC_GTEST_PROP(TreeProperties, ConsistencyProofsFromStoredNodesEqualTheInMemoryOnes, ()) {
  const uint64_t stored = GenSize(2500);
  const std::vector<Hash> leaves = Leaves(stored);
  MemStore store;
  StoreTree(store, leaves);
  for (int i = 0; i < 8; ++i) {
    const uint64_t new_size = *rc::gen::arbitrary<bool>() ? stored : GenSize(stored);
    const uint64_t old_size = GenSize(new_size);
    const std::vector<Hash> new_leaves(leaves.begin(), leaves.begin() + new_size);
    const std::vector<Hash> old_leaves(leaves.begin(), leaves.begin() + old_size);
    TreeReader reader(store);
    const auto from_store = merkle::ConsistencyProof(old_size, new_size, reader.AsSubtreeRoot());
    AssertReaderOk(reader);
    const auto in_memory =
        merkle::ConsistencyProof(old_size, new_size, merkle::InMemory(new_leaves));
    RC_ASSERT(Hex(from_store) == Hex(in_memory));
    RC_ASSERT(merkle::VerifyConsistency(old_size, new_size, merkle::RootOf(old_leaves),
                                        merkle::RootOf(new_leaves), from_store));
  }
}

// ---- tampering with a proof ----

RC_GTEST_PROP(TreeProperties, FlippingAnyByteOfAnInclusionProofFailsIt, ()) {
  const uint64_t size = GenSize(700);
  const uint64_t index = *rc::gen::inRange<uint64_t>(0, size);
  const std::vector<Hash> leaves = Leaves(size);
  MemStore store;
  StoreTree(store, leaves);
  TreeReader reader(store);
  const std::vector<Hash> proof = merkle::InclusionProof(index, size, reader.AsSubtreeRoot());
  const Hash root = merkle::RootOf(leaves);
  const Hash leaf = leaves[index];
  RC_ASSERT(merkle::VerifyInclusion(index, size, leaf, proof, root));

  for (size_t p = 0; p < proof.size(); ++p) {
    for (size_t b = 0; b < proof[p].size(); ++b) {
      std::vector<Hash> bad = proof;
      bad[p] = FlipByte(bad[p], b);
      RC_ASSERT(!merkle::VerifyInclusion(index, size, leaf, bad, root));
    }
  }
  for (size_t b = 0; b < leaf.size(); ++b) {
    RC_ASSERT(!merkle::VerifyInclusion(index, size, FlipByte(leaf, b), proof, root));
    RC_ASSERT(!merkle::VerifyInclusion(index, size, leaf, proof, FlipByte(root, b)));
  }
  // A hash too many or too few is refused too.
  if (!proof.empty()) {
    std::vector<Hash> shorter(proof.begin(), proof.end() - 1);
    RC_ASSERT(!merkle::VerifyInclusion(index, size, leaf, shorter, root));
  }
  std::vector<Hash> longer = proof;
  longer.push_back(root);
  RC_ASSERT(!merkle::VerifyInclusion(index, size, leaf, longer, root));
  // The proof is for this leaf: a neighbour's leaf hash does not verify with it.
  if (size > 1) {
    const uint64_t other = (index + 1) % size;
    RC_ASSERT(!merkle::VerifyInclusion(index, size, leaves[other], proof, root));
  }
}

RC_GTEST_PROP(TreeProperties, FlippingAnyByteOfAConsistencyProofFailsIt, ()) {
  const uint64_t new_size = GenSize(700);
  const uint64_t old_size = GenSize(new_size);
  const std::vector<Hash> leaves = Leaves(new_size);
  const std::vector<Hash> old_leaves(leaves.begin(), leaves.begin() + old_size);
  MemStore store;
  StoreTree(store, leaves);
  TreeReader reader(store);
  const std::vector<Hash> proof =
      merkle::ConsistencyProof(old_size, new_size, reader.AsSubtreeRoot());
  const Hash old_root = merkle::RootOf(old_leaves);
  const Hash new_root = merkle::RootOf(leaves);
  RC_ASSERT(merkle::VerifyConsistency(old_size, new_size, old_root, new_root, proof));
  RC_TAG(IsPowerOfTwo(old_size) ? "old size a power of two" : "old size not a power of two");
  RC_TAG(old_size == new_size ? "equal sizes" : "grown");

  for (size_t p = 0; p < proof.size(); ++p) {
    for (size_t b = 0; b < proof[p].size(); ++b) {
      std::vector<Hash> bad = proof;
      bad[p] = FlipByte(bad[p], b);
      RC_ASSERT(!merkle::VerifyConsistency(old_size, new_size, old_root, new_root, bad));
    }
  }
  for (size_t b = 0; b < old_root.size(); ++b) {
    RC_ASSERT(!merkle::VerifyConsistency(old_size, new_size, FlipByte(old_root, b), new_root,
                                         proof));
    RC_ASSERT(!merkle::VerifyConsistency(old_size, new_size, old_root, FlipByte(new_root, b),
                                         proof));
  }
  if (!proof.empty()) {
    std::vector<Hash> shorter(proof.begin(), proof.end() - 1);
    RC_ASSERT(!merkle::VerifyConsistency(old_size, new_size, old_root, new_root, shorter));
  }
}

// ---- reads per proof ----

// A tree of 100,000 leaves in RocksDB, built once for the counting tests.
class TreeReadsTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kLeaves = 100000;

  static void SetUpTestSuite() {
    tmp_ = new TempDir;
    leaves_ = new std::vector<Hash>(Leaves(kLeaves));
    auto store = shiplog::OpenRocksStore(tmp_->Path("db"), /*create=*/true);
    rocks_ = Unwrap(std::move(store), "OpenRocksStore").release();
    StoreTree(*rocks_, *leaves_);
  }
  static void TearDownTestSuite() {
    delete rocks_;
    delete leaves_;
    delete tmp_;
  }

  // At most about two stored hashes per level: one per proof hash, plus the pieces of the one
  // incomplete range on the tree's right edge.
  static int Bound(uint64_t size) {
    return 2 * static_cast<int>(std::ceil(std::log2(static_cast<double>(size)))) + 2;
  }

  static TempDir* tmp_;
  static std::vector<Hash>* leaves_;
  static Store* rocks_;
};
TempDir* TreeReadsTest::tmp_ = nullptr;
std::vector<Hash>* TreeReadsTest::leaves_ = nullptr;
Store* TreeReadsTest::rocks_ = nullptr;

TEST_F(TreeReadsTest, AnInclusionProofReadsLogarithmicallyManyNodes) {
  CountingStore counting(*rocks_);
  // The whole tree and past trees, sizes that are and are not powers of two.
  for (uint64_t size : {kLeaves, kLeaves - 1, uint64_t{65536}, uint64_t{65537}, uint64_t{77777}}) {
    const std::vector<Hash> prefix(leaves_->begin(), leaves_->begin() + size);
    const Hash root = merkle::RootOf(prefix);
    for (uint64_t index : {uint64_t{0}, size / 3, size - 1}) {
      counting.Reset();
      TreeReader reader(counting);
      const auto proof = merkle::InclusionProof(index, size, reader.AsSubtreeRoot());
      ASSERT_OK(reader.status());
      EXPECT_LE(counting.get_index, Bound(size)) << "index " << index << " size " << size;
      EXPECT_GE(counting.get_index, static_cast<int>(proof.size()) / 2);
      EXPECT_EQ(counting.other_reads, 0);
      EXPECT_TRUE(merkle::VerifyInclusion(index, size, (*leaves_)[index], proof, root))
          << "index " << index << " size " << size;
    }
  }
}

TEST_F(TreeReadsTest, AConsistencyProofReadsLogarithmicallyManyNodes) {
  CountingStore counting(*rocks_);
  const Hash new_root = merkle::RootOf(*leaves_);
  for (uint64_t old_size : {uint64_t{1}, uint64_t{3}, uint64_t{4096}, uint64_t{12345},
                            uint64_t{65536}, kLeaves - 1}) {
    counting.Reset();
    TreeReader reader(counting);
    const auto proof = merkle::ConsistencyProof(old_size, kLeaves, reader.AsSubtreeRoot());
    ASSERT_OK(reader.status());
    EXPECT_LE(counting.get_index, Bound(kLeaves)) << "from " << old_size;
    EXPECT_EQ(counting.other_reads, 0);
    const std::vector<Hash> old_leaves(leaves_->begin(), leaves_->begin() + old_size);
    EXPECT_TRUE(merkle::VerifyConsistency(old_size, kLeaves, merkle::RootOf(old_leaves), new_root,
                                          proof))
        << "from " << old_size;
  }
}

// The reader asks the store for each hash once, however often the proof algorithm asks.
TEST_F(TreeReadsTest, TheReaderRemembersWhatItRead) {
  CountingStore counting(*rocks_);
  TreeReader reader(counting);
  const Hash first = reader.SubtreeRoot(0, kLeaves);
  const int reads = counting.get_index;
  EXPECT_EQ(reads, __builtin_popcountll(kLeaves)) << "one stored peak per bit of the size";
  EXPECT_EQ(Hex(reader.SubtreeRoot(0, kLeaves)), Hex(first));
  EXPECT_EQ(counting.get_index, reads);
  EXPECT_EQ(Hex(first), Hex(merkle::RootOf(*leaves_)));
}

TEST_F(TreeReadsTest, LoadingTheFrontierReadsOneNodePerPeak) {
  CountingStore counting(*rocks_);
  for (uint64_t size : {kLeaves, uint64_t{65536}, uint64_t{65535}}) {
    counting.Reset();
    auto loaded = TreeFrontier::Load(counting, size);
    ASSERT_OK(loaded);
    EXPECT_EQ(counting.get_index, __builtin_popcountll(size));
    const std::vector<Hash> prefix(leaves_->begin(), leaves_->begin() + size);
    EXPECT_EQ(Hex(loaded->Root()), Hex(merkle::RootOf(prefix)));
  }
}

// ---- TreeFrontier::Load ----

RC_GTEST_PROP(TreeProperties, LoadedFrontierIsTheInMemoryFrontier, ()) {
  const uint64_t stored = GenSize(2000);
  const uint64_t size = *rc::gen::arbitrary<bool>() ? stored : *rc::gen::inRange<uint64_t>(0, stored + 1);
  const std::vector<Hash> leaves = Leaves(stored);
  MemStore store;
  StoreTree(store, leaves);
  auto loaded = TreeFrontier::Load(store, size);
  if (!loaded.ok()) RC_FAIL("Load: " + loaded.status().ToString());
  const std::vector<Hash> prefix(leaves.begin(), leaves.begin() + size);
  TreeFrontier grown = Grow(prefix);
  RC_ASSERT(loaded->size() == size);
  RC_ASSERT(Hex(loaded->Root()) == Hex(grown.Root()));
  RC_ASSERT(loaded->Nodes() == grown.Nodes());
  // Both keep growing the same way.
  std::vector<TreeNodePut> from_loaded, from_grown;
  for (uint64_t i = size; i < size + 5; ++i) {
    loaded->Append(LeafOf(i), &from_loaded);
    grown.Append(LeafOf(i), &from_grown);
  }
  RC_ASSERT(from_loaded == from_grown);
  RC_ASSERT(Hex(loaded->Root()) == Hex(grown.Root()));
}

TEST(TreeFrontierLoad, AMissingOrMalformedNodeIsCorrupt) {
  const std::vector<Hash> leaves = Leaves(12);  // peaks [0,8) and [8,12)
  {
    MemStore store;
    StoreTree(store, leaves);
    store.index().erase(TreeNodeKey(2, 2));
    auto loaded = TreeFrontier::Load(store, 12);
    ASSERT_CODE(loaded, StatusCode::kCorrupt);
    EXPECT_THAT(loaded.status().message(), ::testing::HasSubstr("[8, 12) is missing"));
  }
  {
    MemStore store;
    StoreTree(store, leaves);
    store.index()[TreeNodeKey(3, 0)] = "short";
    auto loaded = TreeFrontier::Load(store, 12);
    ASSERT_CODE(loaded, StatusCode::kCorrupt);
    EXPECT_THAT(loaded.status().message(), ::testing::HasSubstr("[0, 8) is not a 32-byte hash"));
  }
  {
    // A changed node is not the reader's to notice (Verify compares nodes with the records), but
    // the root it gives is no longer the leaves' root.
    MemStore store;
    StoreTree(store, leaves);
    std::string& node = store.index()[TreeNodeKey(3, 0)];
    node[0] ^= 1;
    auto loaded = TreeFrontier::Load(store, 12);
    ASSERT_OK(loaded);
    EXPECT_NE(Hex(loaded->Root()), Hex(merkle::RootOf(leaves)));
  }
}

// Hashes added with Add() are served before the store is asked (a batch not yet committed).
TEST(TreeReader, AddedNodesAreServedWithoutReadingTheStore) {
  const std::vector<Hash> leaves = Leaves(10);
  MemStore empty;
  CountingStore counting(empty);
  std::vector<TreeNodePut> nodes;
  Grow(leaves, &nodes);
  TreeReader reader(counting);
  reader.Add(nodes);
  const auto proof = merkle::InclusionProof(3, 10, reader.AsSubtreeRoot());
  ASSERT_OK(reader.status());
  EXPECT_EQ(counting.get_index, 0);
  EXPECT_EQ(Hex(proof), Hex(merkle::InclusionProof(3, 10, merkle::InMemory(leaves))));

  // Without them the store is asked, and its silence is a named corruption.
  TreeReader bare(counting);
  merkle::InclusionProof(3, 10, bare.AsSubtreeRoot());
  EXPECT_CODE(bare.status(), StatusCode::kCorrupt);
  EXPECT_GT(counting.get_index, 0);
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog_test
