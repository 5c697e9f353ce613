// coffre snapshots: lists snapshots, oldest first (table or --json).
#include <cstdio>
#include <iostream>

#include "cli/context.h"
#include "cli/output/format.h"
#include "core/base/text_table.h"

namespace coffre::cli {

namespace {

Json SnapshotJson(const repo::SnapshotListing& l) {
  const format::Snapshot& s = l.snapshot;
  return Json{{"id", l.id.Hex()},
              {"short_id", l.id.Short()},
              {"time", Rfc3339(s.time_ns)},
              {"host", s.host},
              {"user", s.user},
              {"paths", s.paths},
              {"tags", s.tags},
              {"tree", s.root.Hex()},
              {"parent", s.parent ? Json(s.parent->Hex()) : Json(nullptr)},
              {"stats",
               {{"files", s.stats.files},
                {"dirs", s.stats.dirs},
                {"bytes", s.stats.bytes},
                {"new_bytes", s.stats.new_bytes},
                {"errors", s.stats.errors},
                {"duration_ms", s.stats.duration_ms}}}};
}

void RunSnapshots(Context& ctx) {
  auto repo = ctx.OpenRepository();
  if (!repo) return ctx.Fail(repo.error());
  std::vector<repo::DamagedSnapshot> damaged;
  auto all = (*repo)->ListSnapshots(&damaged);
  if (!all) return ctx.Fail(all.error());
  ctx.WarnDamaged(damaged);
  if (ctx.global.json) {
    Json out = Json::array();
    for (const auto& l : *all) out.push_back(SnapshotJson(l));
    std::cout << DumpJson(out) << std::endl;
    return;
  }
  TextTable table;
  table.AddRow({"ID", "TIME", "HOST", "TAGS", "SIZE", "PATHS"});
  for (const auto& l : *all) {
    auto join = [](const std::vector<std::string>& words, const char* sep) {
      std::string out;
      for (const auto& w : words) out += (out.empty() ? "" : sep) + w;
      return out;
    };
    table.AddRow({l.id.Short(), LocalTime(l.snapshot.time_ns), l.snapshot.host,
                  l.snapshot.tags.empty() ? "-" : join(l.snapshot.tags, ","),
                  HumanBytes(l.snapshot.stats.bytes), join(l.snapshot.paths, " ")});
  }
  std::cout << table.Render();
  std::printf("%zu snapshot(s)", all->size());
  if (!damaged.empty()) std::printf(", %zu damaged (not listed)", damaged.size());
  std::printf("\n");
}

}  // namespace

void AddSnapshotsCommand(CLI::App& app, Context& ctx) {
  CLI::App* cmd = app.add_subcommand("snapshots", "list snapshots");
  cmd->callback([&ctx] { RunSnapshots(ctx); });
}

}  // namespace coffre::cli
