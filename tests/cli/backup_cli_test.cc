// Backups and restores with the real binary: a backup is a whole, verified copy or nothing; a
// restore opens and verifies; `verify --against` a checkpoint a client holds names the records a
// restore from an older backup lost, and tells a fork, a forged note and a foreign one apart.
// (Backups under a running server: tests/server/backup_test.cc.)
#include <sys/stat.h>
#include <sys/types.h>

#include <filesystem>

#include "tests/cli/background_process.h"
#include "tests/cli/cli_ledger_test.h"

namespace shiplog::testing {
namespace {
namespace SHIPLOG_THIS_FILE {

namespace fs = std::filesystem;

class BackupCliTest : public CliLedgerTest {
 protected:
  void SetUp() override { InitWithAgents({}); }

  // Appends an admin-signed enrolment of a fresh key; returns the receipt's JSON text.
  std::string Enrol(const std::string& data, const std::string& name) {
    Ok({"keygen", "--out", dir_ / (name + ".key")});
    ProcessResult r =
        Run({"enroll", "--data", data, "--admin-key", this->data() + "/admin.key", "--name", name,
             "--roles", "ci", "--public-key", dir_ / (name + ".key.pub")});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  // The latest signed checkpoint of `data` as its bare note, in a file: what a client keeps.
  std::string KeepNote(const std::string& data, const std::string& file) {
    ProcessResult r = Run({"checkpoint", "--data", data, "--note"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    WriteFile(dir_ / file, r.out);
    return dir_ / file;
  }

  // Names in `parent` that start with `prefix`.
  static std::vector<std::string> Entries(const std::string& parent, const std::string& prefix) {
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(parent)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind(prefix, 0) == 0) found.push_back(name);
    }
    return found;
  }
};

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

TEST_F(BackupCliTest, ABackupRestoresAndVerifyAgainstNamesWhatWasAcknowledgedAfterIt) {
  Enrol(data(), "a1");
  const std::string before = KeepNote(data(), "before.note");  // size 2
  const json backup = Ok({"backup", "--data", data(), "--out", dir_ / "bk"});
  ASSERT_EQ(backup["size"], 2);
  EXPECT_EQ(backup["verify"]["ok"], true);
  EXPECT_EQ(backup["root_hash"], Ok({"checkpoint", "--data", data()})["root_hash"]);
  EXPECT_EQ(ModeOf(dir_ / "bk"), 0700u);
  EXPECT_EQ(ModeOf(dir_ / "bk/ledger.key"), 0600u);
  EXPECT_FALSE(fs::exists(dir_ / "bk/admin.key")) << "the admin key is never copied loosely";
  EXPECT_TRUE(Entries(dir_.path(), "bk.incomplete").empty());

  Enrol(data(), "a2");
  Enrol(data(), "a3");
  WriteFile(dir_ / "receipt.json", Enrol(data(), "a4"));       // the last receipt a client holds
  const std::string latest = KeepNote(data(), "latest.note");  // size 5

  const json restored = Ok({"restore", "--from", dir_ / "bk", "--data", dir_ / "restored"});
  EXPECT_EQ(restored["size"], 2);
  EXPECT_EQ(restored["root_hash"], backup["root_hash"]);
  EXPECT_EQ(ModeOf(dir_ / "restored/ledger.key"), 0600u);
  Ok({"verify", "--data", dir_ / "restored"});

  for (const std::string& held : {latest, dir_ / "receipt.json", data() + "/checkpoint"}) {
    SCOPED_TRACE(held);
    ProcessResult r = Run({"verify", "--data", dir_ / "restored", "--against", held});
    EXPECT_EQ(r.exit_code, 4) << r.err << r.out;
    EXPECT_NE(r.err.find("records 2..4 acknowledged after this copy are missing"),
              std::string::npos)
        << r.err;
    const json out = json::parse(r.out);
    EXPECT_EQ(out["against"]["missing"], json({{"from", 2}, {"to", 4}})) << r.out;
  }
  const json older = Ok({"verify", "--data", dir_ / "restored", "--against", before});
  EXPECT_EQ(older["against"]["ok"], true);
  EXPECT_EQ(Ok({"verify", "--data", data(), "--against", latest})["against"]["ok"], true);

  // The restored ledger takes appends again; once it is past the lost records' sizes, the
  // checkpoint shows a different log at its size: a fork, still never silent.
  for (const char* name : {"b1", "b2", "b3", "b4"}) Enrol(dir_ / "restored", name);
  ProcessResult forked = Run({"verify", "--data", dir_ / "restored", "--against", latest});
  EXPECT_EQ(forked.exit_code, 4) << forked.err;
  EXPECT_NE(forked.err.find("the log forked"), std::string::npos) << forked.err;
}

TEST_F(BackupCliTest, AForgedOrForeignCheckpointIsRefusedAsBadInput) {
  Enrol(data(), "a1");
  std::string note = ReadFile(KeepNote(data(), "genuine.note"));
  ASSERT_EQ(note.find("\n2\n"), note.find('\n'));
  WriteFile(dir_ / "forged.note", note.replace(note.find("\n2\n"), 3, "\n3\n"));
  ProcessResult forged = Run({"verify", "--data", data(), "--against", dir_ / "forged.note"});
  EXPECT_EQ(forged.exit_code, 2) << forged.err << forged.out;
  EXPECT_NE(forged.err.find("bad_signature"), std::string::npos) << forged.err;

  Ok({"init", "--data", dir_ / "other"});
  const std::string foreign = KeepNote(dir_ / "other", "foreign.note");
  ProcessResult refused = Run({"verify", "--data", data(), "--against", foreign});
  EXPECT_EQ(refused.exit_code, 2) << refused.err << refused.out;
  EXPECT_NE(refused.err.find("bad_signature"), std::string::npos) << refused.err;
  ProcessResult witness = Run({"verify", "--data", data(), "--against", dir_ / "other/checkpoint"});
  EXPECT_EQ(witness.exit_code, 2) << witness.err << witness.out;
}

TEST_F(BackupCliTest, NeverWritesIntoADirectoryThatHoldsSomething) {
  fs::create_directories(dir_ / "full");
  WriteFile(dir_ / "full/keep.txt", "mine");
  ProcessResult out = Run({"backup", "--data", data(), "--out", dir_ / "full"});
  EXPECT_EQ(out.exit_code, 2) << out.err;
  EXPECT_NE(out.err.find("is not empty"), std::string::npos) << out.err;
  EXPECT_EQ(ReadFile(dir_ / "full/keep.txt"), "mine");
  EXPECT_EQ(Entries(dir_.path(), "full").size(), 1u) << "no staging directory may be left";

  fs::create_directories(dir_ / "empty");
  Ok({"backup", "--data", data(), "--out", dir_ / "empty"});  // an empty directory is taken

  ProcessResult over = Run({"restore", "--from", dir_ / "empty", "--data", data()});
  EXPECT_EQ(over.exit_code, 2) << over.err;
  EXPECT_NE(over.err.find("holds a ledger"), std::string::npos) << over.err;
  Ok({"verify", "--data", data()});

  ProcessResult not_backup = Run({"restore", "--from", data(), "--data", dir_ / "r"});
  EXPECT_EQ(not_backup.exit_code, 2) << not_backup.err;
  EXPECT_NE(not_backup.err.find("not a finished shiplog backup"), std::string::npos)
      << not_backup.err;
  EXPECT_FALSE(fs::exists(dir_ / "r"));
}

TEST_F(BackupCliTest, ABackupKilledMidwayLeavesNothingThatLooksLikeABackup) {
  // The source's checkpoint witness is a FIFO nobody writes: the backup blocks on it after making
  // its staging directory and copying the key, and is killed there.
  ASSERT_EQ(::mkfifo((dir_ / "held.fifo").c_str(), 0600), 0);
  fs::copy(data(), dir_ / "held", fs::copy_options::recursive);
  fs::remove(dir_ / "held/checkpoint");
  fs::rename(dir_ / "held.fifo", dir_ / "held/checkpoint");
  BackgroundProcess backup(
      {ShiplogBinary(), "backup", "--data", dir_ / "held", "--out", dir_ / "bk"});
  ASSERT_TRUE(WaitUntil(
      [&] {
        for (const std::string& name : Entries(dir_.path(), "bk.incomplete-")) {
          if (fs::exists(dir_ / (name + "/ledger.key"))) return true;
        }
        return false;
      },
      std::chrono::seconds(30)));
  backup.Signal(SIGKILL);
  EXPECT_EQ(backup.Wait().exit_code, -1);

  EXPECT_FALSE(fs::exists(dir_ / "bk"));
  const std::vector<std::string> left = Entries(dir_.path(), "bk.incomplete-");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_FALSE(fs::exists(dir_ / (left[0] + "/BACKUP")));
  ProcessResult r = Run({"restore", "--from", dir_ / left[0], "--data", dir_ / "r"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("not a finished shiplog backup"), std::string::npos) << r.err;
}

TEST_F(BackupCliTest, ABackupThatDoesNotVerifyLeavesNothing) {
  // A source whose database lost acknowledged records: its witness is from after two more appends.
  fs::copy(data(), dir_ / "behind", fs::copy_options::recursive);
  Enrol(data(), "a1");
  Enrol(data(), "a2");
  fs::remove(dir_ / "behind/checkpoint");
  fs::copy_file(data() + "/checkpoint", dir_ / "behind/checkpoint");
  ProcessResult r = Run({"backup", "--data", dir_ / "behind", "--out", dir_ / "bk"});
  EXPECT_EQ(r.exit_code, 4) << r.err << r.out;
  EXPECT_NE(r.err.find("records 1 to 2 are missing"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "bk"));
  EXPECT_TRUE(Entries(dir_.path(), "bk.incomplete").empty());
}

}  // namespace SHIPLOG_THIS_FILE
}  // namespace
}  // namespace shiplog::testing
