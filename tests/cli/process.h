// Runs a program as a child process and collects what it printed: the CLI and crash tests drive
// the real `shiplog` binary this way.
#pragma once

#include <string>
#include <vector>

namespace shiplog::testing {

struct ProcessResult {
  int exit_code = -1;  // -1 when the child did not exit normally
  std::string out;
  std::string err;
};

// Runs `argv` (argv[0] is the program's path) with `input` on stdin; waits for it to exit.
ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& input = "");

// A temporary directory, removed with everything in it when this goes out of scope.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The programs the black-box tests drive: those built beside the tests, or the same programs of
// another build tree when SHIPLOG_TEST_PROGRAMS names its bin/ directory. tools/test.sh's sanitizer
// passes run the normal tree's black-box tests that way, against their sanitized `shiplog`, rather
// than compiling those tests again for each sanitizer.
const std::string& ShiplogBinary();
const std::string& CrashWriterBinary();

void WriteFile(const std::string& path, const std::string& content);
std::string ReadFile(const std::string& path);

}  // namespace shiplog::testing
