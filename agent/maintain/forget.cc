#include "agent/maintain/forget.h"

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

}  // namespace coffre::maintain
