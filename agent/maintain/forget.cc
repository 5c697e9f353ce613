#include "agent/maintain/forget.h"

#include <charconv>
#include <set>

namespace coffre::maintain {

Result<ForgetReport> Forget(repo::Repository& repo, const ForgetOptions& options) {
  const bool by_name = !options.snapshots.empty();
  if (by_name == !options.policy.Empty())
    return Err(InvalidArgumentError(by_name ? "give snapshots or --keep-* rules, not both"
                                            : "give snapshots to forget or --keep-* rules"));
  ForgetReport report;
  ASSIGN_OR_RETURN(std::vector<repo::SnapshotListing> all, repo.ListSnapshots(&report.damaged));
  if (by_name) {
    std::set<ObjectId> chosen;
    for (const std::string& spec : options.snapshots) {
      if (spec == "latest") {
        if (all.empty()) return Err(NotFoundError("the repository has no readable snapshot"));
        chosen.insert(all.back().id);
        continue;
      }
      // By name, not by content: a damaged snapshot can be named too.
      ASSIGN_OR_RETURN(ObjectId id, repo.ResolveSnapshotId(spec));
      chosen.insert(id);
    }
    for (const auto& l : all) {
      const bool go = chosen.count(l.id) != 0;
      report.decisions.push_back({l.id.Hex(), !go, go ? std::vector<std::string>{}
                                                      : std::vector<std::string>{"not named"}});
    }
    for (const auto& d : report.damaged) {
      const bool go = chosen.count(d.id) != 0;
      report.decisions.push_back({d.id.Hex(), !go, go ? std::vector<std::string>{}
                                                      : std::vector<std::string>{"damaged, not named"}});
    }
  } else {
    std::vector<SnapshotFacts> facts;
    for (const auto& l : all) {
      if (!options.filter.Matches(l.snapshot)) continue;
      facts.push_back({l.id.Hex(), l.snapshot.time_ns, l.snapshot.host, l.snapshot.paths,
                       l.snapshot.tags});
    }
    ASSIGN_OR_RETURN(report.decisions, ApplyRetention(facts, options.policy, options.calendar));
    for (const auto& d : report.damaged)
      report.decisions.push_back({d.id.Hex(), true, {"damaged: forget it by id"}});
  }
  if (options.dry_run) return report;
  for (const RetentionDecision& d : report.decisions) {
    if (d.keep) continue;
    Status s = repo.backend().Remove({storage::ObjectKind::kSnapshot, d.id});
    // Already gone (another forget) is what was wanted.
    if (!s.ok() && s.code() != ErrorCode::kNotFound)
      return Err(s.WithContext("forget snapshot " + d.id.substr(0, 8)));
    ++report.removed;
  }
  return report;
}

Result<int64_t> ParseRetentionDuration(const std::string& text) {
  constexpr int64_t kHour = int64_t{3600} * 1'000'000'000;
  auto bad = [&] {
    std::string message = "'";
    message.append(text).append("' is not a duration (examples: 36h, 7d, 2w, 6m, 1y6m)");
    return Err(InvalidArgumentError(std::move(message)));
  };
  if (text.empty()) return bad();
  int64_t total = 0;
  const char* p = text.data();
  const char* end = text.data() + text.size();
  while (p < end) {
    int64_t n = 0;
    auto [next, ec] = std::from_chars(p, end, n);
    if (ec != std::errc() || next == end || n < 0 || n > 100000) return bad();
    int64_t unit = 0;
    switch (*next) {
      case 'h': unit = kHour; break;
      case 'd': unit = 24 * kHour; break;
      case 'w': unit = 7 * 24 * kHour; break;
      case 'm': unit = 30 * 24 * kHour; break;
      case 'y': unit = 365 * 24 * kHour; break;
      default: return bad();
    }
    total += n * unit;
    p = next + 1;
  }
  return total;
}

}  // namespace coffre::maintain
