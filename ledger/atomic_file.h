// WriteFileAtomically: how shiplog writes a file a person or a later run reads whole (a bundle,
// a timeline, a snapshot).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "ledger/status.h"

namespace shiplog {

// Writes `bytes` to `path` whole or not at all: into `path`.tmp, synced, renamed over `path`,
// then the directory synced so the rename survives a crash too. A reader never sees half a file,
// and an old file stays until the new one is complete.
//
// `path`.tmp is created with O_EXCL and O_NOFOLLOW (permissions `mode`, less the umask): a file
// or a symbolic link already there, planted by someone else or left by an interrupted write, is
// never followed nor overwritten but reported as kInvalidArgument naming it. Failing to write,
// sync or rename is kInternal.
Status WriteFileAtomically(const std::string& path, std::string_view bytes, mode_t mode);

// Makes a file created or renamed in the directory of `path` durable: fsyncs that directory.
Status SyncDirectoryOf(const std::string& path);

}  // namespace shiplog
