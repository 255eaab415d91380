// libFuzzer target: audit bundles as `shiplog verify-bundle` reads them (ParseJsonText, then
// VerifyBundle with the ledger's public key), against the fuzz ledger (fuzz_ledger.h). Whatever
// the input, verification gives a report or a Status, never a crash. A bundle the ledger key
// vouches for cannot be forged: every record of a bundle that verifies is, byte for byte, the
// entry the ledger holds at that seq, and the report counts the bundle's records.
// Seeds: tests/fuzz/corpus/bundle (bundles fuzz_seeds exports from the fuzz ledger).
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include "ledger/bundle.h"
#include "ledger/crypto.h"
#include "ledger/event.h"
#include "tests/fuzz/fuzz_ledger.h"

namespace {

using nlohmann::json;
using shiplog::fuzz::FuzzLedger;

void Check(bool invariant) {
  if (!invariant) std::abort();
}

// The checkpoint the bundle says the auditor kept (its consistency proof's size), when the
// ledger has one of that size: so the since path is fuzzed too.
std::optional<shiplog::Checkpoint> KeptCheckpoint(const json& bundle,
                                                  const shiplog::Ledger& ledger) {
  if (!bundle.is_object() || !bundle.contains("consistency")) return std::nullopt;
  const json& consistency = bundle["consistency"];
  if (!consistency.is_object() || !consistency.contains("from") ||
      !consistency["from"].is_number_unsigned()) {
    return std::nullopt;
  }
  const uint64_t from = consistency["from"].get<uint64_t>();
  if (from == 0 || from > ledger.size()) return std::nullopt;
  auto checkpoint = ledger.CheckpointAt(from);
  if (!checkpoint.ok()) return std::nullopt;
  return std::move(checkpoint).value();
}

void CheckForgery(const json& bundle, const shiplog::Ledger& ledger,
                  const shiplog::BundleReport& report) {
  Check(report.records == bundle["records"].size());
  for (const json& record : bundle["records"]) {
    const uint64_t seq = record["seq"].get<uint64_t>();
    auto entry = shiplog::Base64Decode(record["entry"].get<std::string>());
    auto stored = ledger.Read(seq);
    Check(entry.ok() && stored.ok() && *entry == stored->entry);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  FuzzLedger::Get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzLedger& fixture = FuzzLedger::Get();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // verify-bundle's bound is 256 MiB; fuzz inputs are far below any bound.
  auto bundle = shiplog::ParseJsonText(text, text.size());
  if (!bundle.ok()) return 0;
  const shiplog::Ledger& ledger = fixture.ledger();
  auto report = shiplog::VerifyBundle(*bundle, fixture.ledger_public_key(), std::nullopt);
  if (report.ok()) {
    (void)report->ToJson().dump(-1, ' ', false, json::error_handler_t::replace);
    if (report->ok) CheckForgery(*bundle, ledger, *report);
  }
  if (auto since = KeptCheckpoint(*bundle, ledger)) {
    auto against = shiplog::VerifyBundle(*bundle, fixture.ledger_public_key(), since);
    if (against.ok() && against->ok) CheckForgery(*bundle, ledger, *against);
  }
  return 0;
}
