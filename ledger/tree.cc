#include "ledger/tree.h"

#include <cstring>
#include <optional>
#include <string_view>

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

constexpr char kTreeNodePrefix[] = "t/";

}  // namespace

std::string TreeNodeKey(unsigned level, uint64_t index) {
  return kTreeNodePrefix + std::string(1, static_cast<char>(level)) + EncodeSeq(index);
}

namespace {

// The (level, index) a TreeNodeKey names; nullopt for any other key.
std::optional<std::pair<unsigned, uint64_t>> TreeNodeAt(std::string_view key) {
  if (key.size() != 11 || key.substr(0, 2) != kTreeNodePrefix) return std::nullopt;
  return std::make_pair(unsigned{static_cast<unsigned char>(key[2])}, DecodeSeq(key.substr(3)));
}

}  // namespace

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
    const auto at = TreeNodeAt(key);
    merkle::Hash h;
    if (!at || at->first >= known_.size() || bytes.size() != h.size()) continue;
    std::memcpy(h.data(), bytes.data(), h.size());
    known_[at->first][at->second] = h;
  }
}

merkle::Hash TreeReader::Node(unsigned level, uint64_t index) {
  auto& at_level = known_[level];
  auto found = at_level.find(index);
  if (found != at_level.end()) return found->second;
  merkle::Hash h{};
  if (!status_.ok()) return h;
  auto stored = store_.GetIndex(TreeNodeKey(level, index));
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
    at_level.emplace(index, h);
  }
  return h;
}

merkle::Hash TreeReader::SubtreeRoot(uint64_t begin, uint64_t end) {
  if (begin >= end) return merkle::EmptyRoot();
  const unsigned top = LargestAlignedLevel(begin, end);
  if (begin + (uint64_t{1} << top) == end) return Node(top, begin >> top);
  const auto range = std::make_pair(begin, end);
  if (auto found = folded_.find(range); found != folded_.end()) return found->second;
  // [begin, end) is the complete subtrees greedily taken from the left, largest first; RFC
  // 6962's tree over them folds from the right.
  std::array<merkle::Hash, 64> pieces;
  size_t count = 0;
  for (uint64_t at = begin; at < end;) {
    const unsigned level = LargestAlignedLevel(at, end);
    pieces[count++] = Node(level, at >> level);
    at += uint64_t{1} << level;
  }
  merkle::Hash root = pieces[count - 1];
  for (size_t i = count - 1; i-- > 0;) root = merkle::NodeHash(pieces[i], root);
  if (status_.ok()) folded_.emplace(range, root);
  return root;
}

merkle::SubtreeRoot TreeReader::AsSubtreeRoot() {
  return [this](uint64_t begin, uint64_t end) { return SubtreeRoot(begin, end); };
}

}  // namespace shiplog
