// Tests of ledger/tiles.h: the tlog-tiles path grammar and which tiles a tree of a given size
// has, with the spec's own examples (c2sp.org/tlog-tiles). The bytes of the tiles are checked
// end to end by an independent client in tests/server/tlog_tiles_test.cc.
#include "ledger/tiles.h"

#include "test_util.h"

namespace shiplog_test {
namespace {
namespace SHIPLOG_THIS_FILE {

using shiplog::tiles::CheckInTree;
using shiplog::tiles::ParseTilePath;
using shiplog::tiles::TileId;
using ::testing::HasSubstr;

TileId Tile(unsigned level, uint64_t index, unsigned width = 256, bool entries = false) {
  TileId tile;
  tile.entries = entries;
  tile.level = level;
  tile.index = index;
  tile.width = width;
  return tile;
}

TEST(TilePath, TheSpecsIndexEncoding) {
  EXPECT_EQ(Tile(0, 1234067).Path(), "tile/0/x001/x234/067");
  EXPECT_EQ(Tile(2, 0, 1).Path(), "tile/2/000.p/1");
  EXPECT_EQ(Tile(0, 5, 256, true).Path(), "tile/entries/005");
  EXPECT_EQ(Tile(0, 1000, 17, true).Path(), "tile/entries/x001/000.p/17");
}

TEST(TilePath, ParsesWhatPathWrites) {
  for (const TileId& tile : {Tile(0, 1234067), Tile(1, 0, 17), Tile(63, 999),
                             Tile(0, 273, 112, true), Tile(0, 1000000, 256, true)}) {
    const std::string path = tile.Path();
    auto parsed = ParseTilePath(path.substr(5));
    ASSERT_OK(parsed.status());
    EXPECT_EQ(parsed->Path(), path);
  }
}

TEST(TilePath, RefusesEverythingElseNamingTheFault) {
  for (const char* bad : {"0/1", "0/0001", "0/x000", "0/x1/000", "00/000", "64/000", "-1/000",
                          "0/000.p/0", "0/000.p/256", "0/000.p/01", "0/000.p/", "0/000/",
                          "entries/x999/x999/x999/x999/x999/x999/999", "0", "", "a/000"}) {
    auto parsed = ParseTilePath(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    EXPECT_THAT(parsed.status().message(), HasSubstr("tile path")) << bad;
  }
}

// "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial level 0 tile
// of width 112, one full level 1 tile, one partial level 1 tile of width 17, and one partial
// level 2 tile of width 1."
TEST(TileInTree, TheSpecsExampleOfSeventyThousand) {
  const uint64_t size = 70000;
  EXPECT_OK(CheckInTree(Tile(0, 272), size));
  EXPECT_FALSE(CheckInTree(Tile(0, 273), size).ok());
  EXPECT_OK(CheckInTree(Tile(0, 273, 112), size));
  EXPECT_FALSE(CheckInTree(Tile(0, 273, 113), size).ok());
  EXPECT_OK(CheckInTree(Tile(0, 273, 112, true), size));
  EXPECT_OK(CheckInTree(Tile(1, 0), size));
  EXPECT_OK(CheckInTree(Tile(1, 1, 17), size));
  EXPECT_FALSE(CheckInTree(Tile(1, 1), size).ok());
  EXPECT_OK(CheckInTree(Tile(2, 0, 1), size));
  EXPECT_FALSE(CheckInTree(Tile(2, 0, 2), size).ok());
  EXPECT_FALSE(CheckInTree(Tile(3, 0, 1), size).ok());
  EXPECT_EQ(CheckInTree(Tile(0, 274), size).code(), shiplog::StatusCode::kNotFound);
}

TEST(TileInTree, ATreeOf256HasAPartialLevelOneTile) {
  EXPECT_OK(CheckInTree(Tile(0, 0), 256));
  EXPECT_OK(CheckInTree(Tile(1, 0, 1), 256));
  EXPECT_FALSE(CheckInTree(Tile(0, 0), 255).ok());
}

TEST(TileInTree, HugeIndexesAndLevelsDoNotOverflow) {
  EXPECT_FALSE(CheckInTree(Tile(0, UINT64_MAX / 256), UINT64_MAX).ok());
  EXPECT_FALSE(CheckInTree(Tile(8, 0, 1), UINT64_MAX).ok());
  EXPECT_FALSE(CheckInTree(Tile(63, 999), UINT64_MAX).ok());
  EXPECT_OK(CheckInTree(Tile(7, 0, 255), UINT64_MAX));
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog_test
