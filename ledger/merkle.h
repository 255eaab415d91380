// Merkle: the RFC 6962 / RFC 9162 Merkle tree hash, inclusion and consistency proofs, and their
// verification, over SHA-256.
//
//   leaf hash  = SHA-256(0x00 || leaf input)       (the ledger's leaf input: record.capnp, Entry)
//   node hash  = SHA-256(0x01 || left || right)
//   MTH({})    = SHA-256("")
//   MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two below n
//
// Proof generation asks a SubtreeRoot for MTH of aligned ranges, so the caller decides how the
// tree is stored (in memory, or one stored hash per complete subtree for O(log n) reads).
// Verification needs nothing but the proof, the sizes and the roots: any RFC 6962 verifier
// accepts what this produces.
//
// Policy on the edge cases RFC 9162 leaves open: a consistency proof is defined only for
// 0 < old_size <= new_size; every check with old_size == 0 is refused (as transparency-dev/merkle
// does), since proving that a tree grew from nothing proves nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "ledger/crypto.h"

namespace shiplog::merkle {

using Hash = Sha256Digest;

Hash LeafHash(std::string_view leaf_input);
Hash NodeHash(const Hash& left, const Hash& right);
Hash EmptyRoot();

// MTH of the leaves [begin, end), for ranges the proof algorithms ask about.
using SubtreeRoot = std::function<Hash(uint64_t begin, uint64_t end)>;

// MTH of a list of leaf hashes (O(n); tests and small trees).
Hash RootOf(const std::vector<Hash>& leaf_hashes);
// A SubtreeRoot over leaf hashes held in memory.
SubtreeRoot InMemory(const std::vector<Hash>& leaf_hashes);

// The audit path of leaf `index` in the tree of `size` leaves. REQUIRES: index < size.
std::vector<Hash> InclusionProof(uint64_t index, uint64_t size, const SubtreeRoot& subtree);
// The proof that the tree of `old_size` leaves is a prefix of the tree of `new_size`.
// REQUIRES: 0 < old_size <= new_size.
std::vector<Hash> ConsistencyProof(uint64_t old_size, uint64_t new_size,
                                   const SubtreeRoot& subtree);

bool VerifyInclusion(uint64_t index, uint64_t size, const Hash& leaf_hash,
                     const std::vector<Hash>& proof, const Hash& root);
bool VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                       const Hash& new_root, const std::vector<Hash>& proof);

}  // namespace shiplog::merkle
