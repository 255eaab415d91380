#include "ledger/tree.h"

#include <cstring>

namespace shiplog {
namespace {

// The level of the largest complete subtree that starts at `begin` and ends at or before `end`.
// REQUIRES: begin < end.
unsigned LargestAlignedLevel(uint64_t begin, uint64_t end) {
  unsigned level = 0;
  while (level < 63) {
    const uint64_t width = uint64_t{1} << (level + 1);
    if (begin % width != 0 || end - begin < width) break;
    ++level;
  }
  return level;
}

std::string HashBytes(const merkle::Hash& h) { return std::string(AsBytes(h)); }

}  // namespace

std::string TreeNodeKey(unsigned level, uint64_t index) {
  return "t/" + std::string(1, static_cast<char>(level)) + EncodeSeq(index);
}

// ---- TreeFrontier ----

Result<TreeFrontier> TreeFrontier::Load(Store& store, uint64_t size) {
  TreeFrontier frontier;
  TreeReader reader(store);
  uint64_t begin = 0;
  for (int level = 63; level >= 0; --level) {
    const uint64_t width = uint64_t{1} << level;
    if (!(size & width)) continue;
    frontier.peaks_.push_back(reader.SubtreeRoot(begin, begin + width));
    begin += width;
  }
  SHIPLOG_RETURN_IF_ERROR(reader.status());
  frontier.size_ = size;
  return frontier;
}

merkle::Hash TreeFrontier::Root() const {
  if (peaks_.empty()) return merkle::EmptyRoot();
  merkle::Hash root = peaks_.back();
  for (size_t i = peaks_.size() - 1; i-- > 0;) root = merkle::NodeHash(peaks_[i], root);
  return root;
}

void TreeFrontier::Append(const merkle::Hash& leaf_hash, std::vector<TreeNodePut>* completed) {
  merkle::Hash node = leaf_hash;
  unsigned level = 0;
  uint64_t index = size_;
  completed->emplace_back(TreeNodeKey(level, index), HashBytes(node));
  // Each trailing one bit of the old size is a peak the new node pairs with.
  while (index & 1) {
    node = merkle::NodeHash(peaks_.back(), node);
    peaks_.pop_back();
    index >>= 1;
    ++level;
    completed->emplace_back(TreeNodeKey(level, index), HashBytes(node));
  }
  peaks_.push_back(node);
  ++size_;
}

std::vector<TreeNodePut> TreeFrontier::Nodes() const {
  std::vector<TreeNodePut> nodes;
  uint64_t begin = 0;
  size_t peak = 0;
  for (int level = 63; level >= 0; --level) {
    const uint64_t width = uint64_t{1} << level;
    if (!(size_ & width)) continue;
    nodes.emplace_back(TreeNodeKey(level, begin >> level), HashBytes(peaks_[peak++]));
    begin += width;
  }
  return nodes;
}

// ---- TreeReader ----

void TreeReader::Add(const std::vector<TreeNodePut>& nodes) {
  for (const auto& [key, bytes] : nodes) {
    merkle::Hash h;
    std::memcpy(h.data(), bytes.data(), h.size());
    known_[key] = h;
  }
}

merkle::Hash TreeReader::Node(unsigned level, uint64_t index) {
  std::string key = TreeNodeKey(level, index);
  auto found = known_.find(key);
  if (found != known_.end()) return found->second;
  merkle::Hash h{};
  if (!status_.ok()) return h;
  auto stored = store_.GetIndex(key);
  auto where = [&] {
    return "the tree node for leaves [" + std::to_string(index << level) + ", " +
           std::to_string((index + 1) << level) + ")";
  };
  if (!stored.ok()) {
    status_ = stored.status();
  } else if (!*stored) {
    status_ = Status::Corrupt(where() + " is missing");
  } else if ((*stored)->size() != h.size()) {
    status_ = Status::Corrupt(where() + " is not a 32-byte hash");
  } else {
    std::memcpy(h.data(), (*stored)->data(), h.size());
    known_.emplace(std::move(key), h);
  }
  return h;
}

merkle::Hash TreeReader::SubtreeRoot(uint64_t begin, uint64_t end) {
  if (begin >= end) return merkle::EmptyRoot();
  // [begin, end) is the complete subtrees greedily taken from the left, largest first; RFC
  // 6962's tree over them folds from the right.
  std::vector<merkle::Hash> pieces;
  while (begin < end) {
    unsigned level = LargestAlignedLevel(begin, end);
    pieces.push_back(Node(level, begin >> level));
    begin += uint64_t{1} << level;
  }
  merkle::Hash root = pieces.back();
  for (size_t i = pieces.size() - 1; i-- > 0;) root = merkle::NodeHash(pieces[i], root);
  return root;
}

merkle::SubtreeRoot TreeReader::AsSubtreeRoot() {
  return [this](uint64_t begin, uint64_t end) { return SubtreeRoot(begin, end); };
}

}  // namespace shiplog
