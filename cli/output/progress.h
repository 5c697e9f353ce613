// ProgressLine: one status line on stderr, redrawn at most 5 times a second
// and cleared at the end. Draws nothing when disabled (not a terminal, cron).
// BackupProgressText: what that line says during a backup, for `coffre
// backup` and `coffre-agent --run` alike.
// Thread-safety: a ProgressLine is used from one thread.
#pragma once

#include <chrono>
#include <string>

#include "agent/backup/archiver.h"

namespace coffre::cli {

class ProgressLine {
 public:
  explicit ProgressLine(bool enabled);
  ~ProgressLine();  // clears the line

  // Redraws with `text` if enough time has passed since the last draw.
  void Update(const std::string& text);
  // Whether Update would draw now: callers skip building the text if not.
  bool Due() const;
  void Clear();
  double ElapsedSeconds() const;

 private:
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
  std::chrono::steady_clock::time_point start_;
};

// "1234 files, 1.2 GiB of 3.4 GiB (35%), 45.0 MiB/s, ETA 0:52: /srv/x".
// The total, percentage and ETA only when the parent snapshot gave a total
// (and the percentage stops at 99% while the backup runs past it); the rate
// once a second has passed.
std::string BackupProgressText(const backup::BackupProgress& p, double elapsed_seconds);

}  // namespace coffre::cli
