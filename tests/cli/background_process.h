// A child process the test acts on while it runs (sends it a signal, stops a server under it),
// for the `shiplog exec` tests; RunProcess() (process.h) waits for its child at once instead.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/cli/process.h"

namespace shiplog::testing {

class BackgroundProcess {
 public:
  // Starts `argv` (argv[0] is the program's path) with stdin from /dev/null and stdout, stderr
  // into files; `dir` is its working directory.
  BackgroundProcess(const std::vector<std::string>& argv, const std::string& dir = ".") {
    const std::string out_file = out_path(), err_file = err_path();
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {  // only async-signal-safe calls from here
      const int in = ::open("/dev/null", O_RDONLY);
      const int out = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      const int err = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(in, 0);
      ::dup2(out, 1);
      ::dup2(err, 2);
      if (::chdir(dir.c_str()) != 0) ::_exit(126);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~BackgroundProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  void Signal(int signal) const { ::kill(pid_, signal); }

  // Waits for the exit; the exit code is -1 when a signal ended it.
  ProcessResult Wait() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    ProcessResult result;
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = Out();
    result.err = Err();
    return result;
  }

  std::string Out() const { return ReadFile(out_path()); }
  std::string Err() const { return ReadFile(err_path()); }

 private:
  std::string out_path() const { return io_ / "stdout"; }
  std::string err_path() const { return io_ / "stderr"; }

  ScratchDir io_;
  pid_t pid_ = -1;
};

// Checks `condition` every 10 ms until it holds or `timeout` passes; whether it held. A wait for
// something to happen, never a measure of how long it took.
inline bool WaitUntil(const std::function<bool()>& condition,
                      std::chrono::seconds timeout = std::chrono::seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

inline bool FileExists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

}  // namespace shiplog::testing
