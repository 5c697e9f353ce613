#include "vault/api/request_parse.h"

#include <charconv>
#include <vector>

#include "core/storage/backend.h"
#include "vault/tenant/registry.h"

namespace coffre::vault {
namespace {

// Longest target any route can have: /v1/repos/ + 63 + / + 63 + / + 9 + / + 64.
constexpr size_t kMaxTarget = 256;

Status Bad(const std::string& why) { return InvalidArgumentError("bad request path: " + why); }

// The segments of `path` between its '/', after the leading one.
std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> segments;
  size_t start = 1;
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      segments.push_back(path.substr(start, i - start));
      start = i + 1;
    }
  }
  return segments;
}

// Largest limit a listing may ask for; the vault's max_list_page caps it.
constexpr uint64_t kMaxListLimit = 1'000'000;

// A listing's "limit=N&after=NAME", in either order, each at most once.
Status ParseListQuery(std::string_view query, RequestTarget* t) {
  bool seen_limit = false, seen_after = false;
  if (query.empty()) return Bad("an empty query string");
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (amp != std::string_view::npos && query.empty()) return Bad("a query ending with '&'");
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) return Bad("a query parameter without '='");
    const std::string_view key = pair.substr(0, eq), value = pair.substr(eq + 1);
    if (key == "limit" && !seen_limit) {
      seen_limit = true;
      uint64_t n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || n == 0 ||
          n > kMaxListLimit)
        return Bad("limit must be a number from 1 to " + std::to_string(kMaxListLimit));
      t->list_limit = n;
    } else if (key == "after" && !seen_after) {
      seen_after = true;
      if (!storage::ValidateObjectName(value).ok()) return Bad("after must be an object name");
      t->list_after = value;
    } else {
      return Bad("a listing takes only limit and after, each once");
    }
  }
  if (seen_after && !seen_limit) return Bad("after needs a limit");
  return Status::Ok();
}

}  // namespace

Result<RequestTarget> ParseRequestTarget(std::string_view raw) {
  if (raw.empty() || raw[0] != '/') return Err(Bad("it must start with '/'"));
  if (raw.size() > kMaxTarget) return Err(Bad("longer than " + std::to_string(kMaxTarget)));
  // Only a listing takes a query: its path ends with '/', and nothing
  // else may have one.
  std::string_view query;
  bool has_query = false;
  if (const size_t q = raw.find('?'); q != std::string_view::npos && q > 0 && raw[q - 1] == '/') {
    query = raw.substr(q + 1);
    raw = raw.substr(0, q);
    has_query = true;
    for (char c : query) {
      if (c == '?' || c == '#') return Err(Bad("a second '?' or a '#'"));
    }
  }
  for (char c : raw) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return Err(Bad("a byte outside printable ASCII"));
    if (c == '%') return Err(Bad("percent-encoding is never needed"));
    if (c == '?' || c == '#') return Err(Bad("no query string is served"));
    if (c == '\\') return Err(Bad("a backslash"));
  }
  if (raw == "/") return Err(NotFoundError("no such route"));
  const std::vector<std::string_view> seg = Split(raw);
  for (size_t i = 0; i < seg.size(); ++i) {
    // Only a listing ends with '/': its last segment is the empty one.
    const bool trailing = i + 1 == seg.size() && i > 0;
    if (seg[i].empty() && !trailing) return Err(Bad("an empty segment"));
    if (seg[i] == "." || seg[i] == "..") return Err(Bad("a dot segment"));
  }
  if (has_query && (seg.size() != 6 || !seg[5].empty()))
    return Err(Bad("no query string is served"));
  RequestTarget t;
  if (raw == "/v1/health") {
    t.route = RequestTarget::Route::kHealth;
    return t;
  }
  if (raw == "/metrics") {
    t.route = RequestTarget::Route::kMetrics;
    return t;
  }
  if (seg.size() < 3 || seg[0] != "v1" || seg[1] != "repos") {
    if (seg[0] == "v1" || seg[0] == "metrics") return Err(Bad("no such route"));
    return Err(NotFoundError("no such route"));
  }
  if (seg.size() < 4 || seg.size() > 6) return Err(Bad("not /v1/repos/TENANT/REPO[/KIND/[NAME]]"));
  constexpr char kNameRule[] = " name: 1 to 63 of [a-z0-9_-], first a letter or digit";
  if (!ValidateTenantName(seg[2]).ok()) return Err(Bad(std::string("tenant") + kNameRule));
  if (!ValidateRepoName(seg[3]).ok()) return Err(Bad(std::string("repository") + kNameRule));
  t.tenant = seg[2];
  t.repo = seg[3];
  if (seg.size() == 4) {
    t.route = RequestTarget::Route::kRepo;
    return t;
  }
  if (seg.size() == 5) return Err(Bad("a kind needs '/' after it (a listing) or a name"));
  auto kind = storage::ParseObjectKind(seg[4]);
  if (!kind) return Err(Bad("unknown kind"));
  t.kind = seg[4];
  if (seg[5].empty()) {
    t.route = RequestTarget::Route::kList;
    if (has_query) RETURN_IF_ERROR(ParseListQuery(query, &t));
    return t;
  }
  storage::ObjectName object{*kind, std::string(seg[5])};
  if (Status s = storage::ValidateObject(object); !s.ok()) return Err(Bad("object name"));
  // ValidateObject allows [0-9a-z]; a name that is a hash is lower-case hex.
  if (*kind != storage::ObjectKind::kConfig) {
    if (seg[5].size() != 64) return Err(Bad("an object name is 64 hex digits"));
    for (char c : seg[5]) {
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
        return Err(Bad("an object name is lower-case hex"));
    }
  }
  t.route = RequestTarget::Route::kObject;
  t.name = seg[5];
  return t;
}

std::optional<ByteRange> ParseRangeHeader(std::string_view header, uint64_t size) {
  constexpr std::string_view kPrefix = "bytes=";
  if (header.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::string_view spec = header.substr(kPrefix.size());
  const size_t dash = spec.find('-');
  if (dash == std::string_view::npos || dash == 0) return std::nullopt;
  // from_chars takes no sign and no space, so "bytes=+1-" and "bytes= 1-" fail.
  auto number = [](std::string_view digits, uint64_t* out) {
    if (digits.empty()) return false;
    auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), *out);
    return err == std::errc() && end == digits.data() + digits.size();
  };
  uint64_t first = 0;
  if (!number(spec.substr(0, dash), &first)) return std::nullopt;
  uint64_t last = size == 0 ? 0 : size - 1;
  const std::string_view tail = spec.substr(dash + 1);
  if (!tail.empty() && !number(tail, &last)) return std::nullopt;
  if (first >= size || last < first) return std::nullopt;
  const uint64_t end = std::min(last, size - 1);
  return ByteRange{first, end - first + 1};
}

}  // namespace coffre::vault
