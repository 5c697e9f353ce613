// `coffre-vault replicate` and `coffre-vault replication status`: the
// commands of replication between vaults (vault/replicate/,
// docs/sovereignty.md). Each returns the process's exit code (0, 1).
#pragma once

#include <string>

namespace coffre::vault::cli {

struct ReplicateArgs {
  std::string tenant;
  std::string to;          // https://HOST[:PORT]
  std::string token_file;  // an admin token of the tenant at the replica
  std::string cacert;
  std::string delete_delay = "7d";
  std::string limit_upload;  // "" : none
};

int Replicate(const std::string& data, const ReplicateArgs& args);
int ReplicationStatusCommand(const std::string& data, bool json);

}  // namespace coffre::vault::cli
