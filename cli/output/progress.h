// ProgressLine: one status line on stderr, redrawn at most 5 times a second
// and cleared at the end. Draws nothing when disabled (not a terminal, cron).
#pragma once

#include <chrono>
#include <string>

namespace coffre::cli {

class ProgressLine {
 public:
  explicit ProgressLine(bool enabled);
  ~ProgressLine();  // clears the line

  // Redraws with `text` if enough time has passed since the last draw.
  void Update(const std::string& text);
  void Clear();

 private:
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
  std::chrono::steady_clock::time_point start_;
};

}  // namespace coffre::cli
