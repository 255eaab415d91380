#include "ledger/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace shiplog {
namespace {

std::string Error(int error) { return std::strerror(error); }

bool WriteAll(int fd, std::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Writes all of `bytes` to `fd`, makes them durable and closes `fd`.
Status WriteSyncClose(int fd, std::string_view bytes, const std::string& path) {
  const bool written = WriteAll(fd, bytes) && ::fsync(fd) == 0;
  const int error = errno;
  const bool closed = ::close(fd) == 0;
  if (!written || !closed) {
    return Status::Internal("cannot write " + path + ": " + Error(written ? errno : error));
  }
  return Status::Ok();
}

// Creates `tmp` anew: never through a link, never over an existing file.
Result<int> CreateFresh(const std::string& tmp, mode_t mode) {
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd >= 0) return fd;
  if (errno == EEXIST) {
    return Status::InvalidArgument(tmp + " already exists (planted there, or left by an "
                                         "interrupted write); it was not touched: remove it and "
                                         "try again");
  }
  return Status::InvalidArgument("cannot create " + tmp + ": " + Error(errno));
}

}  // namespace

Status SyncDirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::Internal("cannot open directory " + dir + ": " + Error(errno));
  const bool synced = ::fsync(fd) == 0;
  const int error = errno;
  ::close(fd);
  if (!synced) return Status::Internal("cannot sync directory " + dir + ": " + Error(error));
  return Status::Ok();
}

Status WriteFileAtomically(const std::string& path, std::string_view bytes, mode_t mode) {
  const std::string tmp = path + ".tmp";
  SHIPLOG_ASSIGN_OR_RETURN(int fd, CreateFresh(tmp, mode));
  // From here on `tmp` is the file this call created, so removing it on failure is safe.
  Status status = WriteSyncClose(fd, bytes, tmp);
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    status = Status::Internal("cannot rename " + tmp + " to " + path + ": " + Error(errno));
  }
  if (!status.ok()) {
    ::unlink(tmp.c_str());
    return status;
  }
  return SyncDirectoryOf(path);
}

}  // namespace shiplog
