// The tlog-tiles read API and witness cosignatures, against the real `shiplog serve`: an
// independent client in Python (tests/server/tlog_tiles_client.py, standard library and nacl)
// reads the checkpoint and every tile of a ledger of several hundred records and recomputes the
// root; the same script plays a witness whose cosignature the ledger stores and shows.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "ledger/checkpoint.h"
#include "ledger/crypto.h"
#include "ledger/ledger.h"
#include "tests/cli/background_process.h"
#include "tests/server/server_process.h"
#include "tests/server/signed_events.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

// More than two full level-0 tiles: full and partial tiles at level 0, a partial level-1 tile.
constexpr int kRecords = 600;
constexpr char kWitness[] = "witness.example/w1";

bool Python3WithNacl() {
  struct stat st;
  if (std::string(SHIPLOG_PYTHON3).empty() || ::stat(SHIPLOG_PYTHON3, &st) != 0) return false;
  return RunProcess({SHIPLOG_PYTHON3, "-c", "import nacl.signing"}).exit_code == 0;
}

ProcessResult Client(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {SHIPLOG_PYTHON3, TLOG_TILES_CLIENT};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv);
}

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

json GateResult(int i) {
  return {{"id", "gate-" + std::to_string(i)},
          {"kind", "gate.result"},
          {"deployment", "checkout-1"},
          {"gate", "tests"},
          {"outcome", "pass"}};
}

class TlogTilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Python3WithNacl()) GTEST_SKIP() << "python3 with nacl not found (tools/setup.sh)";
    InitCrypto();
    AppendOffline(kRecords);
    witness_seed_ = HexEncode(SigningKey::Generate().Seed());
    ProcessResult vkey = Client({"vkey", kWitness, witness_seed_});
    ASSERT_EQ(vkey.exit_code, 0) << vkey.err;
    witness_vkey_ = FirstLine(vkey.out);
    server_.Start({"--witness-key", witness_vkey_});
  }

  // Appends `count` records through the library before the server starts (fast: one batch).
  void AppendOffline(int count, int first = 0) {
    FakeClock clock(0);
    auto ledger = Ledger::Open(server_.data(), &clock);
    ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
    Agent ci("ci", server_.key("ci"));
    std::vector<CheckedEvent> events;
    for (int i = first; i < first + count; ++i) {
      auto checked = CheckEvent(ci.Sign(GateResult(i)));
      ASSERT_TRUE(checked.ok()) << checked.status().ToString();
      events.push_back(std::move(checked).value());
    }
    for (auto& receipt : (*ledger)->AppendBatch(std::move(events))) {
      ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
    }
    ledger_vkey_ = NoteVerifierKey((*ledger)->origin(), (*ledger)->public_key());
  }

  // The latest checkpoint note as /checkpoint serves it, saved to a file.
  std::string SaveCheckpoint(const std::string& name) {
    adapters::HttpReply reply = server_.Get("/checkpoint");
    EXPECT_EQ(reply.status, 200) << reply.body;
    const std::string file = work_ / name;
    WriteFile(file, reply.body);
    return file;
  }

  std::string Cosigned(const std::string& note_file, const std::string& seed) {
    ProcessResult r = Client({"cosign", kWitness, seed, note_file, "1795543200"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  ServerProcess server_{{{"ci", {"ci"}}}};
  ScratchDir work_;
  std::string ledger_vkey_;
  std::string witness_seed_;
  std::string witness_vkey_;
};

TEST_F(TlogTilesTest, IndependentClientRecomputesTheRootFromEveryTile) {
  ProcessResult r = Client({"follow", server_.url(), ledger_vkey_});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // Genesis, the enrolment and the records; two full level-0 tiles and one level-1 hash.
  EXPECT_THAT(r.out, HasSubstr("ok size " + std::to_string(kRecords + 2)));
  EXPECT_THAT(r.out, HasSubstr("upper-hashes 2"));
}

TEST_F(TlogTilesTest, FullTilesAreImmutablePartialOnesAndTheCheckpointAreNot) {
  adapters::HttpReply full = server_.Get("/tile/0/000");
  ASSERT_EQ(full.status, 200) << full.body;
  EXPECT_EQ(full.body.size(), 256u * 32);
  EXPECT_EQ(full.headers["cache-control"], "public, max-age=31536000, immutable");
  EXPECT_EQ(full.content_type, "application/octet-stream");

  const int size = kRecords + 2;
  adapters::HttpReply partial = server_.Get("/tile/0/002.p/" + std::to_string(size - 512));
  ASSERT_EQ(partial.status, 200) << partial.body;
  EXPECT_EQ(partial.body.size(), static_cast<size_t>(size - 512) * 32);
  EXPECT_EQ(partial.headers["cache-control"], "public, max-age=60");
  EXPECT_EQ(server_.Get("/tile/entries/001").headers["cache-control"],
            "public, max-age=31536000, immutable");

  adapters::HttpReply checkpoint = server_.Get("/checkpoint");
  ASSERT_EQ(checkpoint.status, 200);
  EXPECT_EQ(checkpoint.headers["cache-control"], "no-cache");
  EXPECT_THAT(checkpoint.content_type, HasSubstr("text/plain"));
}

TEST_F(TlogTilesTest, TilesBeyondTheTreeAre404AndMalformedPathsAre400) {
  const int size = kRecords + 2;
  for (const std::string& beyond :
       {std::string("/tile/0/002"), std::string("/tile/0/003.p/1"), std::string("/tile/1/000"),
        "/tile/0/002.p/" + std::to_string(size - 512 + 1), std::string("/tile/entries/x001/000"),
        std::string("/tile/2/000.p/1")}) {
    adapters::HttpReply reply = server_.Get(beyond);
    EXPECT_EQ(reply.status, 404) << beyond << ": " << reply.body;
    EXPECT_THAT(reply.body, HasSubstr("beyond the log's tree of " + std::to_string(size)));
  }
  for (const char* malformed :
       {"/tile/0/2", "/tile/0/x000", "/tile/00/000", "/tile/64/000", "/tile/0/000.p/0",
        "/tile/0/000.p/256", "/tile/0/000.p/007", "/tile/0/x1/000", "/tile/entries/0001", "/tile/0",
        "/tile/a/000", "/tile/0/000/"}) {
    adapters::HttpReply reply = server_.Get(malformed);
    EXPECT_EQ(reply.status, 400) << malformed << ": " << reply.body;
    EXPECT_THAT(reply.body, HasSubstr("tile path"));
  }
  EXPECT_EQ(server_.Post("/tile/0/000", "").status, 405);
}

TEST_F(TlogTilesTest, TilesAreServedWhileAppendsContinue) {
  Agent ci("ci", server_.key("ci"));
  std::atomic<bool> done{false};
  std::atomic<int> refused{0};
  // A call the server does not answer throws, naming why (its log: a sanitizer's report). Both
  // threads catch it, so that the appender is joined before anything leaves this function.
  std::string append_failure;
  std::thread appender([&] {
    try {
      for (int i = kRecords; i < kRecords + 40; ++i) {
        if (server_.Post("/v1/events", ci.Sign(GateResult(i)).ToJson().dump()).status != 200) {
          ++refused;
        }
      }
    } catch (const std::exception& e) {
      append_failure = e.what();
    }
    done = true;
  });
  // Reads at a walk, so that however slowly the appends go (under a sanitizer) the reader's
  // connections stay few; a failed read ends the loop.
  int reads = 0;
  adapters::HttpReply note;
  std::string read_failure;
  try {
    while (!done || reads < 5) {
      note = server_.Get("/checkpoint");
      if (note.status != 200) break;
      const uint64_t size = std::stoull(note.body.substr(note.body.find('\n') + 1));
      // The partial tile the checkpoint's size needs exists, whatever came after it.
      adapters::HttpReply tile = server_.Get("/tile/0/002.p/" + std::to_string(size - 512));
      EXPECT_EQ(tile.status, 200) << size << ": " << tile.body;
      ++reads;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  } catch (const std::exception& e) {
    read_failure = e.what();
  }
  appender.join();
  ASSERT_EQ(append_failure, "");
  ASSERT_EQ(read_failure, "") << "read " << reads;
  ASSERT_EQ(note.status, 200) << "read " << reads << ": " << note.body;
  EXPECT_EQ(refused, 0);
  ProcessResult r = Client({"follow", server_.url(), ledger_vkey_});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("ok size " + std::to_string(kRecords + 42)));
}

TEST_F(TlogTilesTest, WitnessCosignatureIsStoredAndShown) {
  const std::string note = SaveCheckpoint("checkpoint");
  const std::string cosigned = Cosigned(note, witness_seed_);
  adapters::HttpReply stored = server_.Post("/v1/checkpoint/cosignatures", cosigned, "text/plain");
  ASSERT_EQ(stored.status, 200) << stored.body;
  EXPECT_THAT(stored.body, HasSubstr(kWitness));

  // Shown after the ledger's signature, by /checkpoint and /v1/checkpoint.
  EXPECT_EQ(server_.Get("/checkpoint").body, cosigned);
  json latest = json::parse(server_.Get("/v1/checkpoint").body);
  EXPECT_EQ(latest["checkpoint"], cosigned);
  EXPECT_EQ(latest["cosignatures"][0]["witness"], kWitness);
  EXPECT_EQ(latest["cosignatures"][0]["timestamp"], 1795543200);

  // And by `shiplog checkpoint`, which needs the store the server holds.
  ASSERT_EQ(server_.Stop(), 0);
  ProcessResult cli = server_.Shiplog({"checkpoint", "--data", server_.data(), "--note"});
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(cli.out, cosigned);
  // The ledger's own verifier still opens it: other keys' lines are ignored.
  EXPECT_TRUE(Checkpoint::Open(cli.out, LedgerPublicKey(server_.data())).ok());
}

TEST_F(TlogTilesTest, CosignCommandStoresOfflineAndRefusesBadInput) {
  const std::string note = SaveCheckpoint("checkpoint");
  ASSERT_EQ(server_.Stop(), 0);
  const std::string good = work_ / "cosigned";
  WriteFile(good, Cosigned(note, witness_seed_));
  ProcessResult unknown = server_.Shiplog(
      {"checkpoint", "cosign", "--data", server_.data(), "--witness-key",
       FirstLine(Client({"vkey", kWitness, HexEncode(SigningKey::Generate().Seed())}).out), good});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("not by a trusted witness key"));

  ProcessResult added = server_.Shiplog(
      {"checkpoint", "cosign", "--data", server_.data(), "--witness-key", witness_vkey_, good});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  json shown = json::parse(server_.Shiplog({"checkpoint", "--data", server_.data()}).out);
  ASSERT_EQ(shown["cosignatures"].size(), 1u);
  EXPECT_EQ(shown["checkpoint"], ReadFile(good));
}

TEST_F(TlogTilesTest, ForgedOrForeignCosignaturesAreRefusedAndNothingIsStored) {
  const std::string note_file = SaveCheckpoint("checkpoint");
  const std::string note = ReadFile(note_file);
  std::string forged = Cosigned(note_file, witness_seed_);
  // Change one byte of the signature (inside the base64, past key id and timestamp).
  char& c = forged[forged.size() - 10];
  c = c == 'A' ? 'B' : 'A';
  adapters::HttpReply reply = server_.Post("/v1/checkpoint/cosignatures", forged, "text/plain");
  EXPECT_EQ(reply.status, 400) << reply.body;
  EXPECT_THAT(reply.body, HasSubstr("does not verify"));

  const std::string other_seed = HexEncode(SigningKey::Generate().Seed());
  reply =
      server_.Post("/v1/checkpoint/cosignatures", Cosigned(note_file, other_seed), "text/plain");
  EXPECT_EQ(reply.status, 400);
  EXPECT_THAT(reply.body, HasSubstr("not by a trusted witness key"));

  // A checkpoint the ledger did not sign: another size under the ledger's name.
  std::string foreign = note;
  foreign.replace(foreign.find('\n') + 1, 3, "999");
  const std::string foreign_file = work_ / "foreign";
  WriteFile(foreign_file, foreign);
  reply = server_.Post("/v1/checkpoint/cosignatures", Cosigned(foreign_file, witness_seed_),
                       "text/plain");
  EXPECT_EQ(reply.status, 400);
  EXPECT_THAT(reply.body, HasSubstr("not a checkpoint of this ledger"));

  reply = server_.Post("/v1/checkpoint/cosignatures", note, "text/plain");
  EXPECT_EQ(reply.status, 400);
  EXPECT_THAT(reply.body, HasSubstr("no cosignature"));

  EXPECT_EQ(server_.Get("/checkpoint").body, note);
}

// c2sp.org/tlog-witness: `shiplog checkpoint witness` asks a witness (the Python one) to cosign,
// first from nothing, then, after more records, with the consistency proof from the size the
// witness last cosigned, which the witness checks before it signs.
TEST_F(TlogTilesTest, WitnessClientFollowsTheWitnessProtocolAndStoresItsCosignature) {
  ASSERT_EQ(server_.Stop(), 0);
  const std::string port_file = work_ / "witness.port";
  BackgroundProcess witness({SHIPLOG_PYTHON3, TLOG_TILES_CLIENT, "witness", port_file, kWitness,
                             witness_seed_, ledger_vkey_, "5"});
  // Waiting for the witness to listen, not timing anything.
  for (int i = 0; i < 200 && ::access(port_file.c_str(), F_OK) != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const std::string url = "http://127.0.0.1:" + ReadFile(port_file);
  auto ask = [&] {
    return server_.Shiplog({"checkpoint", "witness", "--data", server_.data(), "--witness", url,
                            "--witness-key", witness_vkey_});
  };
  ProcessResult first = ask();
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_THAT(first.out, HasSubstr(kWitness));

  AppendOffline(5, kRecords);
  ProcessResult second = ask();  // "old 0" is answered 409 with the witness's size; then the proof
  ASSERT_EQ(second.exit_code, 0) << second.err;

  // Told to trust another key, the client ignores the witness's line and stores nothing.
  ProcessResult untrusted = server_.Shiplog(
      {"checkpoint", "witness", "--data", server_.data(), "--witness", url, "--witness-key",
       FirstLine(Client({"vkey", kWitness, HexEncode(SigningKey::Generate().Seed())}).out)});
  EXPECT_EQ(untrusted.exit_code, 2);
  EXPECT_THAT(untrusted.err, HasSubstr("no cosignature by a trusted key"));

  json shown = json::parse(server_.Shiplog({"checkpoint", "--data", server_.data()}).out);
  EXPECT_EQ(shown["size"], kRecords + 7);
  ASSERT_EQ(shown["cosignatures"].size(), 1u);
  EXPECT_EQ(shown["cosignatures"][0]["witness"], kWitness);
  ProcessResult witnessed = witness.Wait();
  EXPECT_THAT(witnessed.out, HasSubstr("witness size " + std::to_string(kRecords + 7)));
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
