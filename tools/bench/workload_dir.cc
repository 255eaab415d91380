#include <stdlib.h>

#include <filesystem>
#include <system_error>

#include "tools/bench/workloads.h"

namespace shiplog::bench {

WorkloadDir::WorkloadDir(const std::string& dir) {
  if (!dir.empty()) {
    path_ = dir;
    return;
  }
  char pattern[] = "/tmp/shiplog-bench-XXXXXX";
  if (!mkdtemp(pattern)) return;
  scratch_ = pattern;
  path_ = scratch_ + "/ledger";
}

WorkloadDir::~WorkloadDir() {
  std::error_code ignored;
  if (!scratch_.empty()) std::filesystem::remove_all(scratch_, ignored);
}

}  // namespace shiplog::bench
