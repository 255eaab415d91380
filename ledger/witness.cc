#include "ledger/witness.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "ledger/atomic_file.h"

namespace shiplog {
namespace {

constexpr size_t kSlotBytes = 4096;
constexpr int kSlots = 2;
constexpr std::string_view kMagic = "shiplog-witness 1\n";

// Writes all of `bytes` at `offset`, through short writes and interrupts.
bool WriteAllAt(int fd, std::string_view bytes, off_t offset) {
  while (!bytes.empty()) {
    const ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
    offset += n;
  }
  return true;
}

// The note a slot holds, if it is a written slot; nullopt for a slot never written.
// kCorrupt when it is written but not in the slot form (a torn or damaged write).
Result<std::optional<std::string_view>> SlotNote(std::string_view slot) {
  if (slot.find_first_not_of('\0') == std::string_view::npos)
    return std::optional<std::string_view>();
  if (slot.substr(0, kMagic.size()) != kMagic) return Status::Corrupt("no witness header");
  slot.remove_prefix(kMagic.size());
  const size_t newline = slot.find('\n');
  size_t length = 0;
  const auto parsed =
      std::from_chars(slot.data(), slot.data() + std::min(newline, slot.size()), length);
  if (newline == std::string_view::npos || parsed.ec != std::errc() ||
      parsed.ptr != slot.data() + newline || length > slot.size() - newline - 1) {
    return Status::Corrupt("a bad note length");
  }
  return std::optional<std::string_view>(slot.substr(newline + 1, length));
}

}  // namespace

CheckpointWitness::~CheckpointWitness() {
  if (fd_ >= 0) ::close(fd_);
}

Status CheckpointWitness::Create(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("cannot create the checkpoint witness", path, errno);
  const bool sized = ::ftruncate(fd, kSlotBytes * kSlots) == 0 && ::fsync(fd) == 0;
  ::close(fd);
  if (!sized) return ErrnoStatus("cannot write the checkpoint witness", path, errno);
  return SyncDirectoryOf(path);
}

Result<std::unique_ptr<CheckpointWitness>> CheckpointWitness::Open(
    const std::string& path, std::string_view ledger_public_key, bool read_only) {
  const int fd = ::open(path.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return Status::NotFound("no checkpoint witness at " + path);
  if (fd < 0) return ErrnoStatus("cannot open the checkpoint witness", path, errno);
  std::unique_ptr<CheckpointWitness> witness(new CheckpointWitness(path, fd));
  std::string bytes(kSlotBytes * kSlots, '\0');
  const ssize_t got = ::pread(fd, bytes.data(), bytes.size(), 0);
  if (got < 0) return ErrnoStatus("cannot read the checkpoint witness", path, errno);
  bool written = false;
  for (int slot = 0; slot < kSlots; ++slot) {
    auto note = SlotNote(std::string_view(bytes).substr(slot * kSlotBytes, kSlotBytes));
    written = written || !note.ok() || note->has_value();
    if (!note.ok() || !note->has_value()) continue;
    auto checkpoint = Checkpoint::Open(**note, ledger_public_key);
    if (!checkpoint.ok()) continue;  // torn by a crash mid-write: the other slot holds the last
    if (!witness->latest_ || checkpoint->head.size > witness->latest_->head.size) {
      witness->latest_ = std::move(checkpoint).value();
      witness->next_slot_ = (slot + 1) % kSlots;
    }
  }
  if (written && !witness->latest_) {
    return Status::Corrupt("the checkpoint witness " + path +
                           " holds no checkpoint signed by this ledger's key: it is damaged");
  }
  return witness;
}

Status CheckpointWitness::Record(const Checkpoint& checkpoint) {
  std::string slot(kMagic);
  slot += std::to_string(checkpoint.note.size()) + "\n" + checkpoint.note;
  if (slot.size() > kSlotBytes) {
    return Status::Internal("a checkpoint note of " + std::to_string(checkpoint.note.size()) +
                            " bytes does not fit the witness's slot");
  }
  slot.resize(kSlotBytes, '\0');
  if (!WriteAllAt(fd_, slot, static_cast<off_t>(next_slot_ * kSlotBytes)) ||
      ::fdatasync(fd_) != 0) {
    return ErrnoStatus("cannot write the checkpoint witness", path_, errno);
  }
  latest_ = checkpoint;
  next_slot_ = (next_slot_ + 1) % kSlots;
  return Status::Ok();
}

}  // namespace shiplog
