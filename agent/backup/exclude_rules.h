// What a backup leaves out below its paths: glob patterns (--exclude,
// --exclude-file), directories holding a marker file (--exclude-if-present,
// --exclude-caches) and other filesystems (--one-file-system). ExcludeRules
// is what the user wrote; ExcludeFilter is its compiled form, consulted by
// the directory readers (DirListing) so an excluded entry is never stat'ed
// and an excluded directory is never descended into.
//
// Patterns (docs/cli.md has the user's version):
// - `*` any run of characters within one name, `?` one character, `[abc]`,
//   `[a-z]`, `[!a-z]` / `[^a-z]` one of (not of) a set, `\c` the character c;
//   `*` and `?` match a leading dot too. A component `**` matches any number
//   (zero included) of whole components. Matching is bytewise.
// - A pattern starting with "/" is matched against the whole absolute path of
//   an entry ("/home/*/.cache"); any other one against its last components
//   ("*.tmp" against the name, "cache/*.bin" against the last two).
// - An excluded directory is left out with everything below it.
// - "!pattern" re-includes what matches it; for each entry the last pattern
//   that matches decides. Nothing below an excluded directory is looked at,
//   so to keep /data/keep exclude "/data/*", not "/data", then "!/data/keep".
// - Trailing slashes and empty or "." components are ignored ("/tmp/" is
//   "/tmp"); there is no "directories only" form.
// The backup paths themselves are never excluded: rules apply to what is
// found inside them.
// Thread-safety: ExcludeRules is a plain value; an ExcludeFilter is immutable
// and may be shared by threads.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"

namespace coffre::backup {

struct ExcludeRules {
  // --exclude patterns, then the lines of each --exclude-file, in order.
  std::vector<std::string> patterns;
  // A directory holding an entry with one of these names is left out whole
  // (the marker too): --exclude-if-present .nobackup.
  std::vector<std::string> if_present;
  // A directory holding a regular file CACHEDIR.TAG that starts with the
  // signature of https://bford.info/cachedir/ is left out whole (tag too).
  bool caches = false;
  // Directories on another device than the one of the directory they were
  // found in are kept as empty directories (mount points), not descended.
  bool one_file_system = false;

  bool empty() const {
    return patterns.empty() && if_present.empty() && !caches && !one_file_system;
  }
  bool operator==(const ExcludeRules&) const = default;
};

// The patterns of an exclude file: one a line, surrounding blanks trimmed;
// blank lines and lines starting with '#' are skipped. An ErrnoStatus
// (kNotFound for a missing file) naming the file if it cannot be read.
Result<std::vector<std::string>> LoadExcludeFile(const std::string& path);

// "/a/b" -> {"a", "b"}; views into `path`, which must outlive them.
std::vector<std::string_view> SplitPath(std::string_view path);

class ExcludeFilter {
 public:
  // kInvalidArgument naming the pattern for an empty one, an unclosed '['
  // or a trailing '\', and for an if_present name that is not one path
  // component.
  static Result<std::shared_ptr<const ExcludeFilter>> Compile(const ExcludeRules& rules);
  ~ExcludeFilter();

  const ExcludeRules& rules() const { return rules_; }
  bool has_patterns() const { return !patterns_.empty(); }
  bool one_file_system() const { return rules_.one_file_system; }

  // True if the patterns exclude the entry whose absolute path has the
  // components `path` ({"home", "bob", ".cache"}); false for no component.
  bool Excluded(std::span<const std::string_view> path) const;
  bool Excluded(std::string_view path) const { return Excluded(SplitPath(path)); }

  // The marker that excludes the directory open as `dirfd` whose entry
  // names are `names` (sorted bytewise): an if_present name or
  // "CACHEDIR.TAG"; nullopt if it is kept. Reads the tag file's first bytes,
  // nothing else; a tag that cannot be read does not exclude.
  std::optional<std::string> MarkerIn(int dirfd, const std::vector<std::string>& names) const;

 private:
  struct Pattern;
  explicit ExcludeFilter(ExcludeRules rules);

  ExcludeRules rules_;
  std::vector<Pattern> patterns_;
  bool any_negated_ = false;
};

}  // namespace coffre::backup
