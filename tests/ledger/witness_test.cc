// Tests of ledger/witness.h: the checkpoint kept outside the database, its two slots, and what a
// torn or foreign slot does.
#include "ledger/witness.h"

#include <fstream>

#include "test_util.h"

namespace shiplog_test {
namespace {
namespace SHIPLOG_THIS_FILE {

using shiplog::Checkpoint;
using shiplog::CheckpointWitness;
using shiplog::SigningKey;
using shiplog::StatusCode;
using shiplog::TreeHead;
using ::testing::HasSubstr;

Checkpoint SignedAt(uint64_t size, const SigningKey& key) {
  TreeHead head;
  head.origin = "shiplog/witness-test";
  head.size = size;
  head.root[0] = static_cast<uint8_t>(size);
  head.time = static_cast<shiplog::Micros>(size) * 1000;
  return Checkpoint::Sign(head, key);
}

void FlipByteAt(const std::string& path, long offset) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekg(offset);
  char c = 0;
  file.get(c);
  file.seekp(offset);
  file.put(static_cast<char>(c ^ 0x20));
}

class WitnessTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_OK(CheckpointWitness::Create(path())); }
  std::string path() const { return tmp_.Path("checkpoint"); }
  std::unique_ptr<CheckpointWitness> Open(bool read_only = false) {
    return Unwrap(CheckpointWitness::Open(path(), key_.PublicKey(), read_only), "Open");
  }

  TempDir tmp_;
  SigningKey key_ = SigningKey::Generate();
};

TEST_F(WitnessTest, ANewWitnessHoldsNothingAndKeepsWhatItRecords) {
  EXPECT_FALSE(Open()->latest());
  for (uint64_t size = 1; size <= 5; ++size) ASSERT_OK(Open()->Record(SignedAt(size, key_)));
  auto witness = Open(/*read_only=*/true);
  ASSERT_TRUE(witness->latest());
  EXPECT_EQ(witness->latest()->head.size, 5u);
  EXPECT_EQ(witness->latest()->note, SignedAt(5, key_).note);
}

TEST_F(WitnessTest, CreateRefusesAnExistingFile) {
  EXPECT_FALSE(CheckpointWitness::Create(path()).ok());
}

TEST_F(WitnessTest, AMissingFileIsNotFound) {
  EXPECT_CODE(CheckpointWitness::Open(tmp_.Path("nothing"), key_.PublicKey(), false),
              StatusCode::kNotFound);
}

TEST_F(WitnessTest, ATornSlotLeavesTheOtherOne) {
  auto witness = Open();
  ASSERT_OK(witness->Record(SignedAt(7, key_)));  // slot 0
  ASSERT_OK(witness->Record(SignedAt(8, key_)));  // slot 1
  witness.reset();
  FlipByteAt(path(), 4096 + 60);  // inside slot 1's note
  auto reopened = Open();
  ASSERT_TRUE(reopened->latest());
  EXPECT_EQ(reopened->latest()->head.size, 7u);
  // The next write goes over the torn slot, not over the good one.
  ASSERT_OK(reopened->Record(SignedAt(9, key_)));
  FlipByteAt(path(), 60);  // now slot 0's (size 7) is torn: 9 must survive it
  EXPECT_EQ(Open()->latest()->head.size, 9u);
}

TEST_F(WitnessTest, NoSlotThatVerifiesIsCorruptNamingTheFile) {
  ASSERT_OK(Open()->Record(SignedAt(3, key_)));
  SigningKey other = SigningKey::Generate();
  auto opened = CheckpointWitness::Open(path(), other.PublicKey(), false);
  EXPECT_CODE(opened, StatusCode::kCorrupt);
  EXPECT_THAT(opened.status().message(), HasSubstr(path()));
}

TEST_F(WitnessTest, AReadOnlyWitnessCannotRecord) {
  EXPECT_FALSE(Open(/*read_only=*/true)->Record(SignedAt(1, key_)).ok());
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog_test
