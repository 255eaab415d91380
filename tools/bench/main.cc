// shiplog-bench: the hot paths measured.
//   build/bin/shiplog-bench                                  the micro-benchmarks (Google Benchmark)
//   build/bin/shiplog-bench --benchmark_filter=Decide        some of them
//   build/bin/shiplog-bench append --records N [--dir DIR] [--verify]
//                                                            the timed append workload (workloads.h)
//   build/bin/shiplog-bench history --records N [--dir DIR]  a realistic ledger to replay and query
#include <benchmark/benchmark.h>

#include <charconv>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>

#include "ledger/crypto.h"
#include "tools/bench/workloads.h"

namespace {

struct WorkloadArgs {
  uint64_t records = 1000;
  std::string dir;
  bool verify = false;
};

// Parses the flags after the workload's name; prints `usage` and returns false on anything else.
bool ParseWorkloadArgs(int argc, char** argv, const char* usage, WorkloadArgs& args) {
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--records" && i + 1 < argc) {
      const std::string_view value = argv[++i];
      auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), args.records);
      if (error != std::errc() || end != value.data() + value.size() || args.records < 2) {
        std::cerr << "shiplog-bench: --records takes a count of at least 2, not '" << value
                  << "'\n";
        return false;
      }
    } else if (arg == "--dir" && i + 1 < argc) {
      args.dir = argv[++i];
    } else if (arg == "--verify") {
      args.verify = true;
    } else {
      std::cerr << "usage: " << usage << "\n";
      return false;
    }
  }
  return true;
}

int AppendMain(int argc, char** argv) {
  WorkloadArgs args;
  if (!ParseWorkloadArgs(argc, argv, "shiplog-bench append --records N [--dir DIR] [--verify]",
                         args)) {
    return 2;
  }
  return shiplog::bench::RunAppendWorkload(args.records, args.dir, args.verify);
}

int HistoryMain(int argc, char** argv) {
  constexpr char kUsage[] = "shiplog-bench history --records N [--dir DIR]";
  WorkloadArgs args;
  if (!ParseWorkloadArgs(argc, argv, kUsage, args)) return 2;
  if (args.verify) {
    std::cerr << "usage: " << kUsage << "\n";
    return 2;
  }
  return shiplog::bench::RunHistoryWorkload(args.records, args.dir);
}

}  // namespace

int main(int argc, char** argv) {
  shiplog::InitCrypto();
  if (argc > 1 && std::strcmp(argv[1], "append") == 0) return AppendMain(argc, argv);
  if (argc > 1 && std::strcmp(argv[1], "history") == 0) return HistoryMain(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
