// Runs a command for `shiplog exec` the way a wrapper must: without a shell, with stdin, stdout
// and stderr passed through, the stop signals a CI runner or an operator sends forwarded to it,
// and its end (exit code or signal) reported back.
#pragma once

#include <signal.h>

#include <chrono>
#include <string>
#include <vector>

namespace shiplog::cli {

// How a command ended.
struct ChildOutcome {
  bool started = false;  // false: it could not be started (start_errno, start_error say why)
  int start_errno = 0;
  std::string start_error;
  int exit_code = 0;  // when it exited
  int signal = 0;     // when a signal ended it (then exit_code is 0)

  bool succeeded() const { return started && signal == 0 && exit_code == 0; }
  // What a shell would exit with: the code, 128+N for signal N, 127 for a command not found
  // (126 when it is there but cannot be run).
  int ShellExitCode() const;
  // "exit code 7", "terminated by signal 15 (SIGTERM)", "could not start: ...".
  std::string Description() const;
};

// Owns this process's stop signals (SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2) for as
// long as it lives, so that they reach the command instead of ending the wrapper.
//
// Construct it first, before anything starts a thread (RocksDB does): it blocks the signals in
// the calling thread, every thread started later inherits the mask, and a blocked signal waits
// for Run() or WaitForStopSignal() rather than killing the process. A signal that arrives before
// Run() is forwarded as soon as the command starts. The mask is left blocked on destruction: the
// wrapper is exiting by then, and a late signal must not replace its exit code.
class SignalForwarder {
 public:
  SignalForwarder();
  SignalForwarder(const SignalForwarder&) = delete;
  SignalForwarder& operator=(const SignalForwarder&) = delete;

  // Runs `argv` (argv[0] looked up in PATH, no shell; the child gets the signal mask this
  // process had before) and waits for it, sending each stop signal on to it. One that the
  // terminal sent to the whole foreground process group (Ctrl-C) is not sent again: the child,
  // in the same group, has it already. REQUIRES: argv is not empty; single use.
  ChildOutcome Run(const std::vector<std::string>& argv);

  // Waits up to `timeout` for a stop signal; returns it, or 0 when none came. A report being
  // retried waits here, so a cancelled job stops promptly instead of waiting out the window.
  int WaitForStopSignal(std::chrono::milliseconds timeout);

 private:
  sigset_t stop_signals_;
  sigset_t original_mask_;
};

// "SIGTERM" for 15 and so on ("signal N" for one without a name here).
std::string SignalName(int signal);

}  // namespace shiplog::cli
