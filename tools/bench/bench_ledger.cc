#include "tools/bench/bench_ledger.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

namespace shiplog::bench {

SignedEvent MakeBenchEvent(uint64_t i, const SigningKey& key) {
  const std::string n = std::to_string(i);
  nlohmann::json json = {{"id", "bench-" + n},
                         {"kind", "step.reported"},
                         {"actor", kBenchActor},
                         {"deployment", "checkout-" + std::to_string(i / 20)},
                         {"step", "build"},
                         {"status", "READY"},
                         {"details", "build " + n + " of checkout passed its checks"}};
  return SignedEvent::Sign(*Event::FromJson(json), key);
}

std::unique_ptr<Ledger> CreateBenchLedger(const std::string& dir, const SigningKey& agent,
                                          SystemClock* clock, const std::string& store) {
  SigningKey admin = SigningKey::Generate();
  InitOptions options;
  options.admin_public_key = admin.PublicKey();
  options.store = store;
  if (Status s = Ledger::Init(dir, options, clock); !s.ok()) {
    std::cerr << "init: " << s.ToString() << "\n";
    return nullptr;
  }
  auto ledger = Ledger::Open(dir, clock);
  if (!ledger.ok()) {
    std::cerr << "open: " << ledger.status().ToString() << "\n";
    return nullptr;
  }
  nlohmann::json enrol = {{"id", "enrol-agent"},
                          {"kind", "key.enrolled"},
                          {"actor", "admin"},
                          {"name", kBenchActor},
                          {"public_key", HexEncode(agent.PublicKey())},
                          {"roles", {"ci"}}};
  if (auto r = (*ledger)->Append(SignedEvent::Sign(*Event::FromJson(enrol), admin)); !r.ok()) {
    std::cerr << "enrol: " << r.status().ToString() << "\n";
    return nullptr;
  }
  return std::move(ledger).value();
}

std::unique_ptr<Ledger> OpenBenchLedger(const std::string& dir, Clock* clock) {
  auto opened = Ledger::Open(dir, clock);
  if (!opened.ok()) {
    std::cerr << "open " << dir << ": " << opened.status().ToString() << "\n";
    return nullptr;
  }
  return std::move(opened).value();
}

std::vector<SignedEvent> SignBenchEvents(uint64_t first, uint64_t count, const SigningKey& key) {
  std::vector<SignedEvent> events(count);
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> signers;
  for (unsigned t = 0; t < threads; ++t) {
    signers.emplace_back([&, t] {
      for (uint64_t i = t; i < count; i += threads) events[i] = MakeBenchEvent(first + i, key);
    });
  }
  for (auto& s : signers) s.join();
  return events;
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  return sorted[std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()))];
}

nlohmann::json LatencySummary(std::vector<double>& micros) {
  std::sort(micros.begin(), micros.end());
  return {{"p50", Percentile(micros, 0.5)},
          {"p99", Percentile(micros, 0.99)},
          {"p999", Percentile(micros, 0.999)}};
}

nlohmann::json ConcurrentAppendFigures(unsigned clients, uint64_t events, double seconds,
                                       const std::vector<std::vector<double>>& latencies,
                                       double commits) {
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  return {{"clients", clients},
          {"events", events},
          {"events_per_s", events / seconds},
          {"latency_us", LatencySummary(all)},
          {"fsyncs_per_event", commits / events}};
}

namespace {

// The median of the numbers at the same place in `results`, recursively.
nlohmann::json Median(const std::vector<nlohmann::json>& results) {
  const nlohmann::json& first = results.front();
  if (first.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto it = first.begin(); it != first.end(); ++it) {
      std::vector<nlohmann::json> column;
      for (const auto& r : results) {
        if (r.contains(it.key())) column.push_back(r[it.key()]);
      }
      out[it.key()] = Median(column);
    }
    return out;
  }
  if (!first.is_number()) return first;
  std::vector<double> values;
  for (const auto& r : results) values.push_back(r.get<double>());
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  const double median = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
  if (first.is_number_unsigned()) return static_cast<uint64_t>(median);  // counts stay counts
  return median;
}

}  // namespace

nlohmann::json MedianOfRuns(int runs, const std::function<nlohmann::json()>& run) {
  std::vector<nlohmann::json> results;
  for (int i = 0; i < std::max(1, runs); ++i) {
    nlohmann::json result = run();
    if (result.is_null()) return nullptr;
    results.push_back(std::move(result));
  }
  nlohmann::json out = Median(results);
  out["runs"] = results.size();
  return out;
}

uint64_t PeakResidentBytes(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;  // in kB
  }
  return 0;
}

uint64_t DirectoryBytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) total += entry.file_size();
  }
  return total;
}

}  // namespace shiplog::bench
