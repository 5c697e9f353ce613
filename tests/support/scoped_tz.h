// ScopedTz: sets the TZ environment variable for one test (local-time code
// such as calendar schedules and status times) and puts the old value back.
#pragma once

#include <cstdlib>
#include <ctime>
#include <string>

namespace coffre::testing {

class ScopedTz {
 public:
  explicit ScopedTz(const char* tz) {
    const char* old = std::getenv("TZ");
    had_ = old != nullptr;
    if (old) old_ = old;
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~ScopedTz() {
    if (had_) {
      ::setenv("TZ", old_.c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }
  ScopedTz(const ScopedTz&) = delete;
  ScopedTz& operator=(const ScopedTz&) = delete;

 private:
  std::string old_;
  bool had_ = false;
};

}  // namespace coffre::testing
