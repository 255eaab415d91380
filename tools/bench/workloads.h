// The plain timed workloads of shiplog-bench (end to end, too long for Google Benchmark's
// repetitions). Each prints one JSON object of figures on stdout and returns an exit code.
#pragma once

#include <cstdint>
#include <string>

namespace shiplog::bench {

// Appends `records` signed events to a fresh ledger in `dir` (a temporary directory when empty),
// one durable commit each, then measures proofs, receipts, disk use and, with `verify`, a full
// verify.
int RunAppendWorkload(uint64_t records, const std::string& dir, bool verify);

}  // namespace shiplog::bench
