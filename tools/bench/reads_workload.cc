// `shiplog-bench reads --dir DIR`: what an incident reviewer and an auditor wait for on a big
// ledger (one `shiplog-bench history` built): replay from genesis and from the nearest snapshot
// (policy fold, no signature checks), a full verify (signatures, Merkle tree, checkpoints,
// indexes), the disk used per record, three queries (a deployment's history, an image digest's
// path, all waivers in a month) and the console's list of deployments (replay/deployment_list.h):
// its first page, and a page filtered by app and status.

#include <filesystem>
#include <iostream>
#include <random>
#include <set>

#include "replay/deployment_list.h"
#include "replay/replay.h"
#include "tools/bench/bench_ledger.h"
#include "tools/bench/workloads.h"

namespace shiplog::bench {
namespace {

constexpr int kQueries = 300;
constexpr Micros kMonth = 30LL * 24 * 3600 * 1000000;

// Times `kQueries` runs of `filter_at(i)`, reading every record each matches; p50/p99 in ms.
template <typename FilterAt>
nlohmann::json TimeQueries(const Ledger& ledger, FilterAt filter_at, uint64_t& records_seen) {
  std::vector<double> millis;
  for (int i = 0; i < kQueries; ++i) {
    const QueryFilter filter = filter_at(i);
    const auto start = BenchClock::now();
    Status s = ledger.Query(filter, [&](const StoredRecord&) {
      ++records_seen;
      return true;
    });
    millis.push_back(MicrosSince(start) / 1000);
    if (!s.ok()) {
      std::cerr << "query: " << s.ToString() << "\n";
      return nullptr;
    }
  }
  nlohmann::json summary = LatencySummary(millis);
  summary.erase("p999");
  return summary;
}

// Times `kLists` pages of the deployment list under `filter_at(i)`; p50/p99 in ms. Fewer than the
// queries: a page walks every request's index entry within its time bounds.
constexpr int kLists = 30;
template <typename FilterAt>
nlohmann::json TimeLists(const Ledger& ledger, FilterAt filter_at) {
  std::vector<double> millis;
  for (int i = 0; i < kLists; ++i) {
    const replay::DeploymentListFilter filter = filter_at(i);
    const auto start = BenchClock::now();
    auto list = replay::ListDeployments(ledger, filter);
    millis.push_back(MicrosSince(start) / 1000);
    if (!list.ok()) {
      std::cerr << "deployment list: " << list.status().ToString() << "\n";
      return nullptr;
    }
  }
  nlohmann::json summary = LatencySummary(millis);
  summary.erase("p999");
  return summary;
}

// The deployments and images of `count` records spread evenly over the ledger.
void SampleNames(const Ledger& ledger, int count, std::vector<std::string>& deployments,
                 std::vector<std::string>& images, std::vector<std::string>& apps) {
  std::mt19937_64 rng(7);
  for (int tries = 0; tries < count * 20 && (int)deployments.size() < count; ++tries) {
    auto record = ledger.Read(1 + rng() % (ledger.size() - 1));
    if (!record.ok() || record->event.deployment().empty()) continue;
    deployments.emplace_back(record->event.deployment());
    auto json = record->event.ToJson();
    if (json.contains("image")) images.push_back(json["image"].get<std::string>());
    if (json.contains("app")) apps.push_back(json["app"].get<std::string>());
  }
}

// A snapshot not written or refused makes "from the nearest snapshot" a fold from further back.
void WarnOnStderr(const std::string& warning) {
  std::cerr << "shiplog-bench reads: " << warning << "\n";
}

}  // namespace

int RunReadsWorkload(const std::string& dir, uint64_t replay_records, int runs) {
  InitCrypto();
  SystemClock clock;
  std::unique_ptr<Ledger> opened = OpenBenchLedger(dir, &clock);
  if (!opened) return 1;
  const Ledger& ledger = *opened;
  const uint64_t size = ledger.size();
  const uint64_t genesis_records = std::min(replay_records, size);
  std::vector<std::string> deployments, images, apps;
  SampleNames(ledger, kQueries, deployments, images, apps);
  if (deployments.empty() || images.empty() || apps.empty()) {
    std::cerr << dir << " holds no deployments with images: build it with shiplog-bench history\n";
    return 1;
  }
  const Micros first_time = ledger.Read(0)->ledger_time;
  const Micros last_time = ledger.Read(size - 1)->ledger_time;

  {
    // Snapshots every tenth of the ledger, written once (kept for later runs), so the nearest
    // snapshot to the end is a tenth away at most.
    replay::ReplayOptions write_snapshots;
    write_snapshots.scope = replay::FoldScope::kWholeLedger;
    write_snapshots.data_dir = dir;
    write_snapshots.snapshot_every = std::max<uint64_t>(1000, size / 10);
    write_snapshots.warn = WarnOnStderr;
    if (auto fold = replay::FoldThrough(ledger, size - 1, write_snapshots); !fold.ok()) {
      std::cerr << "writing snapshots: " << fold.status().ToString() << "\n";
      return 1;
    }
  }
  nlohmann::json out = MedianOfRuns(runs, [&]() -> nlohmann::json {
    replay::ReplayOptions from_genesis;
    from_genesis.scope = replay::FoldScope::kWholeLedger;
    auto start = BenchClock::now();
    if (auto fold = replay::FoldThrough(ledger, genesis_records - 1, from_genesis); !fold.ok()) {
      std::cerr << "replay from genesis: " << fold.status().ToString() << "\n";
      return nullptr;
    }
    const double genesis_seconds = MicrosSince(start) / 1e6;

    replay::ReplayOptions from_snapshot = from_genesis;
    from_snapshot.data_dir = dir;
    from_snapshot.snapshot_every = 0;  // read the snapshots there are, write none
    from_snapshot.warn = WarnOnStderr;    // one refused: the fold starts further back
    start = BenchClock::now();
    if (auto fold = replay::FoldThrough(ledger, size - 1, from_snapshot); !fold.ok()) {
      std::cerr << "replay from a snapshot: " << fold.status().ToString() << "\n";
      return nullptr;
    }
    const double snapshot_seconds = MicrosSince(start) / 1e6;

    start = BenchClock::now();
    auto report = ledger.Verify();
    const double verify_seconds = MicrosSince(start) / 1e6;
    if (!report.ok() || !report->ok) {
      std::cerr << "verify failed\n";
      return nullptr;
    }

    uint64_t seen = 0;
    std::mt19937_64 rng(11);
    nlohmann::json history = TimeQueries(ledger, [&](int i) {
      QueryFilter f;
      f.deployment = deployments[i % deployments.size()];
      return f;
    }, seen);
    nlohmann::json image_path = TimeQueries(ledger, [&](int i) {
      QueryFilter f;
      f.image = images[i % images.size()];
      return f;
    }, seen);
    nlohmann::json waivers = TimeQueries(ledger, [&](int) {
      QueryFilter f;
      f.waivers = true;
      const Micros span = std::max<Micros>(1, last_time - first_time - kMonth);
      f.since = first_time + static_cast<Micros>(rng() % static_cast<uint64_t>(span));
      f.until = *f.since + kMonth;
      return f;
    }, seen);
    nlohmann::json first_page = TimeLists(ledger, [](int) { return replay::DeploymentListFilter(); });
    nlohmann::json app_completed = TimeLists(ledger, [&](int i) {
      replay::DeploymentListFilter f;
      f.app = apps[i % apps.size()];
      f.status = "completed";
      return f;
    });
    if (history.is_null() || image_path.is_null() || waivers.is_null() || first_page.is_null() ||
        app_completed.is_null()) {
      return nullptr;
    }
    return {{"records", size},
            {"replay_genesis_records", genesis_records},
            {"replay_genesis_per_s", genesis_records / genesis_seconds},
            {"replay_snapshot_to_end_s", snapshot_seconds},
            {"replay_snapshot_per_s", size / snapshot_seconds},
            {"verify_per_s", size / verify_seconds},
            {"verify_s", verify_seconds},
            {"query_deployment_history_ms", history},
            {"query_image_path_ms", image_path},
            {"query_waivers_month_ms", waivers},
            {"list_deployments_first_page_ms", first_page},
            {"list_deployments_app_completed_ms", app_completed}};
  });
  if (out.is_null()) return 1;
  out["disk_bytes_per_record"] = static_cast<double>(DirectoryBytes(dir)) / size;
  // Replay's snapshots are a cache beside the ledger (deleting them loses nothing), so the
  // ledger's own cost is counted apart.
  const std::string snapshots = dir + "/snapshots";
  const uint64_t snapshot_bytes =
      std::filesystem::exists(snapshots) ? DirectoryBytes(snapshots) : 0;
  out["disk_bytes_per_record_without_snapshots"] =
      static_cast<double>(DirectoryBytes(dir) - snapshot_bytes) / size;
  std::cout << out.dump(2) << "\n";
  return 0;
}

}  // namespace shiplog::bench
