// Tiles: the ledger's Merkle tree and entries as the static resources of C2SP tlog-tiles
// (https://c2sp.org/tlog-tiles), so monitors and witnesses can follow the log with their own
// clients.
//
//   tile/<L>/<N>[.p/<W>]       hash tile: hashes i = 0..W-1 are MTH of the leaves
//                              [(N*256 + i) * 256^L, (N*256 + i + 1) * 256^L), i.e. the stored
//                              complete subtree at tree level 8L, index N*256 + i (ledger/tree.h)
//   tile/entries/<N>[.p/<W>]   entry bundle: the leaf inputs of records N*256 .. N*256+W-1 (each
//                              record's Entry, the bytes its RFC 6962 leaf hash covers), each as a
//                              big-endian uint16 length and the bytes
//
// <N> is written in 3-digit groups, all but the last prefixed with 'x' (1234067: x001/x234/067);
// W is 1..255 for a partial tile, and absent for a full one (256). Both are read from the Store
// alone, with no lock: records and complete subtrees never change once stored.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ledger/status.h"
#include "ledger/store.h"

namespace shiplog::tiles {

constexpr unsigned kTileWidth = 256;  // hashes or entries in a full tile
constexpr unsigned kMaxLevel = 63;

// One tile resource.
struct TileId {
  bool entries = false;  // an entry bundle (level 0) rather than a hash tile
  unsigned level = 0;
  uint64_t index = 0;
  unsigned width = kTileWidth;  // 1..256; below 256 the tile is partial

  bool partial() const { return width < kTileWidth; }
  // The path under the log's prefix, e.g. "tile/0/x001/234.p/7".
  std::string Path() const;
};

// Parses the part of a path after "tile/" ("0/x001/234.p/7", "entries/005"), as the spec
// writes it and nothing else (no leading zeros, no empty groups); kInvalidArgument naming the
// fault.
Result<TileId> ParseTilePath(std::string_view path);

// kNotFound, naming the tree size, when `tile` holds a hash or entry beyond the first
// `tree_size` leaves: it does not exist (yet) for a client that trusts that checkpoint.
Status CheckInTree(const TileId& tile, uint64_t tree_size);

// The tile's bytes read from `store`: width * 32 bytes of hashes, or the entry bundle.
// REQUIRES: CheckInTree(tile, n) is OK for a tree of n records the store holds.
// kCorrupt when a stored node or record is missing or malformed.
Result<std::string> ReadTile(Store& store, const TileId& tile);

}  // namespace shiplog::tiles
