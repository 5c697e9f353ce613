// CommandSource: a command whose standard output becomes one file of a
// snapshot (`coffre backup --from-command /var/backups/app.sql='pg_dump app'`,
// the agent's [[job.dump]]). The output is chunked as it arrives and never
// touches the disk; the command's stderr lines are passed on as warnings.
// Thread-safety: free functions; RunCommandSource blocks its caller.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "agent/backup/file_chunker.h"
#include "core/base/status.h"

namespace coffre::backup {

struct CommandSource {
  // Where the output is stored in the snapshot: absolute, normalized; it
  // need not exist on disk, nor need the folders leading to it.
  std::string path;
  std::string command;  // run by /bin/sh -c, stdin /dev/null

  bool operator==(const CommandSource&) const = default;
};

// Parses "PATH=COMMAND" (split at the first '='). kInvalidArgument unless
// both sides are non-empty; PATH itself is checked by CheckCommandSources.
Result<CommandSource> ParseCommandSource(const std::string& arg);

// Checks each command's path: absolute, every component a plain name (no
// "", ".", ".."), not "/", and neither equal to, inside nor above one of the
// backup `paths` (NormalizePaths) or another command's path.
// kInvalidArgument naming the path and the conflict.
Status CheckCommandSources(const std::vector<std::string>& paths,
                           const std::vector<CommandSource>& commands);

// Runs `source.command`, feeding its stdout through `chunker` to `emit`
// (see FileChunker::RunStream); its stderr goes to `warn`, one line at a
// time as "NAME: line" (NAME: the command's first word), always from the
// calling thread. Returns the number of bytes the command wrote.
// kIo naming the command and its exit code if it does not exit with 0 (or
// is killed: code 128 + signal); errors of `emit` as they are; kCancelled
// once `cancel` is set. On any error the command's process group is killed.
Result<uint64_t> RunCommandSource(const CommandSource& source, FileChunker& chunker,
                                  const std::atomic<bool>* cancel,
                                  const std::function<Status(ByteView)>& emit,
                                  const std::function<void(const std::string&)>& warn);

}  // namespace coffre::backup
