// CheckpointWitness: the latest signed checkpoint, kept outside the database.
//
// The database can lose its newest records without saying so: a damaged, truncated or deleted
// write-ahead log is read up to the damage, and what was acknowledged after it is gone. A ledger
// that went on from there would reuse the lost sequence numbers and sign a second, different
// checkpoint at a size it had already signed, while the old receipts still verified. So every
// commit also writes its checkpoint here, durably and before any receipt is answered, and opening
// a ledger refuses a database that is behind this file or disagrees with it.
//
// The file (`DATA/checkpoint`) holds two 4 KiB slots, written in turn, each:
//
//   "shiplog-witness 1\n" | decimal length of the note | "\n" | the signed checkpoint note
//
// and zero padding. A write overwrites only the older slot, so a crash in the middle of one leaves
// the other whole; a torn slot fails its note's signature and is ignored. The newer valid slot is
// the witness's checkpoint.
//
// Thread safety: none; the ledger calls it under its sequencer's lock.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/checkpoint.h"
#include "ledger/status.h"

namespace shiplog {

class CheckpointWitness {
 public:
  ~CheckpointWitness();
  CheckpointWitness(const CheckpointWitness&) = delete;
  CheckpointWitness& operator=(const CheckpointWitness&) = delete;

  // Creates an empty witness file at `path` (it must not exist), durable with its directory.
  static Status Create(const std::string& path);

  // Opens the witness at `path`, reading its checkpoint with `ledger_public_key` (32 raw bytes).
  // kNotFound when there is no file; kCorrupt, naming the file, when it holds slots but none
  // verifies. With `read_only` the file is opened for reading and Record() fails.
  static Result<std::unique_ptr<CheckpointWitness>> Open(const std::string& path,
                                                         std::string_view ledger_public_key,
                                                         bool read_only);

  // The newest checkpoint the file holds; nullopt for a file never written.
  const std::optional<Checkpoint>& latest() const { return latest_; }
  const std::string& path() const { return path_; }

  // Writes `checkpoint` into the older slot and fsyncs it: durable when it returns OK.
  // REQUIRES: larger than latest().
  Status Record(const Checkpoint& checkpoint);

 private:
  CheckpointWitness(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

  std::string path_;
  int fd_ = -1;
  std::optional<Checkpoint> latest_;
  int next_slot_ = 0;  // the slot the next Record() overwrites: not the one holding latest_
};

}  // namespace shiplog
