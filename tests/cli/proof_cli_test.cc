// `shiplog checkpoint`, `proof inclusion`, `proof consistency` and `verify-proof` end to end: the
// real binary on a drill ledger. Every document the ledger hands out verifies offline with only
// its public key (exit 0); a changed one, one from another ledger or from a fork does not (exit
// 4); input that is not a document is bad input (exit 2). And `verify` exits 4 naming the place
// after the store is tampered with.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "ledger/checkpoint.h"
#include "ledger/crypto.h"
#include "ledger/event.h"
#include "ledger/key_file.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger/store.h"
#include "tests/cli/process.h"
#include "tests/cli/test_ledger.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr char kOrigin[] = "shiplog/proof-cli";
constexpr uint64_t kSize = 8;  // genesis, the enrolment, six gate results

// The ledger's RocksDB directory opened directly, to tamper with it.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    std::vector<std::string> names;
    Check(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names));
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const auto& n : names) cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    Check(rocksdb::DB::Open(rocksdb::DBOptions(), path, cfs, &handles_, &db_));
    for (size_t i = 0; i < names.size(); ++i) by_name_[names[i]] = handles_[i];
  }
  ~RawDb() {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    delete db_;
  }
  std::string Get(const std::string& cf, const std::string& key) {
    std::string value;
    Check(db_->Get(rocksdb::ReadOptions(), by_name_.at(cf), key, &value));
    return value;
  }
  void Put(const std::string& cf, const std::string& key, const std::string& value) {
    Check(db_->Put(Sync(), by_name_.at(cf), key, value));
  }
  void Delete(const std::string& cf, const std::string& key) {
    Check(db_->Delete(Sync(), by_name_.at(cf), key));
  }

 private:
  static rocksdb::WriteOptions Sync() {
    rocksdb::WriteOptions w;
    w.sync = true;
    return w;
  }
  static void Check(const rocksdb::Status& s) {
    if (!s.ok()) throw std::runtime_error("rocksdb: " + s.ToString());
  }
  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*> by_name_;
};

class ProofCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitCrypto();
    Populate(data());
  }

  std::string data() const { return dir_ / "data"; }
  std::string Path(const std::string& name) const { return dir_ / name; }
  std::string LedgerPub(const std::string& dir) const { return dir + "/ledger.key.pub"; }

  ProcessResult Run(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), ShiplogBinary());
    return RunProcess(args, input);
  }

  json RunJson(std::vector<std::string> args, const std::string& input = "") {
    ProcessResult r = Run(args, input);
    EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
    return json::parse(r.out);
  }

  // A drill ledger named kOrigin with a ci agent enrolled, then gate results a minute apart by
  // it. All of it is made in this process, to keep each test short (the tests below append
  // through the binary where its receipt matters).
  void Populate(const std::string& dir, uint64_t size = kSize) {
    TestLedgerOptions options;
    options.origin = kOrigin;
    InitTestLedger(dir, options);
    const std::string key_file = dir + ".rutger.key";
    EnrollTestAgents(dir, {{"rutger", {"ci"}, key_file}});
    FakeClock unused(0);  // a manual-clock ledger keeps its own time
    auto ledger = Ledger::Open(dir, &unused);
    ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
    auto key = ReadKeyFile(key_file);
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    for (uint64_t seq = 2; seq < size; ++seq) {
      ASSERT_TRUE((*ledger)->AdvanceClock(kMicrosPerMinute).ok());
      auto event = Event::FromJson({{"kind", "gate.result"},
                                    {"id", RandomId()},
                                    {"actor", "rutger"},
                                    {"deployment", "checkout-1"},
                                    {"gate", "tests"},
                                    {"outcome", "pass"}});
      ASSERT_TRUE(event.ok()) << event.status().ToString();
      auto receipt = (*ledger)->Append(SignedEvent::Sign(*event, *key));
      ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
      ASSERT_EQ(receipt->seq, seq);
    }
  }

  json Append(const std::string& dir, const std::string& key, const std::string& gate) {
    RunJson({"clock", "advance", "1m", "--data", dir});
    return RunJson({"append", "--data", dir, "--key", key, "-"},
                   json({{"kind", "gate.result"},
                         {"deployment", "checkout-1"},
                         {"gate", gate},
                         {"outcome", "pass"},
                         {"actor", "rutger"}})
                       .dump());
  }

  // Writes `doc` to a file and runs verify-proof on it with the ledger key of `dir`.
  ProcessResult VerifyProof(const json& doc, const std::string& dir,
                            const std::string& trusted_checkpoint = "") {
    const std::string file = Path("doc-" + std::to_string(++files_) + ".json");
    WriteFile(file, doc.dump());
    std::vector<std::string> args = {"verify-proof", file, "--ledger-key", LedgerPub(dir)};
    if (!trusted_checkpoint.empty()) {
      const std::string cp = Path("trusted-" + std::to_string(files_) + ".note");
      WriteFile(cp, trusted_checkpoint);
      args.insert(args.end(), {"--checkpoint", cp});
    }
    return Run(args);
  }

  std::string Note(const std::string& dir, uint64_t size) {
    ProcessResult r = Run({"checkpoint", "--data", dir, "--size", std::to_string(size), "--note"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  static std::string ChangeHex(std::string hex, size_t at = 0) {
    hex[at] = hex[at] == '0' ? '1' : '0';
    return hex;
  }

  ScratchDir dir_;
  int files_ = 0;
};

// ---- checkpoints ----

TEST_F(ProofCliTest, CheckpointPrintsTheSignedTreeHeadAsJsonAndAsANote) {
  const json cp = RunJson({"checkpoint", "--data", data()});
  EXPECT_EQ(cp["origin"], kOrigin);
  EXPECT_EQ(cp["size"], kSize);
  EXPECT_EQ(cp["manual_clock"], true);
  EXPECT_EQ(cp["time"], "2026-11-24T18:06:00Z");
  EXPECT_EQ(cp["root_hash"].get<std::string>().size(), 64u);

  ProcessResult note = Run({"checkpoint", "--data", data(), "--note"});
  ASSERT_EQ(note.exit_code, 0) << note.err;
  EXPECT_EQ(note.out, cp["checkpoint"].get<std::string>());
  EXPECT_EQ(note.out.substr(0, note.out.find("\n\n") + 1),
            std::string(kOrigin) + "\n8\n" +
                Base64Encode(HexDecode(cp["root_hash"].get<std::string>()).value()) +
                "\ntime 2026-11-24T18:06:00Z\nmanual-clock\n");
  // What a third party does with it: open it with nothing but the public key file.
  const std::string pub = ReadPublicKey(LedgerPub(data())).value();
  auto opened = Checkpoint::Open(note.out, pub);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->head.size, kSize);

  const json past = RunJson({"checkpoint", "--data", data(), "--size", "3"});
  EXPECT_EQ(past["size"], 3);
  EXPECT_EQ(past["time"], "2026-11-24T18:01:00Z");
  EXPECT_NE(past["root_hash"], cp["root_hash"]);
  ProcessResult none = Run({"checkpoint", "--data", data(), "--size", "9"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_THAT(none.err, HasSubstr("size 9"));
}

// ---- documents that verify ----

TEST_F(ProofCliTest, InclusionProofsAtEverySizeVerify) {
  for (auto [seq, size] : std::vector<std::pair<uint64_t, uint64_t>>{
           {0, 1}, {0, 8}, {1, 2}, {2, 8}, {3, 5}, {4, 5}, {6, 7}, {7, 8}}) {
    const json proof = RunJson({"proof", "inclusion", "--data", data(), "--seq",
                                std::to_string(seq), "--size", std::to_string(size)});
    EXPECT_EQ(proof["type"], "inclusion");
    EXPECT_EQ(proof["seq"], seq);
    EXPECT_EQ(proof["size"], size);
    ProcessResult r = VerifyProof(proof, data());
    EXPECT_EQ(r.exit_code, 0) << seq << "/" << size << ": " << r.err;
    const json out = json::parse(r.out);
    EXPECT_EQ(out["ok"], true);
    EXPECT_EQ(out["type"], "inclusion");
    EXPECT_EQ(out["seq"], seq);
    EXPECT_EQ(out["size"], size);
    // Against the checkpoint a client already trusts at that size, too.
    if (seq + 1 == size) {
      EXPECT_EQ(VerifyProof(proof, data(), Note(data(), size)).exit_code, 0) << seq << "/" << size;
    }
  }
  // The latest, when no size is given.
  const json latest = RunJson({"proof", "inclusion", "--data", data(), "--seq", "5"});
  EXPECT_EQ(latest["size"], kSize);
  EXPECT_EQ(VerifyProof(latest, data()).exit_code, 0);
  // Beyond the tree.
  EXPECT_EQ(Run({"proof", "inclusion", "--data", data(), "--seq", "8"}).exit_code, 2);
  EXPECT_EQ(Run({"proof", "inclusion", "--data", data(), "--seq", "5", "--size", "5"}).exit_code, 2);
}

TEST_F(ProofCliTest, ConsistencyProofsVerify) {
  for (auto [from, to] : std::vector<std::pair<uint64_t, uint64_t>>{
           {1, 8}, {2, 8}, {3, 8}, {4, 8}, {5, 7}, {6, 8}, {7, 8}, {8, 8}}) {
    const json proof = RunJson({"proof", "consistency", "--data", data(), "--from",
                                std::to_string(from), "--to", std::to_string(to)});
    EXPECT_EQ(proof["type"], "consistency");
    ProcessResult r = VerifyProof(proof, data());
    EXPECT_EQ(r.exit_code, 0) << from << "->" << to << ": " << r.err;
    const json out = json::parse(r.out);
    EXPECT_EQ(out["ok"], true);
    EXPECT_EQ(out["from"], from);
    EXPECT_EQ(out["to"], to);
    if (to == kSize) {
      EXPECT_EQ(VerifyProof(proof, data(), Note(data(), from)).exit_code, 0);
    }
  }
  EXPECT_EQ(Run({"proof", "consistency", "--data", data(), "--from", "0", "--to", "8"}).exit_code, 2);
  EXPECT_EQ(Run({"proof", "consistency", "--data", data(), "--from", "5", "--to", "3"}).exit_code, 2);
}

TEST_F(ProofCliTest, AnAppendsReceiptVerifies) {
  const json receipt = Append(data(), data() + ".rutger.key", "lint");
  EXPECT_EQ(receipt["seq"], kSize);
  ProcessResult r = VerifyProof(receipt, data());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json out = json::parse(r.out);
  EXPECT_EQ(out["type"], "receipt");
  EXPECT_EQ(out["seq"], kSize);
  EXPECT_EQ(out["size"], kSize + 1);
  EXPECT_EQ(out["manual_clock"], true);
  EXPECT_EQ(VerifyProof(receipt, data(), Note(data(), kSize + 1)).exit_code, 0);
}

// ---- documents that do not verify: exit 4 ----

TEST_F(ProofCliTest, AProofWithAChangedHashExitsFour) {
  const json proof = RunJson({"proof", "inclusion", "--data", data(), "--seq", "3"});
  ASSERT_GE(proof["proof"].size(), 2u);
  for (size_t i = 0; i < proof["proof"].size(); ++i) {
    json bad = proof;
    bad["proof"][i] = ChangeHex(bad["proof"][i], 17);
    ProcessResult r = VerifyProof(bad, data());
    EXPECT_EQ(r.exit_code, 4) << "entry " << i;
    EXPECT_THAT(r.err, HasSubstr("verification failed"));
    EXPECT_EQ(json::parse(r.out)["ok"], false);
  }
  json leaf = proof;
  leaf["leaf_hash"] = ChangeHex(leaf["leaf_hash"]);
  EXPECT_EQ(VerifyProof(leaf, data()).exit_code, 4);
  json seq = proof;
  seq["seq"] = 2;
  EXPECT_EQ(VerifyProof(seq, data()).exit_code, 4);

  const json consistency =
      RunJson({"proof", "consistency", "--data", data(), "--from", "3", "--to", "8"});
  json bad = consistency;
  bad["proof"][0] = ChangeHex(bad["proof"][0], 40);
  ProcessResult r = VerifyProof(bad, data());
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_THAT(r.err, HasSubstr("not consistent"));
  // The checkpoint's root edited in the note: its signature no longer verifies.
  json edited = proof;
  std::string note = edited["checkpoint"];
  const size_t root = note.find('\n', note.find('\n') + 1) + 1;
  note[root] = note[root] == 'A' ? 'B' : 'A';
  edited["checkpoint"] = note;
  EXPECT_EQ(VerifyProof(edited, data()).exit_code, 4);
}

// A hash of the receipt's inclusion proof changed: it leads to no root the ledger signed.
TEST_F(ProofCliTest, AReceiptWithAChangedInclusionProofEntryExitsFour) {
  const json receipt = Append(data(), data() + ".rutger.key", "lint");
  ASSERT_FALSE(receipt["inclusion_proof"].empty());
  json bad = receipt;
  bad["inclusion_proof"][0] = ChangeHex(bad["inclusion_proof"][0], 5);
  ProcessResult r = VerifyProof(bad, data());
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr("inclusion proof"));
}

// The record inside the receipt edited (the actor's name), with its readable field and leaf
// hash changed to match: the leaf is not the one the ledger's checkpoint holds.
TEST_F(ProofCliTest, AReceiptWithAnEditedEntryExitsFour) {
  const json receipt = Append(data(), data() + ".rutger.key", "lint");
  std::string entry = Base64Decode(receipt["entry"].get<std::string>()).value();
  const size_t at = entry.find("rutger");
  ASSERT_NE(at, std::string::npos);
  entry.replace(at, 6, "victor");
  json bad = receipt;
  bad["entry"] = Base64Encode(entry);
  ProcessResult r = VerifyProof(bad, data());
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr("does not match its entry"));

  bad["actor"] = "victor";
  bad["leaf_hash"] = HexEncode(shiplog::AsBytes(shiplog::merkle::LeafHash(entry)));
  bad.erase("payload_hash");  // a readable field left out is not compared
  r = VerifyProof(bad, data());
  EXPECT_EQ(r.exit_code, 4) << r.err;
}

// Another ledger under the same name (`init --origin`) but with its own key: its checkpoints are
// not this ledger's, whatever they say.
TEST_F(ProofCliTest, ACheckpointFromAnotherLedgerWithTheSameOriginExitsFour) {
  const std::string other = Path("other");
  Populate(other, 4);
  const std::string other_note = Note(other, 2);
  ASSERT_THAT(other_note, HasSubstr(std::string(kOrigin) + "\n2\n"));

  json proof = RunJson({"proof", "consistency", "--data", data(), "--from", "2", "--to", "8"});
  proof["old_checkpoint"] = other_note;
  ProcessResult r = VerifyProof(proof, data());
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr("no signature by the ledger key"));

  // Given as the trusted checkpoint instead, it is refused the same way.
  const json good = RunJson({"proof", "inclusion", "--data", data(), "--seq", "1", "--size", "2"});
  EXPECT_EQ(VerifyProof(good, data(), other_note).exit_code, 4);
  // And with the other ledger's key, this ledger's proof does not verify.
  EXPECT_EQ(VerifyProof(good, other).exit_code, 4);
}

// A copy of the ledger directory grows differently from the original: same key, same name, a
// fork. Each side's documents verify on their own; checked against a checkpoint the client got
// from the other side at the same size, they are refused.
TEST_F(ProofCliTest, AForkIsCaughtByTheTrustedCheckpoint) {
  const std::string fork = Path("fork");
  std::filesystem::copy(data(), fork, std::filesystem::copy_options::recursive);
  std::filesystem::copy_file(data() + ".rutger.key", fork + ".rutger.key");
  for (int i = 0; i < 2; ++i) {
    Append(data(), data() + ".rutger.key", "lint");
    Append(fork, fork + ".rutger.key", "scan");
  }
  const std::string original_at_10 = Note(data(), kSize + 2);
  const std::string fork_at_10 = Note(fork, kSize + 2);
  ASSERT_NE(original_at_10, fork_at_10);

  const json consistency =
      RunJson({"proof", "consistency", "--data", fork, "--from", "8", "--to", "10"});
  EXPECT_EQ(VerifyProof(consistency, fork).exit_code, 0);
  EXPECT_EQ(VerifyProof(consistency, fork, fork_at_10).exit_code, 0);
  EXPECT_EQ(VerifyProof(consistency, fork, Note(data(), kSize)).exit_code, 0)
      << "the shared size 8 is the same tree on both sides";
  ProcessResult forked = VerifyProof(consistency, fork, original_at_10);
  EXPECT_EQ(forked.exit_code, 4);
  EXPECT_THAT(forked.err, HasSubstr("forked"));

  const json inclusion = RunJson({"proof", "inclusion", "--data", fork, "--seq", "9"});
  EXPECT_EQ(VerifyProof(inclusion, fork, original_at_10).exit_code, 4);
  // A receipt of the original checked against the fork's checkpoint at its size.
  const json receipt = Append(data(), data() + ".rutger.key", "lint");
  Append(fork, fork + ".rutger.key", "scan");
  EXPECT_EQ(VerifyProof(receipt, data(), Note(fork, kSize + 3)).exit_code, 4);
}

// ---- bad input: exit 2 ----

TEST_F(ProofCliTest, InputThatIsNotADocumentExitsTwo) {
  const std::string file = Path("not-json.txt");
  WriteFile(file, "this is not { json");
  ProcessResult r = Run({"verify-proof", file, "--ledger-key", LedgerPub(data())});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("malformed JSON"));

  const json proof = RunJson({"proof", "inclusion", "--data", data(), "--seq", "3"});
  WriteFile(Path("proof.json"), proof.dump());
  ProcessResult no_key =
      Run({"verify-proof", Path("proof.json"), "--ledger-key", Path("no-such-key.pub")});
  EXPECT_EQ(no_key.exit_code, 2);
  EXPECT_THAT(no_key.err, HasSubstr("--ledger-key"));

  EXPECT_EQ(VerifyProof(json{{"type", "membership"}}, data()).exit_code, 2);
  json no_path = proof;
  no_path["proof"] = "abc";
  EXPECT_EQ(VerifyProof(no_path, data()).exit_code, 2);
  EXPECT_EQ(Run({"verify-proof", Path("missing.json"), "--ledger-key", LedgerPub(data())}).exit_code, 2);
  EXPECT_EQ(Run({"verify-proof", Path("proof.json")}).exit_code, 2) << "--ledger-key is required";
  // From stdin.
  EXPECT_EQ(Run({"verify-proof", "-", "--ledger-key", LedgerPub(data())}, proof.dump()).exit_code, 0);
}

// ---- `verify` after the store was tampered with ----

class VerifyAfterTamperingTest : public ProofCliTest {
 protected:
  ProcessResult VerifyLedger() { return Run({"verify", "--data", data()}); }
};

TEST_F(VerifyAfterTamperingTest, TheUntouchedLedgerVerifies) {
  ProcessResult r = VerifyLedger();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find('\r'), std::string::npos) << "a progress line on a stderr that is a pipe";
  const json report = json::parse(r.out);
  EXPECT_EQ(report["ok"], true);
  EXPECT_EQ(report["records"], kSize);
  EXPECT_EQ(report["checkpoints"], kSize);
}

TEST_F(VerifyAfterTamperingTest, ADeletedLatestCheckpointExitsFour) {
  {
    RawDb raw(data() + "/db");
    raw.Delete("index", "c/" + EncodeSeq(kSize));
  }
  ProcessResult r = VerifyLedger();
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr("checkpoint"));
  EXPECT_THAT(r.err, HasSubstr("8"));
  EXPECT_EQ(json::parse(r.out)["ok"], false);
}

TEST_F(VerifyAfterTamperingTest, AChangedRecordExitsFourNamingIt) {
  {
    RawDb raw(data() + "/db");
    std::string value = raw.Get("records", EncodeSeq(4));
    value[value.size() / 2] ^= 0x04;
    raw.Put("records", EncodeSeq(4), value);
  }
  ProcessResult r = VerifyLedger();
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr("record 4"));
  EXPECT_EQ(json::parse(r.out)["first_bad_seq"], 4);
}

TEST_F(VerifyAfterTamperingTest, AMiddleCheckpointSignedByAnotherKeyExitsFourNamingIt) {
  {
    RawDb raw(data() + "/db");
    const std::string pub = ReadPublicKey(LedgerPub(data())).value();
    auto original = Checkpoint::Open(raw.Get("index", "c/" + EncodeSeq(5)), pub);
    ASSERT_TRUE(original.ok()) << original.status().ToString();
    raw.Put("index", "c/" + EncodeSeq(5),
            Checkpoint::Sign(original->head, SigningKey::Generate()).note);
  }
  ProcessResult r = VerifyLedger();
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr("(checkpoint 5)"));
  const json report = json::parse(r.out);
  EXPECT_EQ(report["bad_checkpoint"], 5);
  EXPECT_EQ(report["first_bad_seq"], 4);
}

TEST_F(VerifyAfterTamperingTest, ATruncatedTailExitsFourNamingTheMissingRecords) {
  {
    RawDb raw(data() + "/db");
    for (uint64_t seq = kSize - 2; seq < kSize; ++seq) raw.Delete("records", EncodeSeq(seq));
  }
  ProcessResult r = VerifyLedger();
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr("records " + std::to_string(kSize - 2) + " to " +
                               std::to_string(kSize - 1) + " are missing"));
  EXPECT_EQ(json::parse(r.out)["ok"], false);
  // Nothing appends over the gap.
  EXPECT_EQ(Run({"checkpoint", "--data", data()}).exit_code, 4);
}

TEST_F(VerifyAfterTamperingTest, AChangedTreeNodeExitsFourNamingIt) {
  {
    RawDb raw(data() + "/db");
    const std::string key = std::string("t/\x01", 3) + EncodeSeq(1);  // leaves 2 and 3
    std::string node = raw.Get("index", key);
    node[0] ^= 0x01;
    raw.Put("index", key, node);
  }
  ProcessResult r = VerifyLedger();
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_THAT(r.err, HasSubstr("tree node for records 2 to 3"));
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
