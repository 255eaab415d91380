// Tests of ledger/checkpoint.h: the C2SP tlog-checkpoint signed note. Its exact text and
// signature line, the signed-note key id, interoperability with golang.org/x/mod/sumdb/note's
// published example, and the notes Open must refuse (with the code that says why).
#include "ledger/checkpoint.h"

#include <algorithm>

#include "test_util.h"

namespace shiplog_test {
namespace {
namespace SHIPLOG_THIS_FILE {

using shiplog::Base64Decode;
using shiplog::Base64Encode;
using shiplog::Checkpoint;
using shiplog::CheckpointText;
using shiplog::NoteKeyId;
using shiplog::SigningKey;
using shiplog::TreeHead;
using ::testing::HasSubstr;

const std::string kEmDash = "\xE2\x80\x94";  // U+2014

// A root whose base64 form is known without our encoder: SHA-256 of nothing.
constexpr char kEmptySha256Base64[] = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

TreeHead Head(uint64_t size = 42, bool manual = false) {
  TreeHead head;
  head.origin = "shiplog/test-log";
  head.size = size;
  head.root = shiplog::Sha256("");
  head.time = kT0 + 123456;  // 2026-11-24T18:00:00.123456Z
  head.manual_clock = manual;
  return head;
}

std::string KeyIdBytes(uint32_t id) {
  return {static_cast<char>(id >> 24), static_cast<char>(id >> 16), static_cast<char>(id >> 8),
          static_cast<char>(id)};
}

// A note for any `text` with a valid signature line by `key` under `name`: lets the tests below
// show that a malformed text is refused for its form, not for its signature.
std::string SignedNote(const std::string& text, const std::string& name, const SigningKey& key) {
  const std::string blob = KeyIdBytes(NoteKeyId(name, key.PublicKey())) + key.Sign(text);
  return text + "\n" + kEmDash + " " + name + " " + Base64Encode(blob) + "\n";
}

class CheckpointTest : public ::testing::Test {
 protected:
  SigningKey key_ = SigningKey::Generate();
  SigningKey other_ = SigningKey::Generate();
};

// ---- the format ----

TEST_F(CheckpointTest, TextIsOriginSizeRootAndTime) {
  EXPECT_EQ(CheckpointText(Head()), std::string("shiplog/test-log\n42\n") + kEmptySha256Base64 +
                                        "\ntime 2026-11-24T18:00:00.123456Z\n");
  TreeHead whole_second = Head(7);
  whole_second.time = kT0;
  EXPECT_EQ(CheckpointText(whole_second),
            std::string("shiplog/test-log\n7\n") + kEmptySha256Base64 + "\ntime 2026-11-24T18:00:00Z\n");
}

TEST_F(CheckpointTest, ADrillLedgersTextSaysManualClock) {
  EXPECT_EQ(CheckpointText(Head(42, /*manual=*/true)),
            std::string("shiplog/test-log\n42\n") + kEmptySha256Base64 +
                "\ntime 2026-11-24T18:00:00.123456Z\nmanual-clock\n");
}

TEST_F(CheckpointTest, SignatureLineIsEmDashOriginAndKeyIdWithSignature) {
  const Checkpoint cp = Checkpoint::Sign(Head(), key_);
  const std::string text = CheckpointText(Head());
  ASSERT_EQ(cp.note.substr(0, text.size() + 1), text + "\n") << "text, then a blank line";
  const std::string line = cp.note.substr(text.size() + 1);
  const std::string prefix = kEmDash + " shiplog/test-log ";
  ASSERT_EQ(line.substr(0, prefix.size()), prefix);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << "one signature line";
  auto blob = Base64Decode(line.substr(prefix.size(), line.size() - prefix.size() - 1));
  ASSERT_OK(blob);
  ASSERT_EQ(blob->size(), 4u + shiplog::kSignatureSize);
  EXPECT_EQ(blob->substr(0, 4), KeyIdBytes(NoteKeyId("shiplog/test-log", key_.PublicKey())));
  EXPECT_TRUE(shiplog::VerifySignature(key_.PublicKey(), text, blob->substr(4)))
      << "pure Ed25519 over the note text, each line with its newline";
  EXPECT_FALSE(shiplog::VerifySignature(key_.PublicKey(), text + "\n", blob->substr(4)))
      << "the blank line is not signed";
}

TEST_F(CheckpointTest, KeyIdIsTheFirstFourBytesOfTheHashOfNameAndKey) {
  const std::string name = "shiplog/test-log";
  std::string input = name;
  input += '\x0A';
  input += '\x01';
  input += key_.PublicKey();
  const auto digest = shiplog::Sha256(input);
  const uint32_t want = (uint32_t{digest[0]} << 24) | (uint32_t{digest[1]} << 16) |
                        (uint32_t{digest[2]} << 8) | uint32_t{digest[3]};
  EXPECT_EQ(NoteKeyId(name, key_.PublicKey()), want);
  EXPECT_NE(NoteKeyId(name, other_.PublicKey()), want) << "the key is part of the id";
  EXPECT_NE(NoteKeyId("shiplog/other", key_.PublicKey()), want) << "the name is part of the id";
}

// golang.org/x/mod/sumdb/note's published verifier key: the same text from its name and key.
TEST_F(CheckpointTest, NoteVerifierKeyMatchesTheSignedNoteExample) {
  const std::string vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
  auto typed = Base64Decode("ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
  ASSERT_TRUE(typed.ok());
  ASSERT_EQ(typed->size(), 33u);
  EXPECT_EQ(shiplog::NoteVerifierKey("PeterNeumann", typed->substr(1)), vkey);
  EXPECT_NE(shiplog::NoteVerifierKey("PeterNeumann", key_.PublicKey()), vkey);
}

TEST_F(CheckpointTest, SignThenOpenRoundTrips) {
  for (bool manual : {false, true}) {
    const Checkpoint cp = Checkpoint::Sign(Head(42, manual), key_);
    auto opened = Checkpoint::Open(cp.note, key_.PublicKey());
    ASSERT_OK(opened);
    EXPECT_EQ(opened->note, cp.note);
    EXPECT_EQ(opened->head.origin, "shiplog/test-log");
    EXPECT_EQ(opened->head.size, 42u);
    EXPECT_EQ(opened->head.root, shiplog::Sha256(""));
    EXPECT_EQ(opened->head.time, kT0 + 123456);
    EXPECT_EQ(opened->head.manual_clock, manual);
  }
}

TEST_F(CheckpointTest, LargestAndSmallestSizesRoundTrip) {
  for (uint64_t size : {uint64_t{0}, uint64_t{1}, UINT64_MAX}) {
    auto opened = Checkpoint::Open(Checkpoint::Sign(Head(size), key_).note, key_.PublicKey());
    ASSERT_OK(opened);
    EXPECT_EQ(opened->head.size, size);
  }
}

TEST_F(CheckpointTest, ToJsonCarriesTheHeadAndTheNote) {
  const Checkpoint cp = Checkpoint::Sign(Head(42, true), key_);
  const json j = cp.ToJson();
  EXPECT_EQ(j["origin"], "shiplog/test-log");
  EXPECT_EQ(j["size"], 42);
  EXPECT_EQ(j["root_hash"], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(j["time"], "2026-11-24T18:00:00.123456Z");
  EXPECT_EQ(j["manual_clock"], true);
  EXPECT_EQ(j["checkpoint"], cp.note);
}

TEST_F(CheckpointTest, FromTextReadsTheNoteAndTheCheckpointCommandsJson) {
  const Checkpoint cp = Checkpoint::Sign(Head(), key_);
  auto from_note = Checkpoint::FromText(cp.note, key_.PublicKey());
  ASSERT_OK(from_note);
  EXPECT_EQ(from_note->note, cp.note);
  auto from_json = Checkpoint::FromText(cp.ToJson().dump(), key_.PublicKey());
  ASSERT_OK(from_json);
  EXPECT_EQ(from_json->note, cp.note);
  auto indented = Checkpoint::FromText("\n  " + cp.ToJson().dump(2) + "\n", key_.PublicKey());
  ASSERT_OK(indented);
  EXPECT_EQ(indented->head.size, 42u);

  EXPECT_CODE(Checkpoint::FromText(R"({"size": 42})", key_.PublicKey()),
              StatusCode::kInvalidArgument);
  EXPECT_CODE(Checkpoint::FromText(R"({"checkpoint": 42})", key_.PublicKey()),
              StatusCode::kInvalidArgument);
  EXPECT_CODE(Checkpoint::FromText("{not json", key_.PublicKey()), StatusCode::kInvalidArgument);
  // JSON is checked as strictly as the note: a note by another key inside is still refused.
  EXPECT_CODE(Checkpoint::FromText(cp.ToJson().dump(), other_.PublicKey()),
              StatusCode::kBadSignature);
}

// ---- interoperability: golang.org/x/mod/sumdb/note's published example ----

// Verifier key "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW": name, key id
// in hex, and base64 of 0x01 (Ed25519) followed by the 32-byte public key.
constexpr char kPeterKeyBase64[] = "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
// Its signer key "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz":
// base64 of 0x01 followed by the 32-byte seed.
constexpr char kPeterSeedBase64[] = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr char kPeterText[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr char kPeterSignature[] =
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=";

std::string PeterPublicKey() {
  const std::string typed = Unwrap(Base64Decode(kPeterKeyBase64), "Base64Decode(key)");
  EXPECT_EQ(typed.size(), 33u);
  EXPECT_EQ(typed[0], '\x01') << "an Ed25519 key";
  return typed.substr(1);
}

TEST(NoteInterop, KeyIdOfTheGoExampleKey) {
  EXPECT_EQ(NoteKeyId("PeterNeumann", PeterPublicKey()), 0xc74f20a3u);
}

TEST(NoteInterop, TheGoExampleSignatureVerifies) {
  const std::string blob = Unwrap(Base64Decode(kPeterSignature), "Base64Decode(signature)");
  ASSERT_EQ(blob.size(), 4u + shiplog::kSignatureSize);
  EXPECT_EQ(blob.substr(0, 4), KeyIdBytes(0xc74f20a3u));
  EXPECT_TRUE(shiplog::VerifySignature(PeterPublicKey(), kPeterText, blob.substr(4)));
  EXPECT_FALSE(shiplog::VerifySignature(PeterPublicKey(), std::string(kPeterText) + "\n",
                                        blob.substr(4)));
}

// Ed25519 is deterministic: our signer, given the example's seed, writes the example's signature
// line byte for byte.
TEST(NoteInterop, OurSignerReproducesTheGoExampleSignatureLine) {
  const std::string typed_seed = Unwrap(Base64Decode(kPeterSeedBase64), "Base64Decode(seed)");
  ASSERT_EQ(typed_seed.size(), 33u);
  ASSERT_EQ(typed_seed[0], '\x01');
  auto key = SigningKey::FromSeed(typed_seed.substr(1));
  ASSERT_OK(key);
  EXPECT_EQ(key->PublicKey(), PeterPublicKey());
  EXPECT_EQ(SignedNote(kPeterText, "PeterNeumann", *key),
            std::string(kPeterText) + "\n" + kEmDash + " PeterNeumann " + kPeterSignature + "\n");

  // A checkpoint signed with that key under that name carries the same key id: base64 of
  // c7 4f 20 a3 starts with "x08go" (the sixth character already holds signature bits).
  TreeHead head = Head();
  head.origin = "PeterNeumann";
  const Checkpoint cp = Checkpoint::Sign(head, *key);
  EXPECT_THAT(cp.note, HasSubstr("\n\n" + kEmDash + " PeterNeumann x08go")) << cp.note;
  EXPECT_OK(Checkpoint::Open(cp.note, PeterPublicKey()));
}

// ---- refusals ----

TEST_F(CheckpointTest, AnotherKeyIsABadSignature) {
  const Checkpoint cp = Checkpoint::Sign(Head(), key_);
  auto opened = Checkpoint::Open(cp.note, other_.PublicKey());
  ASSERT_CODE(opened, StatusCode::kBadSignature);
  EXPECT_THAT(opened.status().message(), HasSubstr("size 42"));
}

// The signed-note spec: lines by keys the verifier does not know are ignored. A note signed only
// by another key under the ledger's name therefore has no signature by the ledger key.
TEST_F(CheckpointTest, LinesByOtherKeysAreIgnored) {
  const Checkpoint forged = Checkpoint::Sign(Head(), other_);
  auto opened = Checkpoint::Open(forged.note, key_.PublicKey());
  ASSERT_CODE(opened, StatusCode::kBadSignature);
  EXPECT_THAT(opened.status().message(), HasSubstr("no signature by the ledger key"));

  // With the ledger's own line as well (before or after), the note opens.
  const std::string text = CheckpointText(Head());
  const std::string ours = Checkpoint::Sign(Head(), key_).note.substr(text.size() + 1);
  const std::string theirs = forged.note.substr(text.size() + 1);
  EXPECT_OK(Checkpoint::Open(text + "\n" + theirs + ours, key_.PublicKey()));
  EXPECT_OK(Checkpoint::Open(text + "\n" + ours + theirs, key_.PublicKey()));
  // A witness's cosignature under another name is ignored as well.
  const std::string witness = SignedNote(text, "witness.example.com", other_).substr(text.size() + 1);
  EXPECT_OK(Checkpoint::Open(text + "\n" + ours + witness, key_.PublicKey()));
  // The ledger's key under another name is not the ledger's signature.
  const std::string renamed = SignedNote(text, "someone-else", key_).substr(text.size() + 1);
  EXPECT_CODE(Checkpoint::Open(text + "\n" + renamed, key_.PublicKey()), StatusCode::kBadSignature);
}

// Each line of the text is signed: change any and the ledger's signature no longer verifies.
TEST_F(CheckpointTest, AnEditedSizeRootOrTimeIsABadSignature) {
  const std::string note = Checkpoint::Sign(Head(42, true), key_).note;
  const std::vector<std::pair<std::string, std::string>> edits = {
      {"\n42\n", "\n43\n"},
      {kEmptySha256Base64, std::string("57DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")},
      {"18:00:00.123456Z", "18:00:01.123456Z"},
      {"manual-clock\n", "real-clock\n"},
  };
  for (const auto& [from, to] : edits) {
    std::string edited = note;
    const size_t at = edited.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    edited.replace(at, from.size(), to);
    auto opened = Checkpoint::Open(edited, key_.PublicKey());
    EXPECT_CODE(opened, StatusCode::kBadSignature) << "edit " << from << " -> " << to;
    EXPECT_THAT(opened.status().message(), HasSubstr("does not verify")) << from;
  }
  // A changed character in the signature itself.
  std::string bad_sig = note;
  const size_t last = bad_sig.rfind(' ') + 10;
  bad_sig[last] = bad_sig[last] == 'A' ? 'B' : 'A';
  EXPECT_CODE(Checkpoint::Open(bad_sig, key_.PublicKey()), StatusCode::kBadSignature);
}

// OpenOwn re-signs instead of verifying when the note is exactly the ledger key's own; every
// other note gets Open()'s answer.
TEST_F(CheckpointTest, OpenOwnAnswersAsOpenDoes) {
  const std::string note = Checkpoint::Sign(Head(42, true), key_).note;
  auto own = Checkpoint::OpenOwn(note, key_);
  ASSERT_OK(own);
  EXPECT_EQ(own->note, note);
  EXPECT_EQ(own->head.size, 42u);
  EXPECT_TRUE(own->head.manual_clock);

  std::string bad_sig = note;
  const size_t last = bad_sig.rfind(' ') + 10;
  bad_sig[last] = bad_sig[last] == 'A' ? 'B' : 'A';
  std::string edited = note;
  edited.replace(edited.find("\n42\n"), 4, "\n43\n");
  const std::string text = CheckpointText(Head());
  const std::string witness = SignedNote(text, "witness.example.com", other_).substr(text.size() + 1);
  const std::string cosigned = Checkpoint::Sign(Head(), key_).note + witness;
  for (const std::string& other : {bad_sig, edited, Checkpoint::Sign(Head(), other_).note,
                                   cosigned, std::string("no note\n"), std::string()}) {
    auto opened = Checkpoint::OpenOwn(other, key_);
    auto reference = Checkpoint::Open(other, key_.PublicKey());
    EXPECT_EQ(opened.status().code(), reference.status().code()) << other;
    EXPECT_EQ(opened.status().message(), reference.status().message()) << other;
  }
  EXPECT_OK(Checkpoint::OpenOwn(cosigned, key_)) << "a cosigned note is not the key's own bytes";
}

struct MalformedCase {
  const char* what;
  std::string text;  // signed properly, so only the form is wrong
};

TEST_F(CheckpointTest, MalformedTextsAreInvalidArguments) {
  const std::string root = kEmptySha256Base64;
  const std::string time = "time 2026-11-24T18:00:00Z\n";
  const std::vector<MalformedCase> cases = {
      {"leading zero size", "shiplog/test-log\n042\n" + root + "\n" + time},
      {"negative size", "shiplog/test-log\n-1\n" + root + "\n" + time},
      {"size with a sign", "shiplog/test-log\n+1\n" + root + "\n" + time},
      {"size too large", "shiplog/test-log\n18446744073709551616\n" + root + "\n" + time},
      {"root not base64", "shiplog/test-log\n42\n!!!notbase64!!!\n" + time},
      {"root of 31 bytes", "shiplog/test-log\n42\n" + Base64Encode(std::string(31, 'x')) + "\n" + time},
      {"root given in hex",
       "shiplog/test-log\n42\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n" + time},
      {"origin with a space", "shiplog test-log\n42\n" + root + "\n" + time},
      {"origin with a plus", "shiplog+test\n42\n" + root + "\n" + time},
      {"no time line", "shiplog/test-log\n42\n" + root + "\n"},
      {"bad time", "shiplog/test-log\n42\n" + root + "\ntime yesterday\n"},
      {"only two lines", "shiplog/test-log\n42\n"},
  };
  for (const auto& c : cases) {
    // The origin the note is signed under is the text's first line, whatever it is.
    const std::string name = c.text.substr(0, c.text.find('\n'));
    const std::string note = SignedNote(c.text, name, key_);
    auto opened = Checkpoint::Open(note, key_.PublicKey());
    EXPECT_CODE(opened, StatusCode::kInvalidArgument) << c.what;
    EXPECT_THAT(opened.status().message(), HasSubstr("checkpoint")) << c.what;
  }
  // The control: the same construction with a well-formed text opens.
  EXPECT_OK(Checkpoint::Open(
      SignedNote("shiplog/test-log\n42\n" + root + "\n" + time, "shiplog/test-log", key_),
      key_.PublicKey()));
}

TEST_F(CheckpointTest, MalformedNotesAreInvalidArguments) {
  const std::string note = Checkpoint::Sign(Head(), key_).note;
  const std::string text = CheckpointText(Head());
  const std::string sig_line = note.substr(text.size() + 1);

  // No blank line between the text and the signatures.
  auto no_blank = Checkpoint::Open(text + sig_line, key_.PublicKey());
  EXPECT_CODE(no_blank, StatusCode::kInvalidArgument);
  EXPECT_THAT(no_blank.status().message(), HasSubstr("blank line"));

  // Control characters anywhere (a tab, a carriage return, NUL).
  for (const std::string& control : {std::string("\t"), std::string("\r"), std::string(1, '\0')}) {
    std::string with_control = note;
    with_control.insert(text.find('\n'), control);
    auto opened = Checkpoint::Open(with_control, key_.PublicKey());
    EXPECT_CODE(opened, StatusCode::kInvalidArgument) << static_cast<int>(control[0]);
    EXPECT_THAT(opened.status().message(), HasSubstr("control character"));
  }
  // CRLF line ends are not the format.
  std::string crlf;
  for (char c : note) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  EXPECT_CODE(Checkpoint::Open(crlf, key_.PublicKey()), StatusCode::kInvalidArgument);

  // No final newline.
  EXPECT_CODE(Checkpoint::Open(note.substr(0, note.size() - 1), key_.PublicKey()),
              StatusCode::kInvalidArgument);
  // A signature line without the em dash, or with a blob that is not base64.
  EXPECT_CODE(Checkpoint::Open(text + "\n- shiplog/test-log AAAA\n", key_.PublicKey()),
              StatusCode::kInvalidArgument);
  EXPECT_CODE(Checkpoint::Open(text + "\n" + kEmDash + " shiplog/test-log ***\n", key_.PublicKey()),
              StatusCode::kInvalidArgument);
  // An empty note, and one too large to be a checkpoint.
  EXPECT_CODE(Checkpoint::Open("", key_.PublicKey()), StatusCode::kInvalidArgument);
  EXPECT_CODE(Checkpoint::Open(std::string(65 * 1024, 'a') + "\n", key_.PublicKey()),
              StatusCode::kInvalidArgument);
}

TEST_F(CheckpointTest, OriginsThatCannotBeKeyNamesAreRefused) {
  EXPECT_OK(shiplog::CheckOrigin("shiplog/1f2e3d4c5b6a7988"));
  EXPECT_OK(shiplog::CheckOrigin("example.com/log"));
  for (const std::string& bad : {std::string(""), std::string("a b"), std::string("a+b"),
                                 std::string("a\tb"), std::string("a\x7f")}) {
    EXPECT_CODE(shiplog::CheckOrigin(bad), StatusCode::kInvalidArgument) << "'" << bad << "'";
  }
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog_test
