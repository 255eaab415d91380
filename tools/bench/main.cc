// shiplog-bench: the hot paths measured.
//   build/bin/shiplog-bench                                  the micro-benchmarks (Google Benchmark)
//   build/bin/shiplog-bench --benchmark_filter=Decide        some of them
//   build/bin/shiplog-bench append --records N [--dir DIR] [--verify]
//                                                            the timed append workload (workloads.h)
#include <benchmark/benchmark.h>

#include <charconv>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>

#include "ledger/crypto.h"
#include "tools/bench/workloads.h"

namespace {

int AppendMain(int argc, char** argv) {
  uint64_t records = 1000;
  std::string dir;
  bool verify = false;
  for (int i = 2; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--records" && i + 1 < argc) {
      const std::string_view value = argv[++i];
      auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), records);
      if (error != std::errc() || end != value.data() + value.size()) {
        std::cerr << "shiplog-bench append: --records takes a count, not '" << value << "'\n";
        return 2;
      }
    } else if (arg == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (arg == "--verify") {
      verify = true;
    } else {
      std::cerr << "usage: shiplog-bench append --records N [--dir DIR] [--verify]\n";
      return 2;
    }
  }
  if (records < 2) {
    std::cerr << "shiplog-bench append: --records must be at least 2\n";
    return 2;
  }
  return shiplog::bench::RunAppendWorkload(records, dir, verify);
}

}  // namespace

int main(int argc, char** argv) {
  shiplog::InitCrypto();
  if (argc > 1 && std::strcmp(argv[1], "append") == 0) return AppendMain(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
