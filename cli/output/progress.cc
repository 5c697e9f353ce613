#include "cli/output/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>

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

void ProgressLine::Clear() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace coffre::cli
