// Damage after acknowledgement: a ledger whose appends were acknowledged has one of its database
// files flipped, cut short or removed. Whatever the damage, `shiplog verify` and `shiplog append`
// either fail with exit 4 naming the damaged file, or see the whole acknowledged log; never a
// shorter log that verifies, and never a second checkpoint signed at a size already signed.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "ledger/key_file.h"
#include "ledger/ledger.h"
#include "tests/cli/process.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kSessions = 3;          // each reopen turns the last write-ahead log into a table
constexpr int kAppendsPerSession = 4;
constexpr uint64_t kRecords = 1 + kSessions * kAppendsPerSession;

ProcessResult Shiplog(const std::vector<std::string>& args, const std::string& input = "") {
  std::vector<std::string> argv = {ShiplogBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, input);
}

std::string EnrolmentJson(int n) {
  return json({{"kind", "key.enrolled"},
               {"id", "enrol-" + std::to_string(n)},
               {"actor", "admin"},
               {"name", "agent-" + std::to_string(n)},
               {"public_key", HexEncode(SigningKey::Generate().PublicKey())},
               {"roles", {"ci"}}})
      .dump();
}

// Every file under `dir`, by path relative to it, with its bytes.
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      files[fs::relative(entry.path(), dir).string()] = ReadFile(entry.path().string());
    }
  }
  return files;
}

// The names and sizes of the files in `dir`.
std::string Listing(const std::string& dir) {
  std::map<std::string, uintmax_t> sizes;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind("LOG", 0) == 0) continue;  // RocksDB's info log
    sizes[entry.path().filename().string()] = entry.is_regular_file() ? entry.file_size() : 0;
  }
  std::string out;
  for (const auto& [name, size] : sizes) out += name + " " + std::to_string(size) + "\n";
  return out;
}

// One ledger, built once: acknowledged appends spread over tables and the live write-ahead log.
class DamageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pristine_ = new ScratchDir();
    const std::string data = Data();
    ProcessResult init = Shiplog({"init", "--data", data});
    ASSERT_EQ(init.exit_code, 0) << init.err;
    for (int session = 0; session < kSessions; ++session) {
      SystemClock clock;
      auto ledger = Ledger::Open(data, &clock);
      ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
      auto admin = ReadKeyFile(data + "/admin.key");
      ASSERT_TRUE(admin.ok());
      for (int i = 0; i < kAppendsPerSession; ++i) {
        auto event = Event::FromJson(json::parse(EnrolmentJson(session * kAppendsPerSession + i)));
        ASSERT_TRUE(event.ok()) << event.status().ToString();
        auto receipt = (*ledger)->Append(SignedEvent::Sign(*event, *admin));
        ASSERT_TRUE(receipt.ok()) << receipt.status().ToString();
      }
    }
  }
  static void TearDownTestSuite() { delete pristine_; }

  static std::string Data() { return *pristine_ / "data"; }

  // A copy of the pristine ledger to damage.
  std::string Copy() {
    const std::string copy = scratch_ / "data";
    fs::copy(Data(), copy, fs::copy_options::recursive);
    return copy;
  }

  // The database files of `suffix` in the pristine ledger, by name.
  static std::vector<std::string> DbFiles(const std::string& suffix) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(Data() + "/db")) {
      const std::string name = entry.path().filename().string();
      if (name.size() > suffix.size() &&
          name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        names.push_back(name);
      }
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  // After damage to `file`: verify, then an append, each fail naming the file or see every
  // acknowledged record. A removed log cannot be named (nothing outside it records its number):
  // the message says the database has none left.
  void ExpectCaughtOrWhole(const std::string& data, const std::string& file, const std::string& how) {
    SCOPED_TRACE(how + " " + file);
    const bool removed_log = how == "removed" && file.find(".log") != std::string::npos;
    const std::string named = removed_log ? "no write-ahead log left" : file;
    const std::string db_files_before = Listing(data + "/db");
    ProcessResult verify = Shiplog({"verify", "--data", data});
    if (verify.exit_code == 0) {
      EXPECT_EQ(json::parse(verify.out)["records"], kRecords)
          << "verify passed a ledger that lost acknowledged records: " << verify.out;
    } else {
      EXPECT_EQ(verify.exit_code, 4) << verify.err;
      EXPECT_NE(verify.err.find(named), std::string::npos)
          << "verify's message does not name " << named << ": " << verify.err;
    }
    EXPECT_EQ(Listing(data + "/db"), db_files_before) << "verify changed the database's files";
    ProcessResult append = Shiplog({"append", "--data", data, "--key", data + "/admin.key", "-"},
                                   EnrolmentJson(1000));
    if (append.exit_code != 0) {
      EXPECT_EQ(Listing(data + "/db"), db_files_before)
          << "an append that refused a damaged store changed its files";
    }
    if (append.exit_code == 0) {
      EXPECT_EQ(json::parse(append.out)["seq"], kRecords)
          << "an append reused a lost sequence number: " << append.out;
    } else {
      EXPECT_EQ(append.exit_code, 4) << append.err;
      EXPECT_NE(append.err.find(named), std::string::npos)
          << "append's message does not name " << named << ": " << append.err;
    }
  }

  static ScratchDir* pristine_;
  ScratchDir scratch_;
};

ScratchDir* DamageTest::pristine_ = nullptr;

void FlipByte(const std::string& path, uint64_t offset) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  file.get(c);
  file.seekp(static_cast<std::streamoff>(offset));
  file.put(static_cast<char>(c ^ 0x5a));
}

TEST_F(DamageTest, TheLedgerUnderTestHasTablesAndALiveLog) {
  EXPECT_FALSE(DbFiles(".sst").empty());
  ASSERT_EQ(DbFiles(".log").size(), 1u);
  EXPECT_GT(fs::file_size(Data() + "/db/" + DbFiles(".log")[0]), 0u)
      << "the last session's records must still be in the write-ahead log";
}

TEST_F(DamageTest, AFlippedByteAnywhereInTheLogOrATableIsCaught) {
  for (const char* suffix : {".log", ".sst"}) {
    for (const std::string& name : DbFiles(suffix)) {
      const uint64_t size = fs::file_size(Data() + "/db/" + name);
      for (uint64_t offset : {uint64_t{0}, size / 3, size / 2, size - 1}) {
        ScratchDir scratch;
        const std::string data = scratch / "data";
        fs::copy(Data(), data, fs::copy_options::recursive);
        FlipByte(data + "/db/" + name, offset);
        ExpectCaughtOrWhole(data, name, "byte " + std::to_string(offset) + " flipped in");
      }
    }
  }
}

TEST_F(DamageTest, ACutShortLogOrTableIsCaught) {
  for (const char* suffix : {".log", ".sst"}) {
    for (const std::string& name : DbFiles(suffix)) {
      const uint64_t size = fs::file_size(Data() + "/db/" + name);
      for (uint64_t keep : {uint64_t{0}, size / 2, size - 1}) {
        ScratchDir scratch;
        const std::string data = scratch / "data";
        fs::copy(Data(), data, fs::copy_options::recursive);
        fs::resize_file(data + "/db/" + name, keep);
        ExpectCaughtOrWhole(data, name, "cut to " + std::to_string(keep) + " bytes:");
      }
    }
  }
}

TEST_F(DamageTest, ARemovedLogOrTableIsCaught) {
  for (const char* suffix : {".log", ".sst"}) {
    for (const std::string& name : DbFiles(suffix)) {
      ScratchDir scratch;
      const std::string data = scratch / "data";
      fs::copy(Data(), data, fs::copy_options::recursive);
      fs::remove(data + "/db/" + name);
      ExpectCaughtOrWhole(data, name, "removed");
    }
  }
}

TEST_F(DamageTest, ALogCutAtARecordBoundaryIsCaughtByTheWitness) {
  // Cut just the last session's last append: the log stays well formed, so only the checkpoint
  // witness can tell that an acknowledged record is gone.
  const std::string data = Copy();
  const std::string log = DbFiles(".log").at(0);
  const std::string before = ReadFile(data + "/db/" + log);
  ProcessResult shorter;
  for (uint64_t keep = before.size() - 1; keep > 0; --keep) {
    fs::resize_file(data + "/db/" + log, keep);
    shorter = Shiplog({"verify", "--data", data});
    if (shorter.err.find("are missing from the database") != std::string::npos) break;
  }
  EXPECT_EQ(shorter.exit_code, 4) << shorter.out << shorter.err;
  EXPECT_NE(shorter.err.find(data + "/checkpoint"), std::string::npos) << shorter.err;
  EXPECT_NE(shorter.err.find(log), std::string::npos) << shorter.err;
  // The server refuses it too, rather than becoming ready and reusing the lost numbers. (Bounded:
  // a server that wrongly started is stopped by `timeout`, and fails the exit code check.)
  ProcessResult serve = RunProcess({"/usr/bin/timeout", "30", ShiplogBinary(), "serve", "--data",
                                    data, "--insecure-listen", "127.0.0.1:0"});
  EXPECT_EQ(serve.exit_code, 4) << serve.err;
  EXPECT_NE(serve.err.find(log), std::string::npos) << serve.err;
}

TEST_F(DamageTest, ARemovedWitnessIsCaught) {
  const std::string data = Copy();
  fs::remove(data + "/checkpoint");
  for (const char* command : {"verify", "query"}) {
    ProcessResult r = Shiplog({command, "--data", data});
    EXPECT_EQ(r.exit_code, 4) << command << ": " << r.err;
    EXPECT_NE(r.err.find(data + "/checkpoint"), std::string::npos) << r.err;
  }
}

TEST_F(DamageTest, ATornWitnessSlotFallsBackToTheOtherSlot) {
  // A crash mid-write tears one slot; the other holds the checkpoint before it, which the database
  // is ahead of: the ledger opens, and the next commit writes the torn slot anew.
  const std::string data = Copy();
  for (uint64_t offset : {uint64_t{100}, uint64_t{4096 + 100}}) {
    ScratchDir scratch;
    const std::string copy = scratch / "data";
    fs::copy(data, copy, fs::copy_options::recursive);
    FlipByte(copy + "/checkpoint", offset);
    ProcessResult verify = Shiplog({"verify", "--data", copy});
    EXPECT_EQ(verify.exit_code, 0) << verify.err;
    ProcessResult append = Shiplog({"append", "--data", copy, "--key", copy + "/admin.key", "-"},
                                   EnrolmentJson(2000));
    EXPECT_EQ(append.exit_code, 0) << append.err;
  }
  FlipByte(data + "/checkpoint", 100);
  FlipByte(data + "/checkpoint", 4096 + 100);
  ProcessResult both = Shiplog({"verify", "--data", data});
  EXPECT_EQ(both.exit_code, 4) << both.err;
  EXPECT_NE(both.err.find(data + "/checkpoint"), std::string::npos) << both.err;
}

TEST_F(DamageTest, VerifyChangesNoFile) {
  const std::string data = Copy();
  const auto before = Snapshot(data);
  ProcessResult verify = Shiplog({"verify", "--data", data});
  ASSERT_EQ(verify.exit_code, 0) << verify.err;
  EXPECT_EQ(json::parse(verify.out)["records"], kRecords);
  const auto after = Snapshot(data);
  for (const auto& [name, bytes] : after) {
    EXPECT_TRUE(before.count(name)) << "verify created " << name;
  }
  for (const auto& [name, bytes] : before) {
    ASSERT_TRUE(after.count(name)) << "verify removed " << name;
    EXPECT_TRUE(after.at(name) == bytes) << "verify changed " << name;
  }
}

TEST_F(DamageTest, VerifyOfALedgerInUseIsRefused) {
  const std::string data = Copy();
  SystemClock clock;
  auto writer = Ledger::Open(data, &clock);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  // The writer is this process; verify runs as another, as it would beside `shiplog serve`.
  ProcessResult verify = Shiplog({"verify", "--data", data});
  EXPECT_EQ(verify.exit_code, 1) << verify.err;
  EXPECT_NE(verify.err.find("in use by another shiplog process"), std::string::npos) << verify.err;
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
