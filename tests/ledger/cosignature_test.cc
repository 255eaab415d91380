// Tests of ledger/cosignature.h and the note verifier keys of ledger/checkpoint.h: the witness
// key grammar, the cosignature/v1 signed message as c2sp.org/tlog-cosignature writes it, and a
// ledger that stores only cosignatures that verify over a checkpoint it signed.
#include "ledger/cosignature.h"

#include <cstdio>

#include "test_util.h"

namespace shiplog_test {
namespace {
namespace SHIPLOG_THIS_FILE {

using shiplog::CosignatureLine;
using shiplog::CosignedMessage;
using shiplog::NoteVerifierKey;
using shiplog::SigningKey;
using shiplog::WitnessKey;
using ::testing::HasSubstr;

// golang.org/x/mod/sumdb/note's published example key (tests/ledger/checkpoint_test.cc).
TEST(NoteVerifierKey, TheGoExampleKey) {
  const std::string typed =
      Unwrap(shiplog::Base64Decode("ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"));
  EXPECT_EQ(NoteVerifierKey("PeterNeumann", typed.substr(1)),
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
}

std::string WitnessVkey(const std::string& name, const SigningKey& key, uint8_t type = 0x04) {
  const uint32_t id = shiplog::NoteKeyId(name, key.PublicKey(), type);
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", id);
  return name + "+" + hex + "+" +
         shiplog::Base64Encode(std::string(1, char(type)) + key.PublicKey());
}

TEST(WitnessKey, ParsesACosignatureV1Key) {
  SigningKey key = SigningKey::Generate();
  auto parsed = WitnessKey::Parse(WitnessVkey("witness.example/w1", key));
  ASSERT_OK(parsed.status());
  EXPECT_EQ(parsed->name, "witness.example/w1");
  EXPECT_EQ(parsed->public_key, key.PublicKey());
}

TEST(WitnessKey, RefusesOtherTypesWrongIdsAndMalformedKeys) {
  SigningKey key = SigningKey::Generate();
  auto note_key = WitnessKey::Parse(WitnessVkey("w", key, 0x01));
  EXPECT_THAT(note_key.status().message(), HasSubstr("is not 4 (Ed25519 cosignature/v1)"));
  std::string wrong_id = WitnessVkey("w", key);
  wrong_id[2] = wrong_id[2] == '0' ? '1' : '0';
  EXPECT_THAT(WitnessKey::Parse(wrong_id).status().message(), HasSubstr("key id"));
  for (const char* bad : {"", "w", "w+00000000", "w+00000000+!!!", "+00000000+AAAA", "a b+0+AA"}) {
    EXPECT_FALSE(WitnessKey::Parse(bad).ok()) << bad;
  }
}

// The spec's example of the signed message.
TEST(Cosignature, TheSignedMessageIsHeaderTimeAndNoteText) {
  const std::string text =
      "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
  EXPECT_EQ(CosignedMessage(text, 1679315147), "cosignature/v1\ntime 1679315147\n" + text);
}

TEST(Cosignature, LedgerStoresOnlyVerifiedCosignaturesOfItsOwnCheckpoints) {
  TestLedger t;
  t.Create();
  t.Enroll("ci", SigningKey::Generate(), {"ci"});
  const shiplog::Checkpoint latest = t.ledger->LatestCheckpoint();
  const std::string text = latest.note.substr(0, latest.note.find("\n\n") + 1);
  SigningKey witness = SigningKey::Generate();
  auto trusted = Unwrap(shiplog::ParseWitnessKeys({WitnessVkey("w1", witness)}));

  const std::string line = CosignatureLine("w1", witness, text, 1700000000);
  auto added = shiplog::AddCosignatures(*t.ledger, latest.note + line, trusted);
  ASSERT_OK(added.status());
  ASSERT_EQ(added->size(), 1u);
  EXPECT_EQ((*added)[0].timestamp, 1700000000u);

  auto shown = Unwrap(shiplog::WithCosignatures(t.ledger->store(), latest));
  EXPECT_EQ(shown.checkpoint.note, latest.note + line);
  ASSERT_OK(shiplog::Checkpoint::Open(shown.checkpoint.note, t.ledger->public_key()).status());

  // Over another text, by an untrusted key, or with no cosignature: refused, nothing more stored.
  const std::string other = CosignatureLine("w1", witness, text + "x\n", 1700000000);
  EXPECT_THAT(shiplog::AddCosignatures(*t.ledger, latest.note + other, trusted).status().message(),
              HasSubstr("does not verify"));
  SigningKey stranger = SigningKey::Generate();
  EXPECT_THAT(shiplog::AddCosignatures(
                  *t.ledger, latest.note + CosignatureLine("w2", stranger, text, 1), trusted)
                  .status()
                  .message(),
              HasSubstr("not by a trusted witness key"));
  EXPECT_EQ(shiplog::AddCosignatures(*t.ledger, latest.note, trusted).status().code(),
            shiplog::StatusCode::kInvalidArgument);
  EXPECT_EQ(Unwrap(shiplog::WithCosignatures(t.ledger->store(), latest)).cosignatures.size(), 1u);

  // The ledger still verifies with cosignatures in its index.
  auto report = Unwrap(t.ledger->Verify());
  EXPECT_TRUE(report.ok) << report.problem;
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog_test
