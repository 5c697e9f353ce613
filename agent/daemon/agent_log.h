// AgentLog: coffre-agent's log, one line per event on stderr. Under systemd
// (JOURNAL_STREAM set) each line starts with its syslog priority "<N>" so
// journald files it at the right level; otherwise with a UTC time and the
// level name. Lines below the configured level are dropped.
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>

#include "agent/daemon/agent_config.h"

namespace coffre::daemon {

class AgentLog {
 public:
  // `journal`: prefix lines for journald instead of with a time.
  explicit AgentLog(LogLevel level, bool journal) : level_(level), journal_(journal) {}
  // journal = whether stderr is the journal (JOURNAL_STREAM names it).
  static bool StderrIsJournal();

  void set_level(LogLevel level) { level_ = level; }
  // Called before each line is written, under the log's lock (a progress
  // line on a terminal is cleared there). Set it before any thread logs.
  void set_before_write(std::function<void()> hook) { before_write_ = std::move(hook); }
  void Log(LogLevel level, const std::string& line);
  void Debug(const std::string& line) { Log(LogLevel::kDebug, line); }
  void Info(const std::string& line) { Log(LogLevel::kInfo, line); }
  void Warning(const std::string& line) { Log(LogLevel::kWarning, line); }
  void Error(const std::string& line) { Log(LogLevel::kError, line); }

 private:
  std::atomic<LogLevel> level_;
  const bool journal_;
  std::mutex mu_;
  std::function<void()> before_write_;
};

}  // namespace coffre::daemon
