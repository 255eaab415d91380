// A fault injector for `shiplog serve`, loaded with LD_PRELOAD: while the file named by
// SHIPLOG_FAULT_FSYNC_TRIGGER exists, every fsync, fdatasync, syncfs and sync_file_range fails
// with EIO, as on a disk whose writeback failed. RocksDB and the checkpoint witness reach the
// disk through these libc calls (librocksdb imports them dynamically), so the faults are real
// ones: the write(2) before went into the page cache, the sync that would make it durable fails.
//
// Each failure is written to stderr (the server's log) as "shiplog fault shim: failed CALL(fd)",
// so a test can tell that a fault was injected at all. Without the variable, or without the
// file, every call goes through to libc unchanged.
#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace {

bool Triggered() {
  const char* trigger = std::getenv("SHIPLOG_FAULT_FSYNC_TRIGGER");
  if (trigger == nullptr || trigger[0] == '\0') return false;
  const int saved = errno;
  const bool exists = ::access(trigger, F_OK) == 0;
  errno = saved;
  return exists;
}

int Fail(const char* call, int fd) {
  char line[96];
  const int n = std::snprintf(line, sizeof(line), "shiplog fault shim: failed %s(%d)\n", call, fd);
  if (n > 0) (void)!::write(2, line, static_cast<size_t>(n));
  errno = EIO;
  return -1;
}

// The libc function this library stands in front of.
template <typename F>
F Next(const char* name) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" {

int fsync(int fd) {
  if (Triggered()) return Fail("fsync", fd);
  static const auto next = Next<int (*)(int)>("fsync");
  return next(fd);
}

int fdatasync(int fd) {
  if (Triggered()) return Fail("fdatasync", fd);
  static const auto next = Next<int (*)(int)>("fdatasync");
  return next(fd);
}

int syncfs(int fd) {
  if (Triggered()) return Fail("syncfs", fd);
  static const auto next = Next<int (*)(int)>("syncfs");
  return next(fd);
}

int sync_file_range(int fd, off64_t offset, off64_t nbytes, unsigned int flags) {
  if (Triggered()) return Fail("sync_file_range", fd);
  static const auto next = Next<int (*)(int, off64_t, off64_t, unsigned int)>("sync_file_range");
  return next(fd, offset, nbytes, flags);
}

}  // extern "C"
