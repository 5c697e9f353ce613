// The walk over the TOML tree; the value checks shared by every table are in
// config_values.h. toml11 reports by exception: every call into it stays in
// this file and ParseAgentConfig turns what escapes into a Status.
#include "agent/daemon/agent_config.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <set>
#include <sstream>

#include "agent/backup/command_source.h"
#include "agent/backup/exclude_rules.h"
#include "agent/daemon/config_values.h"
#include "agent/maintain/forget.h"
#include "agent/util/fd.h"

namespace coffre::daemon {
namespace {

using config_internal::Field;

bool ValidJobName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

Status ReadAgent(const Field& table, AgentSettings* a) {
  return table.ForEachKey([&](const Field& f) -> Status {
    const std::string& k = f.key();
    if (k == "state_dir") return f.Path(&a->state_dir);
    if (k == "cache_dir") return f.Path(&a->cache_dir);
    if (k == "log_level") return f.Parsed(&a->log_level, ParseLogLevel);
    if (k == "nice") return f.Int(0, 19, &a->nice);
    if (k == "ionice") return f.Parsed(&a->ionice, ParseIoPriority);
    if (k == "limit_upload") return f.Size(&a->limit_upload);
    if (k == "max_parallel_jobs") return f.Int(1, 16, &a->max_parallel_jobs);
    return f.Unknown();
  });
}

Status ReadRetention(const Field& table, RetentionConfig* r) {
  maintain::RetentionPolicy& p = r->policy;
  constexpr int kMax = 1'000'000;
  RETURN_IF_ERROR(table.ForEachKey([&](const Field& f) -> Status {
    const std::string& k = f.key();
    if (k == "keep_last") return f.Int(0, kMax, &p.keep_last);
    if (k == "keep_hourly") return f.Int(0, kMax, &p.keep_hourly);
    if (k == "keep_daily") return f.Int(0, kMax, &p.keep_daily);
    if (k == "keep_weekly") return f.Int(0, kMax, &p.keep_weekly);
    if (k == "keep_monthly") return f.Int(0, kMax, &p.keep_monthly);
    if (k == "keep_yearly") return f.Int(0, kMax, &p.keep_yearly);
    if (k == "keep_within") {
      return f.Parsed(&p.keep_within_ns, [](std::string_view s) {
        return maintain::ParseRetentionDuration(std::string(s));
      });
    }
    if (k == "keep_tag") return f.Strings(&p.keep_tags, config_internal::kNonEmpty);
    if (k == "prune") return f.Bool(&r->prune);
    return f.Unknown();
  }));
  if (p.Empty()) {
    return table.Bad(
        "keeps nothing: set a keep_* rule (an empty policy would forget "
        "every snapshot)");
  }
  return Status::Ok();
}

Status ReadHooks(const Field& table, HooksConfig* h) {
  return table.ForEachKey([&](const Field& f) -> Status {
    const std::string& k = f.key();
    if (k == "before") return f.String(&h->before, config_internal::kNonEmpty);
    if (k == "after") return f.String(&h->after, config_internal::kNonEmpty);
    if (k == "timeout") return f.Parsed(&h->timeout_seconds, ParseHookTimeout);
    return f.Unknown();
  });
}

Status ReadDumps(const Field& array, std::vector<DumpConfig>* dumps) {
  return array.ForEachTable([&](const Field& table) -> Status {
    DumpConfig d;
    RETURN_IF_ERROR(table.ForEachKey([&](const Field& f) -> Status {
      if (f.key() == "path") return f.Path(&d.path);
      if (f.key() == "command") return f.String(&d.command, config_internal::kNonEmpty);
      return f.Unknown();
    }));
    if (d.path.empty()) return table.Bad("path is missing");
    if (d.command.empty()) return table.Bad("command is missing");
    for (const DumpConfig& other : *dumps) {
      if (other.path == d.path) return table.Bad("path '" + d.path + "' is given twice");
    }
    dumps->push_back(std::move(d));
    return Status::Ok();
  });
}

Status ReadJobKey(const Field& f, JobConfig* j) {
  namespace ci = config_internal;
  const std::string& k = f.key();
  if (k == "name") return Status::Ok();  // read first, by ReadJob
  if (k == "repo") return f.String(&j->repo, ci::kRepo);
  if (k == "password_file") return f.Path(&j->password_file);
  if (k == "token_file") return f.Path(&j->token_file);
  if (k == "cacert") return f.Path(&j->cacert);
  if (k == "paths") return f.Strings(&j->paths, ci::kAbsolute);
  if (k == "exclude") return f.Strings(&j->exclude, ci::kNonEmpty);
  if (k == "exclude_file") return f.Strings(&j->exclude_file, ci::kAbsolute);
  if (k == "exclude_if_present") return f.Strings(&j->exclude_if_present, ci::kFileName);
  if (k == "exclude_caches") return f.Bool(&j->exclude_caches);
  if (k == "one_file_system") return f.Bool(&j->one_file_system);
  if (k == "tags") return f.Strings(&j->tags, ci::kNonEmpty);
  if (k == "compression") {
    int level = 0;
    RETURN_IF_ERROR(f.Int(1, 19, &level));
    j->compression = level;
    return Status::Ok();
  }
  if (k == "schedule") {
    RETURN_IF_ERROR(f.Parsed(&j->schedule, ParseCalendar));
    if (!NextElapse(j->schedule, std::time(nullptr))) {
      return f.Bad("'" + j->schedule.text + "' never elapses in the next 10 years");
    }
    return Status::Ok();
  }
  if (k == "limit_upload") {
    uint64_t rate = 0;
    RETURN_IF_ERROR(f.Size(&rate));
    j->limit_upload = rate;
    return Status::Ok();
  }
  if (k == "retention") {
    RetentionConfig r;
    RETURN_IF_ERROR(ReadRetention(f, &r));
    j->retention = std::move(r);
    return Status::Ok();
  }
  if (k == "hooks") return ReadHooks(f, &j->hooks);
  if (k == "dump") return ReadDumps(f, &j->dumps);
  return f.Unknown();
}

Status ReadJob(const Field& table, JobConfig* j) {
  RETURN_IF_ERROR(table.ForEachKey([&](const Field& f) -> Status {
    return f.key() == "name" ? f.String(&j->name, config_internal::kNonEmpty) : Status::Ok();
  }));
  if (j->name.empty()) return table.Bad("name is missing");
  if (!ValidJobName(j->name)) {
    return table.Bad("name '" + j->name + "' must be 1 to 64 of a-z 0-9 _ -");
  }
  const Field job = table.InJob("'" + j->name + "'");
  RETURN_IF_ERROR(job.ForEachKey([&](const Field& f) { return ReadJobKey(f, j); }));
  for (const char* required : {"repo", "password_file", "schedule"}) {
    if (!job.Has(required)) return job.Bad(std::string(required) + " is missing");
  }
  if (j->paths.empty() && j->dumps.empty()) {
    return job.Bad("paths is missing (or give [[job.dump]] commands)");
  }
  if (j->repo.rfind("https://", 0) == 0 && j->token_file.empty()) {
    return job.Bad("token_file is missing (a vault repository needs a token)");
  }
  // Rules the backup would refuse at run time are refused at load, where
  // the message can name the file and the job. (The run still checks.)
  backup::ExcludeRules rules;
  rules.patterns = j->exclude;
  rules.if_present = j->exclude_if_present;
  if (auto filter = backup::ExcludeFilter::Compile(rules); !filter) {
    return job.Bad("exclude: " + filter.error().message());
  }
  std::vector<backup::CommandSource> dumps;
  for (const DumpConfig& d : j->dumps) dumps.push_back({d.path, d.command});
  if (Status s = backup::CheckCommandSources(j->paths, dumps); !s.ok()) {
    return job.Bad("dump: " + s.message());
  }
  return Status::Ok();
}

Status ReadRoot(const Field& root, AgentConfig* config) {
  return root.ForEachKey([&](const Field& f) -> Status {
    if (f.key() == "agent") return ReadAgent(f, &config->agent);
    if (f.key() == "job") {
      std::set<std::string> names;
      return f.ForEachTable([&](const Field& table) -> Status {
        JobConfig job;
        RETURN_IF_ERROR(ReadJob(table, &job));
        if (!names.insert(job.name).second) {
          return table.Bad("name '" + job.name + "' is used by another job");
        }
        config->jobs.push_back(std::move(job));
        return Status::Ok();
      });
    }
    return f.Unknown();
  });
}

}  // namespace

const JobConfig* AgentConfig::FindJob(std::string_view name) const {
  for (const JobConfig& job : jobs) {
    if (job.name == name) return &job;
  }
  return nullptr;
}

namespace {

// TOML is UTF-8 without NUL; toml11 reads past the end of some other byte
// sequences (a fuzzer found one), so text that is not is refused first.
// Returns the offset of the first bad byte, or npos.
size_t FirstNonUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == 0) return i;
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > text.size()) return i;
    uint32_t cp = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    const bool overlong = (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
    if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

}  // namespace

Result<AgentConfig> ParseAgentConfig(std::string_view toml_text, std::string_view origin) {
  AgentConfig config;
  config.origin = std::string(origin);
  if (size_t bad = FirstNonUtf8(toml_text); bad != std::string_view::npos) {
    const size_t line = 1 + static_cast<size_t>(std::count(toml_text.begin(), toml_text.begin() + static_cast<ptrdiff_t>(bad), '\n'));
    return Err(InvalidArgumentError(config.origin + ":" + std::to_string(line) +
                                    ": not UTF-8 text (byte " + std::to_string(bad) + ")"));
  }
  try {
    std::istringstream in{std::string(toml_text)};
    const toml::value root = toml::parse(in, config.origin);
    RETURN_IF_ERROR(ReadRoot(Field::Root(root, config.origin), &config));
  } catch (const toml::syntax_error& e) {
    return Err(InvalidArgumentError(config_internal::SyntaxErrorLine(config.origin, e)));
  } catch (const std::exception& e) {
    return Err(InvalidArgumentError(config.origin + ": " + e.what()));
  }
  return config;
}

Result<AgentConfig> LoadAgentConfig(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Err(ErrnoStatus(errno, "open configuration " + path));
  std::string text;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Err(ErrnoStatus(errno, "read configuration " + path));
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > (1u << 20)) return Err(InvalidArgumentError(path + ": larger than 1 MiB"));
  }
  return ParseAgentConfig(text, path);
}

}  // namespace coffre::daemon
