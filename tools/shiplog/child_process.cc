#include "tools/shiplog/child_process.h"

#include <pthread.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

extern char** environ;

namespace shiplog::cli {
namespace {

constexpr int kStopSignals[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

ChildOutcome EndedWith(int status) {
  ChildOutcome outcome;
  outcome.started = true;
  if (WIFSIGNALED(status)) {
    outcome.signal = WTERMSIG(status);
  } else {
    outcome.exit_code = WEXITSTATUS(status);
  }
  return outcome;
}

}  // namespace

int ChildOutcome::ShellExitCode() const {
  if (!started) return start_errno == ENOENT ? 127 : 126;
  return signal != 0 ? 128 + signal : exit_code;
}

std::string ChildOutcome::Description() const {
  if (!started) return "could not start: " + start_error;
  if (signal != 0) {
    return "terminated by signal " + std::to_string(signal) + " (" + SignalName(signal) + ")";
  }
  return "exit code " + std::to_string(exit_code);
}

SignalForwarder::SignalForwarder() {
  sigemptyset(&stop_signals_);
  for (int s : kStopSignals) sigaddset(&stop_signals_, s);
  sigset_t blocked = stop_signals_;
  // The child's end arrives as SIGCHLD, taken by sigwaitinfo() with the rest; it must not be
  // ignored either, or the kernel reaps the child and no signal says it ended.
  sigaddset(&blocked, SIGCHLD);
  ::signal(SIGCHLD, SIG_DFL);
  pthread_sigmask(SIG_BLOCK, &blocked, &original_mask_);
}

ChildOutcome SignalForwarder::Run(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setsigmask(&attributes, &original_mask_);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  // glibc's posix_spawnp reports a failed exec (not found, not executable) as its result.
  const int error = posix_spawnp(&pid, args[0], nullptr, &attributes, args.data(), environ);
  posix_spawnattr_destroy(&attributes);
  if (error != 0) {
    ChildOutcome outcome;
    outcome.start_errno = error;
    outcome.start_error = std::strerror(error);
    return outcome;
  }
  sigset_t waited = stop_signals_;
  sigaddset(&waited, SIGCHLD);
  for (;;) {
    siginfo_t info;
    const int sig = sigwaitinfo(&waited, &info);
    if (sig < 0) continue;  // EINTR
    if (sig == SIGCHLD) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) return EndedWith(status);
      continue;
    }
    if (info.si_code != SI_KERNEL) ::kill(pid, sig);
  }
}

int SignalForwarder::WaitForStopSignal(std::chrono::milliseconds timeout) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  timespec wait{};
  wait.tv_sec = seconds.count();
  wait.tv_nsec = std::chrono::duration_cast<std::chrono::nanoseconds>(timeout - seconds).count();
  for (;;) {
    const int sig = sigtimedwait(&stop_signals_, nullptr, &wait);
    if (sig > 0) return sig;
    if (errno == EAGAIN) return 0;
    // EINTR: a signal outside the set interrupted the wait; wait again (a little longer at most).
  }
}

std::string SignalName(int signal) {
  switch (signal) {
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    case SIGHUP:
      return "SIGHUP";
    case SIGQUIT:
      return "SIGQUIT";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGUSR2:
      return "SIGUSR2";
    case SIGKILL:
      return "SIGKILL";
    case SIGSEGV:
      return "SIGSEGV";
    case SIGABRT:
      return "SIGABRT";
    case SIGPIPE:
      return "SIGPIPE";
    default:
      return "signal " + std::to_string(signal);
  }
}

}  // namespace shiplog::cli
