// Field's checks, and the small value parsers agent_config.h declares.
#include "agent/daemon/config_values.h"

#include <algorithm>

#include "agent/daemon/agent_config.h"
#include "core/base/byte_size.h"
#include "core/base/duration.h"

namespace coffre::daemon {

namespace config_internal {

Field Field::Root(const toml::value& root, const std::string& origin) {
  return Field(&root, origin, "", "", "");
}

Field Field::Child(const toml::value* value, const std::string& key) const {
  return Field(value, origin_, job_, path_.empty() ? key : path_ + "." + key, key);
}

Field Field::InJob(const std::string& label) const {
  return Field(value_, origin_, label, "", key_);
}

Status Field::Bad(const std::string& what) const {
  std::string message = origin_;
  const auto line = value_->location().line();
  if (line != 0) message += " line " + std::to_string(line);
  message += ": ";
  if (!job_.empty()) message += "job " + job_ + ": ";
  if (!path_.empty()) message += path_ + ": ";
  return InvalidArgumentError(message + what);
}

Status Field::Table() const { return value_->is_table() ? Status::Ok() : Bad("must be a table"); }

bool Field::Has(const std::string& key) const {
  return value_->is_table() && value_->as_table().count(key) != 0;
}

Status Field::ForEachKey(const std::function<Status(const Field&)>& fn) const {
  RETURN_IF_ERROR(Table());
  std::vector<std::string> keys;
  for (const auto& [key, value] : value_->as_table()) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  for (const std::string& key : keys) RETURN_IF_ERROR(fn(Child(&value_->as_table().at(key), key)));
  return Status::Ok();
}

Status Field::ForEachTable(const std::function<Status(const Field&)>& fn) const {
  if (!value_->is_array()) return Bad("must be an array of tables ([[" + key_ + "]])");
  const auto& array = value_->as_array();
  for (size_t i = 0; i < array.size(); ++i) {
    Field element(&array[i], origin_, job_, path_ + " #" + std::to_string(i + 1), key_);
    RETURN_IF_ERROR(element.Table());
    RETURN_IF_ERROR(fn(element));
  }
  return Status::Ok();
}

Status Field::CheckString(const std::string& s, StringRule rule) const {
  switch (rule) {
    case kAny:
      return Status::Ok();
    case kNonEmpty:
      return s.empty() ? Bad("must not be empty") : Status::Ok();
    case kAbsolute:
      return s.empty() || s[0] != '/' ? Bad("'" + s + "' must be an absolute path") : Status::Ok();
    case kFileName:
      return s.empty() || s.find('/') != std::string::npos
                 ? Bad("'" + s + "' must be a file name without '/'")
                 : Status::Ok();
    case kRepo:
      return s.rfind("https://", 0) == 0 || (!s.empty() && s[0] == '/')
                 ? Status::Ok()
                 : Bad("'" + s + "' must be https://HOST:PORT/TENANT/REPO or an absolute path");
  }
  return Status::Ok();
}

Status Field::String(std::string* out, StringRule rule) const {
  if (!value_->is_string()) return Bad("must be a string");
  RETURN_IF_ERROR(CheckString(value_->as_string().str, rule));
  *out = value_->as_string().str;
  return Status::Ok();
}

Status Field::Strings(std::vector<std::string>* out, StringRule rule) const {
  if (!value_->is_array()) return Bad("must be an array of strings, e.g. [\"a\", \"b\"]");
  std::vector<std::string> values;
  for (const toml::value& v : value_->as_array()) {
    if (!v.is_string()) return Bad("must be an array of strings, e.g. [\"a\", \"b\"]");
    RETURN_IF_ERROR(CheckString(v.as_string().str, rule));
    values.push_back(v.as_string().str);
  }
  *out = std::move(values);
  return Status::Ok();
}

Status Field::Bool(bool* out) const {
  if (!value_->is_boolean()) return Bad("must be true or false");
  *out = value_->as_boolean();
  return Status::Ok();
}

Status Field::Int(int min, int max, int* out) const {
  if (!value_->is_integer() || value_->as_integer() < min || value_->as_integer() > max) {
    return Bad("must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
  }
  *out = static_cast<int>(value_->as_integer());
  return Status::Ok();
}

Status Field::Size(uint64_t* out) const {
  if (value_->is_integer() && value_->as_integer() >= 0) {
    *out = static_cast<uint64_t>(value_->as_integer());
    return Status::Ok();
  }
  Result<uint64_t> size =
      value_->is_string() ? ParseByteSize(value_->as_string().str) : Err(InvalidArgumentError(""));
  if (!size) {
    return Bad(
        "must be a size such as \"10MiB\" (units B, KiB, MiB, GiB, kB, MB, GB; "
        "0 = no limit)");
  }
  *out = *size;
  return Status::Ok();
}

std::string SyntaxErrorLine(const std::string& origin, const toml::syntax_error& e) {
  std::string what = e.what();
  what = what.substr(0, what.find('\n'));
  if (what.rfind("[error] ", 0) == 0) what = what.substr(8);
  const auto line = e.location().line();
  return origin + (line != 0 ? " line " + std::to_string(line) : std::string()) +
         ": not valid TOML: " + what;
}

}  // namespace config_internal

Result<LogLevel> ParseLogLevel(std::string_view text) {
  if (text == "debug") return LogLevel::kDebug;
  if (text == "info") return LogLevel::kInfo;
  if (text == "warning") return LogLevel::kWarning;
  if (text == "error") return LogLevel::kError;
  return Err(InvalidArgumentError(std::string("'").append(text) +
                                  "' is not a log level (debug, info, warning, error)"));
}

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

Result<int64_t> ParseHookTimeout(std::string_view text) {
  Result<std::chrono::seconds> d = ParseDuration(text);
  if (!d) return Err(d.error());
  if (d->count() <= 0 || d->count() > 7 * 86400) {
    return Err(InvalidArgumentError(std::string("'").append(text) +
                                    "' is not a hook timeout from 1s to 7d"));
  }
  return d->count();
}

}  // namespace coffre::daemon
