#include "ledger/tiles.h"

#include "ledger/crypto.h"
#include "ledger/ledger_internal.h"
#include "ledger/tree.h"

namespace shiplog::tiles {
namespace {

constexpr std::string_view kEntriesPrefix = "entries/";
constexpr std::string_view kPartialMarker = ".p/";
constexpr unsigned kLevelBits = 8;  // a tile spans 2^8 nodes of the level below

// A decimal number as the spec writes it: digits only, no leading zero, at most `max`.
Result<uint64_t> ParseDecimal(std::string_view text, uint64_t max, const std::string& what) {
  if (text.empty() || text.size() > 3 || (text.size() > 1 && text[0] == '0') ||
      text.find_first_not_of("0123456789") != std::string_view::npos) {
    return Status::InvalidArgument("tile path: the " + what + " '" + std::string(text) +
                                   "' is not a decimal number without leading zeros");
  }
  const uint64_t value = std::stoull(std::string(text));
  if (value > max) {
    return Status::InvalidArgument("tile path: the " + what + " " + std::string(text) +
                                   " is above " + std::to_string(max));
  }
  return value;
}

// "x001/x234/067": 3-digit groups, all but the last prefixed with 'x'.
Result<uint64_t> ParseIndex(std::string_view text) {
  uint64_t value = 0;
  while (true) {
    const size_t slash = text.find('/');
    const bool last = slash == std::string_view::npos;
    std::string_view group = text.substr(0, slash);
    if (!last) {
      if (group.empty() || group[0] != 'x') {
        return Status::InvalidArgument(
            "tile path: an index group before the last must be 'x' and 3 digits, not '" +
            std::string(group) + "'");
      }
      group.remove_prefix(1);
    }
    if (group.size() != 3 || group.find_first_not_of("0123456789") != std::string_view::npos) {
      return Status::InvalidArgument("tile path: an index group must be 3 digits, not '" +
                                     std::string(group) + "'");
    }
    if (value > (UINT64_MAX - 999) / 1000) {
      return Status::InvalidArgument("tile path: the index is too large");
    }
    value = value * 1000 + std::stoull(std::string(group));
    if (last) return value;
    text.remove_prefix(slash + 1);
  }
}

// Leaves the tile's first `count` hashes or entries cover, or nullopt beyond 2^64.
std::optional<uint64_t> LeavesCovered(const TileId& tile, uint64_t count) {
  const unsigned shift = tile.level * kLevelBits;
  if (shift >= 64) return std::nullopt;
  const uint64_t nodes = tile.index * kTileWidth + count;
  if (tile.index > (UINT64_MAX - count) / kTileWidth || nodes > (UINT64_MAX >> shift)) {
    return std::nullopt;
  }
  return nodes << shift;
}

Result<std::string> ReadHashes(Store& store, const TileId& tile) {
  std::string out;
  out.reserve(tile.width * kSha256Size);
  const uint64_t first = tile.index * kTileWidth;
  for (uint64_t i = first; i < first + tile.width; ++i) {
    SHIPLOG_ASSIGN_OR_RETURN(auto hash, store.GetIndex(TreeNodeKey(tile.level * kLevelBits, i)));
    if (!hash || hash->size() != kSha256Size) {
      return Status::Corrupt("the stored tree node at level " +
                             std::to_string(tile.level * kLevelBits) + ", index " +
                             std::to_string(i) + " is missing or malformed");
    }
    out += *hash;
  }
  return out;
}

Result<std::string> ReadEntries(Store& store, const TileId& tile) {
  std::string out;
  const uint64_t first = tile.index * kTileWidth;
  for (uint64_t seq = first; seq < first + tile.width; ++seq) {
    SHIPLOG_ASSIGN_OR_RETURN(auto value, store.GetRecord(seq));
    if (!value) return Status::Corrupt("record " + std::to_string(seq) + " is missing");
    SHIPLOG_ASSIGN_OR_RETURN(StoredRecord record, internal::DecodeRecord(seq, *value));
    // The ledger refuses larger entries on append (ledger_internal.h); an old one is damage.
    if (record.entry.size() > internal::kMaxEntryBytes) {
      return Status::Corrupt("record " + std::to_string(seq) + "'s entry is too large for a tile");
    }
    out += static_cast<char>(record.entry.size() >> 8);
    out += static_cast<char>(record.entry.size() & 0xff);
    out += record.entry;
  }
  return out;
}

}  // namespace

std::string TileId::Path() const {
  std::string digits = std::to_string(index);
  digits.insert(0, (3 - digits.size() % 3) % 3, '0');
  std::string n;
  for (size_t i = 0; i < digits.size(); i += 3) {
    if (i + 3 < digits.size()) n += "x";
    n += digits.substr(i, 3);
    if (i + 3 < digits.size()) n += "/";
  }
  std::string path = "tile/" + (entries ? std::string("entries") : std::to_string(level)) + "/" + n;
  if (partial()) path += ".p/" + std::to_string(width);
  return path;
}

Result<TileId> ParseTilePath(std::string_view path) {
  TileId tile;
  if (path.substr(0, kEntriesPrefix.size()) == kEntriesPrefix) {
    tile.entries = true;
    path.remove_prefix(kEntriesPrefix.size());
  } else {
    const size_t slash = path.find('/');
    if (slash == std::string_view::npos) {
      return Status::InvalidArgument("tile path: want tile/<L>/<N>[.p/<W>] or tile/entries/<N>");
    }
    SHIPLOG_ASSIGN_OR_RETURN(uint64_t level,
                             ParseDecimal(path.substr(0, slash), kMaxLevel, "level"));
    tile.level = static_cast<unsigned>(level);
    path.remove_prefix(slash + 1);
  }
  const size_t partial = path.find(kPartialMarker);
  if (partial != std::string_view::npos) {
    SHIPLOG_ASSIGN_OR_RETURN(
        uint64_t width, ParseDecimal(path.substr(partial + kPartialMarker.size()), kTileWidth - 1,
                                     "partial width"));
    if (width == 0) return Status::InvalidArgument("tile path: a partial width is 1 to 255");
    tile.width = static_cast<unsigned>(width);
    path = path.substr(0, partial);
  }
  SHIPLOG_ASSIGN_OR_RETURN(tile.index, ParseIndex(path));
  return tile;
}

Status CheckInTree(const TileId& tile, uint64_t tree_size) {
  const std::optional<uint64_t> needed = LeavesCovered(tile, tile.width);
  if (needed && *needed <= tree_size) return Status::Ok();
  return Status::NotFound(tile.Path() + " is beyond the log's tree of " +
                          std::to_string(tree_size) + " records");
}

Result<std::string> ReadTile(Store& store, const TileId& tile) {
  return tile.entries ? ReadEntries(store, tile) : ReadHashes(store, tile);
}

}  // namespace shiplog::tiles
