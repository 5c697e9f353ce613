// coffre agent status: what the coffre-agent service did and will do, from
// its status file. Exit 0 if the agent runs, 1 if not (the last results are
// still shown), so monitoring can use the exit code alone.
#include <algorithm>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "agent/daemon/agent_status.h"
#include "agent/util/exit_codes.h"
#include "cli/context.h"
#include "cli/output/format.h"
#include "core/base/text_table.h"

namespace coffre::cli {

namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;

struct AgentStatusArgs {
  std::string state_dir = "/var/lib/coffre-agent";
};

std::vector<std::string> JobRow(const daemon::JobStatus& job, bool alive) {
  std::vector<std::string> row = {job.name, "-", "-", "-", "-", "-", "-"};
  if (const auto& r = job.last_run) {
    row[1] = LocalTime(r->started * kNsPerSecond);
    row[2] = r->outcome + (r->trigger == "manual" ? " (by hand)" : "");
    row[3] = HumanDuration(static_cast<uint64_t>(std::max<int64_t>(r->duration_ms, 0)));
    row[4] = HumanBytes(r->bytes);
    if (r->requests) row[5] = HumanBytes(r->sent_bytes) + " / " + HumanBytes(r->received_bytes);
  }
  // A job marked running in the file of a dead agent was cut short.
  if (job.running) row[2] = alive ? "running" : "interrupted";
  // A stopped agent runs nothing: its old plans would mislead.
  if (alive && job.next_run) row[6] = LocalTime(*job.next_run * kNsPerSecond);
  return row;
}

void RunAgentStatus(Context& ctx, const AgentStatusArgs& args) {
  auto status = daemon::ReadStatusFile(args.state_dir);
  if (!status) {
    if (status.error().code() == ErrorCode::kNotFound) {
      std::cerr << "coffre: error: agent not running: no status in " << args.state_dir
                << " (has coffre-agent run with this state dir?)" << std::endl;
      return ctx.SetExit(kExitFailure);
    }
    return ctx.Fail(status.error());
  }
  const bool alive = daemon::ProcessAlive(status->pid);
  if (!alive) ctx.SetExit(kExitFailure);

  if (ctx.global.json) {
    Json j = Json::parse(daemon::EncodeStatus(*status));
    j["agent_running"] = alive;
    std::cout << DumpJson(j) << std::endl;
    return;
  }
  if (alive) {
    std::cout << "agent running (pid " << status->pid << ", since "
              << LocalTime(status->started * kNsPerSecond) << ", config " << status->config
              << ")\n";
  } else if (status->pid == 0) {
    // Only `coffre-agent --run` wrote here: no service ever ran.
    std::cout << "agent not running (the coffre-agent service never ran with this state dir; "
                 "runs started by hand are below)\n";
  } else {
    std::cout << "agent not running (pid " << status->pid << " is gone; last update "
              << LocalTime(status->updated * kNsPerSecond) << ")\n";
  }
  if (status->jobs.empty()) {
    std::cout << "no jobs" << std::endl;
    return;
  }
  TextTable table;
  table.AddRow({"JOB", "LAST RUN", "RESULT", "DURATION", "BYTES", "SENT / RECEIVED", "NEXT RUN"});
  for (const daemon::JobStatus& job : status->jobs) table.AddRow(JobRow(job, alive));
  std::cout << table.Render();
  // The error of a failed last run is what an operator looks for first.
  for (const daemon::JobStatus& job : status->jobs) {
    if (job.last_run && !job.last_run->error.empty()) {
      std::cout << job.name << ": " << job.last_run->error << "\n";
    }
  }
  std::cout << std::flush;
}

}  // namespace

void AddAgentCommand(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<AgentStatusArgs>();
  CLI::App* agent = app.add_subcommand("agent", "the coffre-agent service");
  agent->require_subcommand(1);
  CLI::App* status = agent->add_subcommand(
      "status",
      "jobs of the coffre-agent service: last run, result, next run (exit 1 if the "
      "agent is not running)");
  status->add_option("--state-dir", args->state_dir,
                     "the agent's state folder (default /var/lib/coffre-agent)");
  status->callback([&ctx, args] { RunAgentStatus(ctx, *args); });
}

}  // namespace coffre::cli
