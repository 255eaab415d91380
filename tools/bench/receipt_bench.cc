// Rendering an append's receipt, the answer every agent's append waits for: its JSON built as a
// value and printed, the same text written directly (Receipt::ToJsonText, what the server sends)
// and, for agents that ask for it, the Cap'n Proto message. The receipt is a real one: the last
// of a thousand build reports appended to a ledger on disk, so its inclusion proof has a
// realistic length.
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include "ledger/ledger.h"
#include "tools/bench/bench_ledger.h"
#include "tools/bench/workloads.h"

namespace shiplog {
namespace {

// The receipt of the last of `count` bench events appended in one batch; nullopt (having said
// why on stderr) when the ledger cannot be made.
std::optional<Receipt> AppendedReceipt(uint64_t count) {
  bench::WorkloadDir dir("");
  if (dir.path().empty()) return std::nullopt;
  SystemClock clock;
  const SigningKey agent = SigningKey::Generate();
  auto ledger = bench::CreateBenchLedger(dir.path(), agent, &clock);
  if (!ledger) return std::nullopt;
  std::vector<CheckedEvent> events;
  for (SignedEvent& e : bench::SignBenchEvents(0, count, agent)) {
    auto checked = CheckEvent(std::move(e));
    if (!checked.ok()) return std::nullopt;
    events.push_back(std::move(checked).value());
  }
  auto receipts = ledger->AppendBatch(std::move(events));
  if (receipts.empty() || !receipts.back().ok()) return std::nullopt;
  return std::move(receipts.back()).value();
}

const Receipt* BenchReceipt() {
  static const std::optional<Receipt> receipt = AppendedReceipt(1000);
  return receipt ? &*receipt : nullptr;
}

void BM_ReceiptJson(benchmark::State& state) {
  const Receipt* receipt = BenchReceipt();
  if (receipt == nullptr) return state.SkipWithError("no receipt: the bench ledger failed");
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        receipt->ToJson().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
}
BENCHMARK(BM_ReceiptJson)->Unit(benchmark::kMicrosecond);

void BM_ReceiptJsonText(benchmark::State& state) {
  const Receipt* receipt = BenchReceipt();
  if (receipt == nullptr) return state.SkipWithError("no receipt: the bench ledger failed");
  for (auto _ : state) benchmark::DoNotOptimize(receipt->ToJsonText());
}
BENCHMARK(BM_ReceiptJsonText)->Unit(benchmark::kMicrosecond);

void BM_ReceiptCapnp(benchmark::State& state) {
  const Receipt* receipt = BenchReceipt();
  if (receipt == nullptr) return state.SkipWithError("no receipt: the bench ledger failed");
  for (auto _ : state) benchmark::DoNotOptimize(receipt->ToCapnpMessage());
}
BENCHMARK(BM_ReceiptCapnp)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace shiplog
