#include "agent/backup/exclude_rules.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "agent/util/fd.h"
#include "core/format/tree.h"

namespace coffre::backup {

namespace {

constexpr size_t kNone = std::string_view::npos;
constexpr std::string_view kCacheTagName = "CACHEDIR.TAG";
constexpr std::string_view kCacheTagSignature = "Signature: 8a477f597d28d172789f06886806bc55";

// One character of a bracket expression at pat[*q] ('\' escapes); advances.
unsigned char ClassChar(std::string_view pat, size_t* q) {
  if (pat[*q] == '\\' && *q + 1 < pat.size()) ++*q;
  return static_cast<unsigned char>(pat[(*q)++]);
}

// The bracket expression starting at pat[p] == '[': whether `c` is in it,
// and in *end the position just past its ']' (kNone if it is not closed).
bool MatchClass(std::string_view pat, size_t p, unsigned char c, size_t* end) {
  size_t q = p + 1;
  bool negate = false;
  if (q < pat.size() && (pat[q] == '!' || pat[q] == '^')) {
    negate = true;
    ++q;
  }
  bool hit = false;
  // A ']' right after the opening (or its negation) is a member, not the end.
  for (bool first = true; q < pat.size() && (first || pat[q] != ']'); first = false) {
    unsigned char lo = ClassChar(pat, &q);
    unsigned char hi = lo;
    if (q + 1 < pat.size() && pat[q] == '-' && pat[q + 1] != ']') {
      ++q;
      hi = ClassChar(pat, &q);
    }
    if (lo <= c && c <= hi) hit = true;
  }
  *end = q < pat.size() ? q + 1 : kNone;
  return hit != negate;
}

// One name against a validated glob of one component: the classic greedy
// match with a single backtrack point per '*', linear in practice.
bool GlobMatch(std::string_view pat, std::string_view s) {
  size_t p = 0, i = 0;
  size_t star_p = kNone, star_i = 0;
  while (i < s.size()) {
    if (p < pat.size()) {
      const char c = pat[p];
      if (c == '*') {
        star_p = ++p;
        star_i = i;
        continue;
      }
      size_t next = p + 1;
      bool ok;
      if (c == '?') {
        ok = true;
      } else if (c == '[') {
        ok = MatchClass(pat, p, static_cast<unsigned char>(s[i]), &next);
      } else if (c == '\\') {
        ok = pat[p + 1] == s[i];
        next = p + 2;
      } else {
        ok = c == s[i];
      }
      if (ok) {
        p = next;
        ++i;
        continue;
      }
    }
    if (star_p == kNone) return false;
    p = star_p;
    i = ++star_i;
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// True if `dirfd` holds a regular file CACHEDIR.TAG with the signature.
bool HasCacheTag(int dirfd) {
  // O_NONBLOCK: a FIFO of that name must not stall the backup.
  UniqueFd fd(openat(dirfd, std::string(kCacheTagName).c_str(),
                     O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  struct stat st {};
  if (!fd.valid() || fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  char head[kCacheTagSignature.size()];
  size_t got = 0;
  while (got < sizeof(head)) {
    ssize_t n = pread(fd.get(), head + got, sizeof(head) - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    got += static_cast<size_t>(n);
  }
  return std::string_view(head, sizeof(head)) == kCacheTagSignature;
}

}  // namespace

struct ExcludeFilter::Pattern {
  struct Part {
    enum class Kind { kLiteral, kGlob, kAnyDepth } kind;
    std::string text;  // unescaped for a literal
  };
  std::vector<Part> parts;
  bool anchored = false;
  bool negated = false;
  bool any_depth = false;  // holds a "**" part

  static bool MatchPart(const Part& part, std::string_view name) {
    switch (part.kind) {
      case Part::Kind::kLiteral:
        return part.text == name;
      case Part::Kind::kGlob:
        return GlobMatch(part.text, name);
      case Part::Kind::kAnyDepth:
        return true;
    }
    return false;
  }

  bool Match(std::span<const std::string_view> path) const {
    if (!any_depth) {  // a fixed number of components: compare the tail
      if (parts.size() > path.size() || (anchored && parts.size() != path.size())) return false;
      const size_t offset = path.size() - parts.size();
      for (size_t i = 0; i < parts.size(); ++i)
        if (!MatchPart(parts[i], path[offset + i])) return false;
      return true;
    }
    // "**" works like '*' one level up: over components instead of
    // characters. An unanchored pattern starts with an implicit "**".
    size_t p = 0, i = 0;
    size_t star_p = anchored ? kNone : 0, star_i = 0;
    while (i < path.size()) {
      if (p < parts.size() && parts[p].kind == Part::Kind::kAnyDepth) {
        star_p = ++p;
        star_i = i;
        continue;
      }
      if (p < parts.size() && MatchPart(parts[p], path[i])) {
        ++p;
        ++i;
        continue;
      }
      if (star_p == kNone) return false;
      p = star_p;
      i = ++star_i;
    }
    while (p < parts.size() && parts[p].kind == Part::Kind::kAnyDepth) ++p;
    return p == parts.size();
  }

  // kInvalidArgument for a malformed pattern.
  static Result<Pattern> Compile(const std::string& source) {
    auto bad = [&](const std::string& why) {
      return Err(InvalidArgumentError("exclude pattern '" + source + "': " + why));
    };
    Pattern out;
    std::string_view text = source;
    if (!text.empty() && text[0] == '!') {
      out.negated = true;
      text.remove_prefix(1);
    }
    out.anchored = !text.empty() && text[0] == '/';
    for (std::string_view part : SplitPath(text)) {
      if (part == ".") continue;
      if (part == "**") {
        out.parts.push_back({Part::Kind::kAnyDepth, ""});
        out.any_depth = true;
        continue;
      }
      bool glob = false;
      std::string literal;
      for (size_t p = 0; p < part.size(); ++p) {
        const char c = part[p];
        if (c == '\\') {
          if (p + 1 == part.size()) return bad("ends with '\\'");
          literal.push_back(part[++p]);
        } else if (c == '[') {
          size_t end;
          MatchClass(part, p, 0, &end);
          if (end == kNone) return bad("'[' without ']'");
          glob = true;
          p = end - 1;
        } else {
          glob |= c == '*' || c == '?';
          literal.push_back(c);
        }
      }
      if (glob)
        out.parts.push_back({Part::Kind::kGlob, std::string(part)});
      else
        out.parts.push_back({Part::Kind::kLiteral, std::move(literal)});
    }
    if (out.parts.empty()) return bad("names no file");
    return out;
  }
};

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == kNone) slash = path.size();
    if (slash > pos) out.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

Result<std::vector<std::string>> LoadExcludeFile(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Err(ErrnoStatus(errno, "exclude file " + path));
  std::string content;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Err(ErrnoStatus(errno, "exclude file " + path));
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
  }
  std::vector<std::string> patterns;
  size_t pos = 0;
  while (pos < content.size()) {
    size_t nl = content.find('\n', pos);
    if (nl == std::string::npos) nl = content.size();
    size_t begin = pos, end = nl;
    while (begin < end && IsBlank(content[begin])) ++begin;
    while (end > begin && IsBlank(content[end - 1])) --end;
    if (end > begin && content[begin] != '#')
      patterns.push_back(content.substr(begin, end - begin));
    pos = nl + 1;
  }
  return patterns;
}

ExcludeFilter::ExcludeFilter(ExcludeRules rules) : rules_(std::move(rules)) {}
ExcludeFilter::~ExcludeFilter() = default;

Result<std::shared_ptr<const ExcludeFilter>> ExcludeFilter::Compile(const ExcludeRules& rules) {
  std::shared_ptr<ExcludeFilter> filter(new ExcludeFilter(rules));
  for (const std::string& source : rules.patterns) {
    ASSIGN_OR_RETURN(Pattern pattern, Pattern::Compile(source));
    filter->any_negated_ |= pattern.negated;
    filter->patterns_.push_back(std::move(pattern));
  }
  for (const std::string& name : rules.if_present) {
    if (!format::IsSafeName(name))
      return Err(InvalidArgumentError("exclude-if-present '" + name + "' is not a file name"));
  }
  return std::shared_ptr<const ExcludeFilter>(std::move(filter));
}

bool ExcludeFilter::Excluded(std::span<const std::string_view> path) const {
  if (path.empty()) return false;
  if (!any_negated_) {
    return std::any_of(patterns_.begin(), patterns_.end(),
                       [&](const Pattern& p) { return p.Match(path); });
  }
  for (auto it = patterns_.rbegin(); it != patterns_.rend(); ++it)  // the last match decides
    if (it->Match(path)) return !it->negated;
  return false;
}

std::optional<std::string> ExcludeFilter::MarkerIn(int dirfd,
                                                   const std::vector<std::string>& names) const {
  for (const std::string& marker : rules_.if_present)
    if (std::binary_search(names.begin(), names.end(), marker)) return marker;
  if (rules_.caches && std::binary_search(names.begin(), names.end(), kCacheTagName) &&
      HasCacheTag(dirfd))
    return std::string(kCacheTagName);
  return std::nullopt;
}

}  // namespace coffre::backup
