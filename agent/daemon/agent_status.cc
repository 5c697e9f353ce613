#include "agent/daemon/agent_status.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "agent/util/fd.h"

namespace coffre::daemon {
namespace {

using Json = nlohmann::ordered_json;

Json TimeOrNull(const std::optional<int64_t>& t) {
  return t ? Json(FormatLocalTime(*t)) : Json(nullptr);
}

Json EncodeJob(const JobStatus& job) {
  Json j{{"name", job.name},
         {"repo", job.repo},
         {"schedule", job.schedule},
         {"running", job.running},
         {"next_run", TimeOrNull(job.next_run)},
         {"last_run", nullptr}};
  if (const auto& r = job.last_run) {
    j["last_run"] = Json{{"started", FormatLocalTime(r->started)},
                         {"finished", FormatLocalTime(r->finished)},
                         {"duration_ms", r->duration_ms},
                         {"outcome", r->outcome},
                         {"exit_code", r->exit_code},
                         {"error", r->error},
                         {"snapshot", r->snapshot},
                         {"files", r->files},
                         {"bytes", r->bytes},
                         {"new_bytes", r->new_bytes},
                         {"trigger", r->trigger},
                         {"requests", r->requests},
                         {"sent_bytes", r->sent_bytes},
                         {"received_bytes", r->received_bytes},
                         {"failures_in_row", r->failures_in_row}};
  }
  return j;
}

// Reads the keys of one JSON object into fields; a key that is missing or
// null keeps the field's default (older writers, hand edits), one of the
// wrong type is corruption named by its path.
class ObjectReader {
 public:
  ObjectReader(const Json& obj, std::string where) : obj_(obj), where_(std::move(where)) {}

  Status Check() const {
    return obj_.is_object() ? Status::Ok() : CorruptionError(where_ + " is not an object");
  }

  template <typename T>
  Status Get(const char* key, T* out) const {
    auto it = obj_.find(key);
    if (it == obj_.end() || it->is_null()) return Status::Ok();
    const bool number = std::is_arithmetic_v<T> && !std::is_same_v<T, bool>;
    if ((number && !it->is_number()) || (!number && it->is_number())) return Bad(key);
    try {
      *out = it->template get<T>();
    } catch (const nlohmann::json::exception&) {
      return Bad(key);
    }
    return Status::Ok();
  }

  Status Time(const char* key, int64_t* out) const {
    std::optional<int64_t> t;
    RETURN_IF_ERROR(OptionalTime(key, &t));
    if (t) *out = *t;
    return Status::Ok();
  }

  Status OptionalTime(const char* key, std::optional<int64_t>* out) const {
    std::string text;
    RETURN_IF_ERROR(Get(key, &text));
    if (text.empty()) return Status::Ok();
    Result<int64_t> t = ParseIsoTime(text);
    if (!t) return Bad(key);
    *out = *t;
    return Status::Ok();
  }

  const Json* Sub(const char* key) const {
    auto it = obj_.find(key);
    return it == obj_.end() || it->is_null() ? nullptr : &*it;
  }

 private:
  Status Bad(const char* key) const {
    return CorruptionError(where_ + "." + key + " has the wrong type or format");
  }
  const Json& obj_;
  std::string where_;
};

Result<JobStatus> DecodeJob(const Json& j, const std::string& where) {
  ObjectReader r(j, where);
  RETURN_IF_ERROR(r.Check());
  JobStatus job;
  RETURN_IF_ERROR(r.Get("name", &job.name));
  RETURN_IF_ERROR(r.Get("repo", &job.repo));
  RETURN_IF_ERROR(r.Get("schedule", &job.schedule));
  RETURN_IF_ERROR(r.Get("running", &job.running));
  RETURN_IF_ERROR(r.OptionalTime("next_run", &job.next_run));
  if (const Json* last = r.Sub("last_run")) {
    ObjectReader l(*last, where + ".last_run");
    RETURN_IF_ERROR(l.Check());
    LastRun run;
    RETURN_IF_ERROR(l.Time("started", &run.started));
    RETURN_IF_ERROR(l.Time("finished", &run.finished));
    RETURN_IF_ERROR(l.Get("duration_ms", &run.duration_ms));
    RETURN_IF_ERROR(l.Get("outcome", &run.outcome));
    RETURN_IF_ERROR(l.Get("exit_code", &run.exit_code));
    RETURN_IF_ERROR(l.Get("error", &run.error));
    RETURN_IF_ERROR(l.Get("snapshot", &run.snapshot));
    RETURN_IF_ERROR(l.Get("files", &run.files));
    RETURN_IF_ERROR(l.Get("bytes", &run.bytes));
    RETURN_IF_ERROR(l.Get("new_bytes", &run.new_bytes));
    RETURN_IF_ERROR(l.Get("trigger", &run.trigger));
    RETURN_IF_ERROR(l.Get("requests", &run.requests));
    RETURN_IF_ERROR(l.Get("sent_bytes", &run.sent_bytes));
    RETURN_IF_ERROR(l.Get("received_bytes", &run.received_bytes));
    RETURN_IF_ERROR(l.Get("failures_in_row", &run.failures_in_row));
    job.last_run = std::move(run);
  }
  return job;
}

Result<std::string> ReadAll(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Err(ErrnoStatus(errno, "open " + path));
  std::string text;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Err(ErrnoStatus(errno, "read " + path));
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
  }
}

Status WriteAll(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, "write " + path);
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

std::string EncodeStatus(const AgentStatus& status) {
  Json jobs = Json::array();
  for (const JobStatus& job : status.jobs) jobs.push_back(EncodeJob(job));
  Json j{{"version", status.version},
         {"pid", status.pid},
         {"started", FormatUtcTime(status.started)},
         {"since", FormatUtcTime(status.since)},
         {"config", status.config},
         {"updated", FormatUtcTime(status.updated)},
         {"jobs", std::move(jobs)}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<AgentStatus> DecodeStatus(std::string_view text) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Err(CorruptionError("status is not valid JSON"));
  ObjectReader r(j, "status");
  RETURN_IF_ERROR(r.Check());
  AgentStatus s;
  s.version = 0;
  RETURN_IF_ERROR(r.Get("version", &s.version));
  if (s.version < 1) return Err(CorruptionError("status has no version"));
  if (s.version > kStatusVersion) {
    return Err(UnsupportedVersionError("status version " + std::to_string(s.version) +
                                       " is newer than this coffre understands"));
  }
  RETURN_IF_ERROR(r.Get("pid", &s.pid));
  RETURN_IF_ERROR(r.Time("started", &s.started));
  RETURN_IF_ERROR(r.Time("since", &s.since));
  RETURN_IF_ERROR(r.Get("config", &s.config));
  RETURN_IF_ERROR(r.Time("updated", &s.updated));
  if (const Json* jobs = r.Sub("jobs")) {
    if (!jobs->is_array()) return Err(CorruptionError("status.jobs is not an array"));
    for (size_t i = 0; i < jobs->size(); ++i) {
      ASSIGN_OR_RETURN(JobStatus job,
                       DecodeJob((*jobs)[i], "status.jobs[" + std::to_string(i) + "]"));
      s.jobs.push_back(std::move(job));
    }
  }
  return s;
}

Status WriteStatusFile(const std::string& state_dir, const AgentStatus& status) {
  if (::mkdir(state_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoStatus(errno, "create state folder " + state_dir);
  }
  const std::string path = state_dir + "/status.json";
  std::string temp = state_dir + "/.status.json.XXXXXX";
  UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, "create a temporary file in " + state_dir);
  Status s = WriteAll(fd.get(), EncodeStatus(status) + "\n", temp);
  if (s.ok() && ::fchmod(fd.get(), 0644) != 0) s = ErrnoStatus(errno, "chmod " + temp);
  if (s.ok() && ::fsync(fd.get()) != 0) s = ErrnoStatus(errno, "fsync " + temp);
  fd.Reset();
  if (s.ok() && ::rename(temp.c_str(), path.c_str()) != 0)
    s = ErrnoStatus(errno, "rename to " + path);
  if (!s.ok()) {
    ::unlink(temp.c_str());
    return s;
  }
  // The rename itself is durable only once the folder is synced.
  UniqueFd dir(::open(state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid() || ::fsync(dir.get()) != 0) return ErrnoStatus(errno, "fsync " + state_dir);
  return Status::Ok();
}

Result<AgentStatus> ReadStatusFile(const std::string& state_dir) {
  const std::string path = state_dir + "/status.json";
  ASSIGN_OR_RETURN(std::string text, ReadAll(path));
  Result<AgentStatus> status = DecodeStatus(text);
  if (!status) return Err(status.error().WithContext(path));
  return status;
}

Status UpdateStatusFile(const std::string& state_dir,
                        const std::function<void(AgentStatus*)>& change) {
  if (::mkdir(state_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoStatus(errno, "create state folder " + state_dir);
  }
  const std::string lock_path = state_dir + "/status.lock";
  UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!lock.valid()) return ErrnoStatus(errno, "open " + lock_path);
  while (::flock(lock.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return ErrnoStatus(errno, "lock " + lock_path);
  }
  auto current = ReadStatusFile(state_dir);
  AgentStatus status = current ? std::move(*current) : AgentStatus{};
  change(&status);
  return WriteStatusFile(state_dir, status);  // the lock goes with the descriptor
}

Status RecordJobStatus(const std::string& state_dir, const JobStatus& job) {
  return UpdateStatusFile(state_dir, [&](AgentStatus* status) {
    status->updated = std::time(nullptr);
    for (JobStatus& entry : status->jobs) {
      if (entry.name != job.name) continue;
      entry = job;
      return;
    }
    status->jobs.push_back(job);
  });
}

std::string FormatUtcTime(int64_t unix_seconds) {
  const time_t t = static_cast<time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string FormatLocalTime(int64_t unix_seconds) {
  const time_t t = static_cast<time_t>(unix_seconds);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[48];
  const size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  const long off = tm.tm_gmtoff;
  if (off == 0) return std::string(buf, n) + "Z";
  const long a = off < 0 ? -off : off;
  std::snprintf(buf + n, sizeof(buf) - n, "%c%02ld:%02ld", off < 0 ? '-' : '+', a / 3600,
                a / 60 % 60);
  return buf;
}

Result<int64_t> ParseIsoTime(std::string_view text) {
  auto bad = [&] {
    return Err(InvalidArgumentError(std::string("'").append(text) + "' is not an ISO 8601 time"));
  };
  // YYYY-MM-DDTHH:MM:SS: digits at fixed places.
  int v[6];
  static constexpr size_t kPos[6] = {0, 5, 8, 11, 14, 17};
  static constexpr size_t kLen[6] = {4, 2, 2, 2, 2, 2};
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != ' ') || text[13] != ':' || text[16] != ':') {
    return bad();
  }
  for (int i = 0; i < 6; ++i) {
    const char* b = text.data() + kPos[i];
    auto [end, ec] = std::from_chars(b, b + kLen[i], v[i]);
    if (ec != std::errc() || end != b + kLen[i]) return bad();
  }
  if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60) {
    return bad();
  }
  std::string_view rest = text.substr(19);
  if (!rest.empty() && rest[0] == '.') {
    size_t i = 1;
    while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') ++i;
    rest = rest.substr(i);
  }
  long offset = 0;
  if (rest == "Z") {
    offset = 0;
  } else if ((rest.size() == 6 && rest[3] == ':') || rest.size() == 5) {
    if (rest[0] != '+' && rest[0] != '-') return bad();
    int hh = 0, mm = 0;
    const char* b = rest.data() + 1;
    const char* m = rest.data() + rest.size() - 2;
    if (std::from_chars(b, b + 2, hh).ptr != b + 2 || std::from_chars(m, m + 2, mm).ptr != m + 2 ||
        hh > 23 || mm > 59) {
      return bad();
    }
    offset = (rest[0] == '-' ? -1 : 1) * (hh * 3600L + mm * 60L);
  } else {
    return bad();
  }
  std::tm tm{};
  tm.tm_year = v[0] - 1900;
  tm.tm_mon = v[1] - 1;
  tm.tm_mday = v[2];
  tm.tm_hour = v[3];
  tm.tm_min = v[4];
  tm.tm_sec = v[5];
  return static_cast<int64_t>(::timegm(&tm)) - offset;
}

bool ProcessAlive(pid_t pid) {
  if (pid <= 0) return false;
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

}  // namespace coffre::daemon
