// What `coffre-agent --check-config` proves of each job beyond its syntax:
// that the files it names can be read now (passphrase, token, CA
// certificate, exclude files, backup paths), and with --online that its
// repository opens with that passphrase. Also the one way a job's
// repository is opened, shared with the job runner.
// Thread-safety: free functions; each call opens its own repository.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "agent/daemon/agent_config.h"
#include "agent/daemon/unlocked_keys.h"
#include "agent/repo/repository.h"
#include "core/base/rate_limiter.h"
#include "core/storage/transfer_counter.h"

namespace coffre::daemon {

// One line per problem, each naming the file and why ("cannot read token
// file /etc/coffre/t: No such file or directory"); empty when all is well.
std::vector<Status> CheckJobFiles(const JobConfig& job);

// Opens the job's repository with its token, certificate and passphrase:
// kAuthFailed for a missing or wrong secret, kNotFound for no repository,
// kUnavailable for a vault that does not answer. `shared`, if set, paces
// uploads when the job has no limit of its own.
// `transfer`, if set, counts what crosses the network to a vault.
// `unlocked`, if set, keeps the keys between runs (the daemon: see
// unlocked_keys.h).
Result<std::unique_ptr<repo::Repository>> OpenJobRepository(
    const JobConfig& job, const AgentSettings& settings,
    std::shared_ptr<RateLimiter> shared = nullptr,
    std::shared_ptr<storage::TransferCounter> transfer = nullptr,
    UnlockedKeys* unlocked = nullptr);

}  // namespace coffre::daemon
