#include "cli/output/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "cli/output/format.h"

namespace coffre::cli {

ProgressLine::ProgressLine(bool enabled)
    : enabled_(enabled), start_(std::chrono::steady_clock::now()) {}

ProgressLine::~ProgressLine() { Clear(); }

void ProgressLine::Update(const std::string& text) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  long secs = std::chrono::duration_cast<std::chrono::seconds>(now - start_).count();
  char elapsed[32];
  std::snprintf(elapsed, sizeof(elapsed), "[%ld:%02ld] ", secs / 60, secs % 60);
  std::string line = elapsed + text;
  winsize ws{};
  size_t width = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10 ? ws.ws_col : 100;
  if (line.size() >= width) line.resize(width - 1);
  for (char& c : line)
    if (static_cast<unsigned char>(c) < 32) c = '?';
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

bool ProgressLine::Due() const {
  return enabled_ &&
         (!drawn_ || std::chrono::steady_clock::now() - last_ >= std::chrono::milliseconds(200));
}

double ProgressLine::ElapsedSeconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string BackupProgressText(const backup::BackupProgress& p, double elapsed_seconds) {
  std::string text = std::to_string(p.files) + " files, " + HumanBytes(p.bytes);
  const bool total = p.expected_bytes > 0;
  if (total) {
    const uint64_t percent = std::min<uint64_t>(99, p.bytes * 100 / p.expected_bytes);
    text += " of " + HumanBytes(p.expected_bytes) + " (" + std::to_string(percent) + "%)";
  }
  if (elapsed_seconds >= 1.0) {
    const double rate = static_cast<double>(p.bytes) / elapsed_seconds;
    text += ", " + HumanBytes(static_cast<uint64_t>(rate)) + "/s";
    if (total && rate > 0 && p.bytes < p.expected_bytes) {
      const auto eta = static_cast<long>(static_cast<double>(p.expected_bytes - p.bytes) / rate);
      char buf[32];
      std::snprintf(buf, sizeof(buf), ", ETA %ld:%02ld", eta / 60, eta % 60);
      text += buf;
    }
  }
  if (!p.current.empty()) text += ": " + p.current;
  return text;
}

void ProgressLine::Clear() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace coffre::cli
