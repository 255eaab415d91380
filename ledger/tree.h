// The ledger's Merkle tree on a Store: one stored hash for every complete subtree, so an append
// writes the handful of subtrees its leaf completes (two on average) and any inclusion or
// consistency proof at any past size reads O(log n) stored hashes, never a rebuild.
//
// Index key (Store index keyspace):
//   "t/" level(1 byte) index(8 bytes big-endian) -> 32-byte hash
//   the RFC 6962 root of the leaves [index * 2^level, (index + 1) * 2^level)
// A complete subtree never changes once its last leaf is in, which is why every past tree can
// be proved from the same stored nodes.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ledger/merkle.h"
#include "ledger/status.h"
#include "ledger/store.h"

namespace shiplog {

// The key of the stored root of complete subtree `index` at `level`.
std::string TreeNodeKey(unsigned level, uint64_t index);

// A stored hash with its key, for a StoreBatch's index puts.
using TreeNodePut = std::pair<std::string, std::string>;

// The right edge of a tree: the roots of the complete subtrees that make up leaves [0, size),
// largest first (one per bit set in size). Enough to add leaves and compute the root in memory.
class TreeFrontier {
 public:
  TreeFrontier() = default;

  // Reads the frontier of the tree of `size` leaves from `store`: O(log size) reads.
  static Result<TreeFrontier> Load(Store& store, uint64_t size);

  uint64_t size() const { return size_; }
  merkle::Hash Root() const;

  // Adds one leaf. The subtrees it completes (the leaf itself first) are added to `completed`.
  void Append(const merkle::Hash& leaf_hash, std::vector<TreeNodePut>* completed);

  // The frontier's subtrees as (key, hash), to serve proofs without reading them back.
  std::vector<TreeNodePut> Nodes() const;

 private:
  uint64_t size_ = 0;
  std::vector<merkle::Hash> peaks_;  // largest subtree first
};

// Serves subtree roots to the proof algorithms from stored nodes, remembering what it read so a
// proof reads each stored hash once. Hashes added with Add() (a batch not yet committed, a
// frontier in memory) are served before the store is asked.
class TreeReader {
 public:
  explicit TreeReader(Store& store) : store_(store) {}

  void Add(const std::vector<TreeNodePut>& nodes);

  // MTH of leaves [begin, end) for a range that is a node of an RFC 6962 tree (begin a multiple
  // of the smallest power of two >= end - begin), as the proof algorithms ask; the first `end`
  // leaves must be stored.
  merkle::Hash SubtreeRoot(uint64_t begin, uint64_t end);
  merkle::SubtreeRoot AsSubtreeRoot();

  // The first failure of any read so far (a missing or malformed node is kCorrupt).
  const Status& status() const { return status_; }

 private:
  merkle::Hash Node(unsigned level, uint64_t index);

  Store& store_;
  // Complete subtrees by level, then index: added, or read from the store once.
  std::array<std::unordered_map<uint64_t, merkle::Hash>, 64> known_;
  // Roots of ranges that are not one complete subtree (a tree's right edge), by (begin, end): the
  // receipts of one batch all ask for the same ones.
  std::map<std::pair<uint64_t, uint64_t>, merkle::Hash> folded_;
  Status status_;
};

}  // namespace shiplog
