#include "ledger/backup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "ledger/atomic_file.h"
#include "ledger/event.h"
#include "ledger/key_file.h"
#include "ledger/store.h"
#include "ledger/witness.h"

namespace shiplog {
namespace {

namespace fs = std::filesystem;

constexpr char kManifestFile[] = "/BACKUP";
constexpr char kFormat[] = "shiplog-backup-v1";
constexpr size_t kMaxManifestBytes = 64 * 1024;

// `dir` without trailing slashes, so that `dir` + ".incomplete-..." is its sibling.
std::string Trimmed(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir;
}

// kInvalidArgument unless `dir` is absent or an empty directory: a backup or a restore never
// mixes with what is already there.
Status CheckEmptyTarget(const std::string& dir, const std::string& option) {
  std::error_code error;
  if (!fs::exists(dir, error)) return Status::Ok();
  if (!fs::is_directory(dir, error)) {
    return Status::InvalidArgument(option + " " + dir + " exists and is not a directory");
  }
  if (fs::exists(dir + "/db", error)) {
    return Status::InvalidArgument(option + " " + dir + " holds a ledger (" + dir +
                                   "/db); it is never overwritten: name a new directory");
  }
  fs::directory_iterator entries(dir, error);
  if (error) return Status::InvalidArgument("cannot read " + dir + ": " + error.message());
  if (entries != fs::directory_iterator()) {
    return Status::InvalidArgument(option + " " + dir + " is not empty (it holds " +
                                   entries->path().filename().string() +
                                   "): name a new or empty directory");
  }
  return Status::Ok();
}

// A directory beside `target` where the copy is assembled, removed unless Keep() is called:
// `target` itself only ever appears whole, by rename.
class Staging {
 public:
  static Result<std::unique_ptr<Staging>> Make(const std::string& target) {
    std::error_code error;
    const fs::path parent = fs::path(target).parent_path();
    if (!parent.empty()) fs::create_directories(parent, error);
    if (error)
      return Status::InvalidArgument("cannot create " + parent.string() + ": " + error.message());
    std::string name = target + ".incomplete-XXXXXX";
    if (::mkdtemp(name.data()) == nullptr)
      return ErrnoStatus("cannot create", name, errno);  // mode 0700
    return std::unique_ptr<Staging>(new Staging(std::move(name)));
  }
  ~Staging() {
    std::error_code ignored;
    if (!kept_) fs::remove_all(path_, ignored);
  }
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;

  const std::string& path() const { return path_; }

  // Renames the staging directory to `target` (an empty directory there is replaced) and makes
  // the rename durable.
  Status MoveTo(const std::string& target) {
    if (::rename(path_.c_str(), target.c_str()) != 0)
      return ErrnoStatus("cannot rename " + path_ + " to", target, errno);
    kept_ = true;
    return SyncDirectoryOf(target);
  }

 private:
  explicit Staging(std::string path) : path_(std::move(path)) {}
  std::string path_;
  bool kept_ = false;
};

// The ledger key, kept as a key file is (0600, refused when others can read the source), and its
// public half: a restored ledger must sign the checkpoints of later appends with the same key.
Result<SigningKey> CopyLedgerKey(const std::string& from, const std::string& to) {
  SHIPLOG_ASSIGN_OR_RETURN(SigningKey key, ReadKeyFile(from + "/ledger.key"));
  SHIPLOG_RETURN_IF_ERROR(WriteNewKeyFile(to + "/ledger.key", key));
  return key;
}

// The source's checkpoint witness, read before the store is copied: the witness is written after
// each commit, so the copy, taken later, must hold its checkpoint, and opening the copy checks
// that it does (Ledger::CheckHolds). A ledger from before the witness has none to copy.
Status CopyWitness(const std::string& from, const std::string& to, std::string_view public_key) {
  auto source = CheckpointWitness::Open(from + "/checkpoint", public_key, /*read_only=*/true);
  if (!source.ok() && source.status().code() == StatusCode::kNotFound) return Status::Ok();
  SHIPLOG_RETURN_IF_ERROR(source.status());
  SHIPLOG_RETURN_IF_ERROR(CheckpointWitness::Create(to + "/checkpoint"));
  if (!(*source)->latest()) return Status::Ok();
  SHIPLOG_ASSIGN_OR_RETURN(auto copy,
                           CheckpointWitness::Open(to + "/checkpoint", public_key, false));
  return copy->Record(*(*source)->latest());
}

Status CopyStore(const std::string& from, const std::string& to) {
  const std::string scratch = to + "/.secondary";  // the secondary instance's own files
  if (::mkdir(scratch.c_str(), 0700) != 0) return ErrnoStatus("cannot create", scratch, errno);
  Status copied = CopyRocksStore(from + "/db", to + "/db", scratch);
  std::error_code ignored;
  fs::remove_all(scratch, ignored);
  return copied;
}

Status SyncPath(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return ErrnoStatus("cannot open", path, errno);
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  return synced ? Status::Ok() : ErrnoStatus("cannot sync", path, errno);
}

// `dir` and every file and directory under it, fsynced; returns their total size in bytes.
Result<uint64_t> SyncTree(const std::string& dir) {
  uint64_t bytes = 0;
  std::error_code error;
  for (fs::recursive_directory_iterator it(dir, error), end; !error && it != end;
       it.increment(error)) {
    SHIPLOG_RETURN_IF_ERROR(SyncPath(it->path().string()));
    if (it->is_regular_file()) bytes += it->file_size();
  }
  if (error) return Status::Internal("cannot read " + dir + ": " + error.message());
  SHIPLOG_RETURN_IF_ERROR(SyncPath(dir));
  return bytes;
}

// Opens the ledger in `dir` (catching its witness up, rebuilding old indexes) and verifies it in
// full; kCorrupt naming the first bad record when it does not verify.
Result<BackupSummary> OpenAndVerify(const std::string& dir, Clock* clock) {
  SHIPLOG_ASSIGN_OR_RETURN(auto ledger, Ledger::Open(dir, clock));
  BackupSummary summary;
  SHIPLOG_ASSIGN_OR_RETURN(summary.report, ledger->Verify());
  if (!summary.report.ok) {
    return Status::Corrupt("the copy does not verify: record " +
                           std::to_string(summary.report.first_bad_seq.value_or(0)) + ": " +
                           summary.report.problem);
  }
  summary.size = ledger->size();
  summary.checkpoint = ledger->LatestCheckpoint();
  summary.indexes_rebuilt = ledger->indexes_rebuilt();
  return summary;
}

// Copies the ledger directory `from` into the staging directory `to`, then opens and verifies
// the copy: the part a backup and a restore share.
Result<BackupSummary> CopyLedgerDir(const std::string& from, const std::string& to, Clock* clock) {
  struct stat st;
  if (::stat((from + "/store").c_str(), &st) == 0) {
    return Status::FailedPrecondition(
        "the ledger in " + from + " keeps its records in PostgreSQL (" + from +
        "/store): back that database up with PostgreSQL's tools (pg_basebackup, a standby, "
        "pg_dump), or copy the ledger out with `shiplog migrate --from " + from + " --to DIR`");
  }
  if (::stat((from + "/db").c_str(), &st) != 0) {
    return Status::NotFound("no ledger in " + from + " (no " + from + "/db)");
  }
  SHIPLOG_ASSIGN_OR_RETURN(SigningKey key, CopyLedgerKey(from, to));
  SHIPLOG_RETURN_IF_ERROR(CopyWitness(from, to, key.PublicKey()));
  SHIPLOG_RETURN_IF_ERROR(CopyStore(from, to));
  return OpenAndVerify(to, clock);
}

std::string RootHex(const Checkpoint& checkpoint) {
  return checkpoint.ToJson().value("root_hash", "");
}

nlohmann::json Manifest(const BackupSummary& summary, const std::string& source, Micros taken) {
  return {{"format", kFormat},
          {"size", summary.size},
          {"root_hash", RootHex(summary.checkpoint)},
          {"checkpoint", summary.checkpoint.note},
          {"taken", FormatTime(taken)},
          {"source", source}};
}

// The BACKUP file of `dir`: kInvalidArgument when there is none (an interrupted backup, or not a
// backup at all) or it is not one this binary reads.
Result<nlohmann::json> ReadManifest(const std::string& dir) {
  const std::string path = dir + kManifestFile;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::InvalidArgument(dir + " is not a finished shiplog backup: it has no " + path +
                                   " (an interrupted backup never has one)");
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto json = ParseJsonText(text.str(), kMaxManifestBytes);
  if (!json.ok()) return json.status().Prefixed(path);
  if (!json->is_object() || json->value("format", "") != kFormat ||
      !(*json)["size"].is_number_unsigned() || !(*json)["root_hash"].is_string()) {
    return Status::InvalidArgument(path + " is not a " + kFormat + " file");
  }
  return json;
}

// kCorrupt unless the restored ledger is the one the backup's BACKUP file names.
Status CheckMatchesManifest(const BackupSummary& restored, const nlohmann::json& manifest) {
  const uint64_t size = manifest["size"].get<uint64_t>();
  const std::string root = manifest["root_hash"].get<std::string>();
  if (restored.size == size && RootHex(restored.checkpoint) == root) return Status::Ok();
  return Status::Corrupt("the backup's BACKUP file names a ledger of " + std::to_string(size) +
                         " records with root " + root + ", but its copy holds " +
                         std::to_string(restored.size) + " records with root " +
                         RootHex(restored.checkpoint));
}

}  // namespace

nlohmann::json BackupSummary::ToJson() const {
  return {{"dir", dir},
          {"size", size},
          {"root_hash", RootHex(checkpoint)},
          {"bytes", bytes},
          {"checkpoint", checkpoint.note},
          {"verify", report.ToJson()},
          {"indexes_rebuilt", indexes_rebuilt}};
}

Result<BackupSummary> TakeBackup(const std::string& data_dir, const std::string& out_dir,
                                 Clock* clock) {
  const std::string out = Trimmed(out_dir);
  SHIPLOG_RETURN_IF_ERROR(CheckEmptyTarget(out, "--out"));
  SHIPLOG_ASSIGN_OR_RETURN(auto staging, Staging::Make(out));
  SHIPLOG_ASSIGN_OR_RETURN(BackupSummary summary, CopyLedgerDir(data_dir, staging->path(), clock));
  std::error_code error;
  const std::string source = fs::absolute(data_dir, error).lexically_normal().string();
  SHIPLOG_RETURN_IF_ERROR(
      WriteFileAtomically(staging->path() + kManifestFile,
                          Manifest(summary, source, clock->NowMicros()).dump(2) + "\n", 0600));
  SHIPLOG_ASSIGN_OR_RETURN(summary.bytes, SyncTree(staging->path()));
  SHIPLOG_RETURN_IF_ERROR(staging->MoveTo(out));
  summary.dir = out;
  return summary;
}

Result<BackupSummary> RestoreBackup(const std::string& backup_dir, const std::string& data_dir,
                                    Clock* clock) {
  const std::string data = Trimmed(data_dir);
  SHIPLOG_RETURN_IF_ERROR(CheckEmptyTarget(data, "--data"));
  SHIPLOG_ASSIGN_OR_RETURN(nlohmann::json manifest, ReadManifest(backup_dir));
  SHIPLOG_ASSIGN_OR_RETURN(auto staging, Staging::Make(data));
  SHIPLOG_ASSIGN_OR_RETURN(BackupSummary summary,
                           CopyLedgerDir(backup_dir, staging->path(), clock));
  SHIPLOG_RETURN_IF_ERROR(CheckMatchesManifest(summary, manifest));
  SHIPLOG_ASSIGN_OR_RETURN(summary.bytes, SyncTree(staging->path()));
  SHIPLOG_RETURN_IF_ERROR(staging->MoveTo(data));
  summary.dir = data;
  return summary;
}

}  // namespace shiplog
