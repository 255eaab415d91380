#include "ledger/merkle.h"

#include <cstring>

namespace shiplog::merkle {
namespace {

// The largest power of two strictly below n. REQUIRES: n > 1.
uint64_t SplitPoint(uint64_t n) {
  uint64_t k = 1;
  while (k << 1 < n) k <<= 1;
  return k;
}

// RFC 9162 2.1.3.1 PATH(m, D[begin:end]), appended to `out` leaf-side first.
void Path(uint64_t m, uint64_t begin, uint64_t end, const SubtreeRoot& subtree,
          std::vector<Hash>& out) {
  const uint64_t n = end - begin;
  if (n <= 1) return;
  const uint64_t k = SplitPoint(n);
  if (m < k) {
    Path(m, begin, begin + k, subtree, out);
    out.push_back(subtree(begin + k, end));
  } else {
    Path(m - k, begin + k, end, subtree, out);
    out.push_back(subtree(begin, begin + k));
  }
}

// RFC 9162 2.1.4.1 SUBPROOF(m, D[begin:end], b).
void Subproof(uint64_t m, uint64_t begin, uint64_t end, bool whole, const SubtreeRoot& subtree,
              std::vector<Hash>& out) {
  const uint64_t n = end - begin;
  if (m == n) {
    if (!whole) out.push_back(subtree(begin, end));
    return;
  }
  const uint64_t k = SplitPoint(n);
  if (m <= k) {
    Subproof(m, begin, begin + k, whole, subtree, out);
    out.push_back(subtree(begin + k, end));
  } else {
    Subproof(m - k, begin + k, end, false, subtree, out);
    out.push_back(subtree(begin, begin + k));
  }
}

}  // namespace

Hash LeafHash(std::string_view leaf_input) { return Sha256WithPrefix(0x00, leaf_input); }

Hash NodeHash(const Hash& left, const Hash& right) {
  char both[2 * kSha256Size];
  std::memcpy(both, left.data(), kSha256Size);
  std::memcpy(both + kSha256Size, right.data(), kSha256Size);
  return Sha256WithPrefix(0x01, std::string_view(both, sizeof both));
}

Hash EmptyRoot() { return Sha256(""); }

SubtreeRoot InMemory(const std::vector<Hash>& leaf_hashes) {
  return [&leaf_hashes](uint64_t begin, uint64_t end) {
    std::function<Hash(uint64_t, uint64_t)> mth = [&](uint64_t b, uint64_t e) -> Hash {
      if (e - b == 1) return leaf_hashes[b];
      const uint64_t k = SplitPoint(e - b);
      return NodeHash(mth(b, b + k), mth(b + k, e));
    };
    return begin == end ? EmptyRoot() : mth(begin, end);
  };
}

Hash RootOf(const std::vector<Hash>& leaf_hashes) {
  return InMemory(leaf_hashes)(0, leaf_hashes.size());
}

std::vector<Hash> InclusionProof(uint64_t index, uint64_t size, const SubtreeRoot& subtree) {
  std::vector<Hash> proof;
  if (index < size) Path(index, 0, size, subtree, proof);
  return proof;
}

std::vector<Hash> ConsistencyProof(uint64_t old_size, uint64_t new_size,
                                   const SubtreeRoot& subtree) {
  std::vector<Hash> proof;
  if (0 < old_size && old_size < new_size) Subproof(old_size, 0, new_size, true, subtree, proof);
  return proof;
}

// RFC 9162 2.1.3.2.
bool VerifyInclusion(uint64_t index, uint64_t size, const Hash& leaf_hash,
                     const std::vector<Hash>& proof, const Hash& root) {
  if (index >= size) return false;
  uint64_t fn = index, sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      r = NodeHash(p, r);
      if (!(fn & 1)) {
        while (fn != 0 && !(fn & 1)) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

// RFC 9162 2.1.4.2.
bool VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                       const Hash& new_root, const std::vector<Hash>& proof) {
  if (old_size == 0 || old_size > new_size) return false;
  if (old_size == new_size) return proof.empty() && old_root == new_root;
  if (proof.empty()) return false;
  std::vector<Hash> path = proof;
  // A power-of-two old tree is a complete subtree: its root starts the path.
  if ((old_size & (old_size - 1)) == 0) path.insert(path.begin(), old_root);
  uint64_t fn = old_size - 1, sn = new_size - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if (!(fn & 1)) {
        while (fn != 0 && !(fn & 1)) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == old_root && sr == new_root && sn == 0;
}

}  // namespace shiplog::merkle
