// shiplog-bench: the hot paths measured. tools/bench/run.sh runs the whole comparison.
//   build/bin/shiplog-bench                                  the micro-benchmarks (Google Benchmark)
//   build/bin/shiplog-bench --benchmark_filter=Decide        some of them (Decide, Fold, Event)
//   build/bin/shiplog-bench limits [--runs R]                the machine's limits (references)
//   build/bin/shiplog-bench decide [--runs R]                one decision timed alone, and the fold
//   build/bin/shiplog-bench append --records N [--dir DIR] [--verify]
//                                                            one client, one durable commit each
//   build/bin/shiplog-bench pipeline --clients C --records N [--runs R] [--postgres URL [--servers S]]
//                                                            C concurrent clients, in process
//   build/bin/shiplog-bench http --clients C --records N [--runs R] [--shiplog BIN]
//                                                            C clients of a real `shiplog serve`
//   build/bin/shiplog-bench history --records N [--dir DIR] [--interleave K]
//                                                            a realistic ledger to replay and query
//   build/bin/shiplog-bench reads --dir DIR [--records N] [--runs R]
//   build/bin/shiplog-bench admission --dir DIR [--runs R]   the Kubernetes admission decision
//                                                            replay (N from genesis), verify, queries
//   build/bin/shiplog-bench events --records N --out FILE    the benchmark stream, for the peers
#include <benchmark/benchmark.h>

#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>

#include "ledger/crypto.h"
#include "tools/bench/bench_ledger.h"
#include "tools/bench/workloads.h"

namespace {

struct WorkloadArgs {
  uint64_t records = 1000;
  uint64_t clients = 1;
  uint64_t runs = 1;
  std::string dir;
  std::string out;
  std::string shiplog;
  std::string postgres;
  uint64_t servers = 1;
  uint64_t interleave = 0;
  bool verify = false;
};

// Reads a count of at least `least` for `flag`; prints why not and returns false.
bool ParseCount(std::string_view flag, std::string_view value, uint64_t least, uint64_t& count) {
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), count);
  if (error != std::errc() || end != value.data() + value.size() || count < least) {
    std::cerr << "shiplog-bench: " << flag << " takes a count of at least " << least << ", not '"
              << value << "'\n";
    return false;
  }
  return true;
}

// Parses the flags after the workload's name; only those named in `allowed` (e.g. "--records
// --dir") are accepted. Prints `usage` and returns false on anything else.
bool ParseWorkloadArgs(int argc, char** argv, std::string_view allowed, const char* usage,
                       WorkloadArgs& args) {
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool known = arg.rfind("--", 0) == 0 && allowed.find(arg) != std::string_view::npos;
    const bool has_value = i + 1 < argc;
    bool ok = known;
    if (!known) {
    } else if (arg == "--verify") {
      args.verify = true;
    } else if (!has_value) {
      ok = false;
    } else if (arg == "--records") {
      ok = ParseCount(arg, argv[++i], 2, args.records);
    } else if (arg == "--clients") {
      ok = ParseCount(arg, argv[++i], 1, args.clients);
    } else if (arg == "--runs") {
      ok = ParseCount(arg, argv[++i], 1, args.runs);
    } else if (arg == "--dir") {
      args.dir = argv[++i];
    } else if (arg == "--out") {
      args.out = argv[++i];
    } else if (arg == "--shiplog") {
      args.shiplog = argv[++i];
    } else if (arg == "--postgres") {
      args.postgres = argv[++i];
    } else if (arg == "--servers") {
      ok = ParseCount(arg, argv[++i], 1, args.servers);
    } else if (arg == "--interleave") {
      ok = ParseCount(arg, argv[++i], 1, args.interleave);
    } else {
      ok = false;
    }
    if (!ok) {
      std::cerr << "usage: " << usage << "\n";
      return false;
    }
  }
  return true;
}

// The shiplog binary built beside this one.
std::string SiblingShiplog() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "shiplog" : (self.parent_path() / "shiplog").string();
}

int EventsMain(const WorkloadArgs& args) {
  std::ofstream out(args.out);
  if (!out) {
    std::cerr << "shiplog-bench: cannot write " << args.out << "\n";
    return 1;
  }
  // The key is thrown away: the peers store and check the events, not who may sign them.
  const shiplog::SigningKey key = shiplog::SigningKey::Generate();
  for (const auto& e : shiplog::bench::SignBenchEvents(0, args.records, key)) {
    out << e.ToJson().dump() << "\n";
  }
  return out.flush() ? 0 : 1;
}

int WorkloadMain(std::string_view name, int argc, char** argv) {
  namespace bench = shiplog::bench;
  WorkloadArgs args;
  auto parse = [&](std::string_view allowed, const char* usage) {
    return ParseWorkloadArgs(argc, argv, allowed, usage, args);
  };
  if (name == "append") {
    if (!parse("--records --dir --verify",
               "shiplog-bench append --records N [--dir DIR] [--verify]")) {
      return 2;
    }
    return bench::RunAppendWorkload(args.records, args.dir, args.verify);
  }
  if (name == "history") {
    if (!parse("--records --dir --interleave",
               "shiplog-bench history --records N [--dir DIR] [--interleave K]")) {
      return 2;
    }
    return bench::RunHistoryWorkload(args.records, args.dir, args.interleave);
  }
  if (name == "limits") {
    if (!parse("--runs", "shiplog-bench limits [--runs R]")) return 2;
    return bench::RunLimitsWorkload(static_cast<int>(args.runs));
  }
  if (name == "decide") {
    if (!parse("--runs", "shiplog-bench decide [--runs R]")) return 2;
    return bench::RunDecideWorkload(static_cast<int>(args.runs));
  }
  if (name == "pipeline") {
    if (!parse("--clients --records --runs --postgres --servers",
               "shiplog-bench pipeline --clients C --records N [--runs R] [--postgres URL "
               "[--servers S]]")) {
      return 2;
    }
    return bench::RunPipelineWorkload(static_cast<unsigned>(args.clients), args.records,
                                      static_cast<int>(args.runs), args.postgres,
                                      static_cast<unsigned>(args.servers));
  }
  if (name == "http") {
    if (!parse("--clients --records --runs --shiplog",
               "shiplog-bench http --clients C --records N [--runs R] [--shiplog BIN]")) {
      return 2;
    }
    if (args.shiplog.empty()) args.shiplog = SiblingShiplog();
    return bench::RunHttpWorkload(args.shiplog, static_cast<unsigned>(args.clients),
                                  args.records, static_cast<int>(args.runs));
  }
  if (name == "reads") {
    constexpr char kUsage[] = "shiplog-bench reads --dir DIR [--records N] [--runs R]";
    args.records = 200000;
    if (!parse("--dir --records --runs", kUsage)) return 2;
    if (args.dir.empty()) {
      std::cerr << "usage: " << kUsage << "\n";
      return 2;
    }
    return bench::RunReadsWorkload(args.dir, args.records, static_cast<int>(args.runs));
  }
  if (name == "admission") {
    constexpr char kUsage[] = "shiplog-bench admission --dir DIR [--runs R]";
    if (!parse("--dir --runs", kUsage)) return 2;
    if (args.dir.empty()) {
      std::cerr << "usage: " << kUsage << "\n";
      return 2;
    }
    return bench::RunAdmissionWorkload(args.dir, static_cast<int>(args.runs));
  }
  if (name == "events") {
    constexpr char kUsage[] = "shiplog-bench events --records N --out FILE";
    if (!parse("--records --out", kUsage)) return 2;
    if (args.out.empty()) {
      std::cerr << "usage: " << kUsage << "\n";
      return 2;
    }
    return EventsMain(args);
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  shiplog::InitCrypto();
  if (argc > 1 && argv[1][0] != '-') {
    const int code = WorkloadMain(argv[1], argc, argv);
    if (code >= 0) return code;
    std::cerr << "shiplog-bench: no workload '" << argv[1]
              << "' (limits, decide, append, pipeline, http, history, reads, events)\n";
    return 2;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
