// libFuzzer target: replay's snapshot decoder (DecodeSnapshot), against the fuzz ledger
// (fuzz_ledger.h), whose records a snapshot must bind to. Whatever the bytes, decoding gives a
// fold or a Status, never a crash. The file's SHA-256 would stop almost every mutation at the
// door, so each input is also decoded with its hash made right (the content as the fuzzer
// mutated it, under a correct hash): the checks behind the hash are fuzzed too, as a snapshot
// written by someone who can write the snapshot folder would reach them. A fold that decodes
// goes on folding the ledger's later records (what replay does next), and encodes to a snapshot
// that decodes and encodes to the same bytes again.
// Seeds: tests/fuzz/corpus/snapshot (snapshots fuzz_seeds encodes from the fuzz ledger).
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "ledger/crypto.h"
#include "replay/snapshot.h"
#include "schemas/snapshot.capnp.h"
#include "tests/fuzz/fuzz_ledger.h"

namespace {

using shiplog::fuzz::FuzzLedger;
namespace replay = shiplog::replay;
namespace snap = shiplog::schema::snapshot;

void Check(bool invariant) {
  if (!invariant) std::abort();
}

// `bytes` as a snapshot file, its sha256 replaced by its content's; nullopt when the bytes are
// not a SnapshotFile message with some content.
std::optional<std::string> WithHashMadeRight(std::string_view bytes) {
  if (bytes.empty() || bytes.size() % sizeof(capnp::word) != 0) return std::nullopt;
  try {
    kj::Array<capnp::word> words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
    std::memcpy(words.begin(), bytes.data(), bytes.size());
    capnp::ReaderOptions limits;
    limits.traversalLimitInWords = words.size() * 2 + 1024;
    capnp::FlatArrayMessageReader reader(words, limits);
    auto file = reader.getRoot<snap::SnapshotFile>();
    auto content = file.getContent();
    if (content.size() == 0) return std::nullopt;
    const std::string_view content_bytes(reinterpret_cast<const char*>(content.begin()),
                                         content.size());
    capnp::MallocMessageBuilder message;
    auto fixed = message.initRoot<snap::SnapshotFile>();
    fixed.setFormatVersion(file.getFormatVersion());
    fixed.setContent(content);
    const shiplog::Sha256Digest digest = shiplog::Sha256(content_bytes);
    const std::string_view hash = shiplog::AsBytes(digest);
    fixed.setSha256(kj::arrayPtr(reinterpret_cast<const kj::byte*>(hash.data()), hash.size()));
    kj::Array<capnp::word> flat = capnp::messageToFlatArray(message);
    auto flat_bytes = flat.asBytes();
    return std::string(reinterpret_cast<const char*>(flat_bytes.begin()), flat_bytes.size());
  } catch (const kj::Exception&) {
    return std::nullopt;
  }
}

void Decode(std::string_view bytes, const shiplog::Ledger& ledger) {
  auto fold = replay::DecodeSnapshot(bytes, ledger);
  if (!fold.ok()) return;
  Check(fold->next_seq() >= 1 && fold->next_seq() <= ledger.size());
  auto encoded = replay::EncodeSnapshot(*fold, ledger);
  Check(encoded.ok());
  auto again = replay::DecodeSnapshot(*encoded, ledger);
  Check(again.ok());
  auto encoded_again = replay::EncodeSnapshot(*again, ledger);
  Check(encoded_again.ok() && *encoded_again == *encoded);
  for (uint64_t seq = fold->next_seq(); seq < ledger.size(); ++seq) {
    auto record = ledger.Read(seq);
    Check(record.ok());
    fold->Apply(*record);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  FuzzLedger::Get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const shiplog::Ledger& ledger = FuzzLedger::Get().ledger();
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Decode(bytes, ledger);
  if (auto fixed = WithHashMadeRight(bytes)) Decode(*fixed, ledger);
  return 0;
}
