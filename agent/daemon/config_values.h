// Internal to agent_config.cc: Field, one value of the TOML tree with the
// checks every table of the agent's configuration shares, each failing with
// the one-line error that names the file, line, job and key:
//   "agent.conf line 7: job 'server': hooks.timeout: '5x' is not a duration ..."
// Not a public interface: only agent_config.cc includes it (it exposes
// toml11, which throws).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <toml.hpp>
#include <vector>

#include "core/base/status.h"

namespace coffre::daemon::config_internal {

// What a string value must look like.
enum StringRule { kAny, kNonEmpty, kAbsolute, kFileName, kRepo };

class Field {
 public:
  static Field Root(const toml::value& root, const std::string& origin);

  const std::string& key() const { return key_; }

  // "ORIGIN line N: job 'NAME': PATH: what" (parts omitted when unknown).
  Status Bad(const std::string& what) const;
  Status Unknown() const { return Bad("unknown key"); }
  // kInvalidArgument unless this value is a table.
  Status Table() const;
  // This table, its errors naming job `label` ("'server'" or "#2").
  Field InJob(const std::string& label) const;
  bool Has(const std::string& key) const;

  // Calls `fn` on each key of this table, in sorted order so the first
  // error reported does not depend on hash order; stops at an error.
  Status ForEachKey(const std::function<Status(const Field&)>& fn) const;
  // Calls `fn` on each table of this array of tables ([[job]], [[job.dump]]).
  Status ForEachTable(const std::function<Status(const Field&)>& fn) const;

  Status String(std::string* out, StringRule rule) const;
  Status Path(std::string* out) const { return String(out, kAbsolute); }
  Status Strings(std::vector<std::string>* out, StringRule rule) const;
  Status Bool(bool* out) const;
  Status Int(int min, int max, int* out) const;
  // A byte size: an integer, or a string for ParseByteSize ("10MiB").
  Status Size(uint64_t* out) const;

  // A string run through `parse` (returning Result<T>), its error reported
  // under this key.
  template <typename T, typename ParseFn>
  Status Parsed(T* out, ParseFn parse) const {
    std::string text;
    RETURN_IF_ERROR(String(&text, kAny));
    auto parsed = parse(std::string_view(text));
    if (!parsed) return Bad(parsed.error().message());
    *out = std::move(*parsed);
    return Status::Ok();
  }

 private:
  Field(const toml::value* value, std::string origin, std::string job, std::string path,
        std::string key)
      : value_(value),
        origin_(std::move(origin)),
        job_(std::move(job)),
        path_(std::move(path)),
        key_(std::move(key)) {}
  Field Child(const toml::value* value, const std::string& key) const;
  Status CheckString(const std::string& s, StringRule rule) const;

  const toml::value* value_;
  std::string origin_;
  std::string job_;   // "" outside a job
  std::string path_;  // dotted key path within the job or the file
  std::string key_;
};

// toml11's syntax errors span several lines with a caret; the agent's
// errors are one line (logs, --check-config), so this keeps the first.
std::string SyntaxErrorLine(const std::string& origin, const toml::syntax_error& e);

}  // namespace coffre::daemon::config_internal
